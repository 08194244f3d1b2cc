/**
 * How many tasks run: replicated with a replica count, or global (one per eligible node).
 * Changing the count scales without restarting tasks; changing the mode needs a new service.
 */
import type { ServiceFieldGroup } from './group.js';

export interface ModeFields {
  mode: 'replicated' | 'global';
  replicas: number | null;
}

export const modeFields: ServiceFieldGroup<ModeFields> = {
  swarmPaths: ['Mode.Replicated', 'Mode.Global'],
  effects: { mode: 'replace', replicas: 'scale' },
  fromManifest: ({ spec: s }) => {
    const global = s.mode === 'global';
    return { mode: global ? 'global' : 'replicated', replicas: global ? null : (s.replicas ?? 1) };
  },
  fromLive: (spec) => {
    const replicated = spec.Mode?.Replicated !== undefined || spec.Mode?.Global === undefined;
    return {
      mode: replicated ? 'replicated' : 'global',
      replicas: replicated ? (spec.Mode?.Replicated?.Replicas ?? 1) : null,
    };
  },
  toSpec: (m, draft) => {
    draft.Mode = m.mode === 'global' ? { Global: {} } : { Replicated: { Replicas: m.replicas ?? 1 } };
  },
};
