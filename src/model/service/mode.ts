/**
 * How many tasks run: replicated with a replica count, global (one per eligible node), or a
 * job that runs tasks to completion: replicated-job (`completions` in all, `concurrency` at a
 * time) or global-job (once per eligible node). Changing replicas scales without restarting
 * tasks; changing the mode needs a new service. A job runs again on every update of any kind
 * (measured: even an unchanged spec starts a new job iteration), and Swarm refuses an
 * UpdateConfig for a job, so none is written for one.
 */
import type { ServiceFieldGroup } from './group.js';

export type ServiceMode = 'replicated' | 'global' | 'replicated-job' | 'global-job';

export interface ModeFields {
  mode: ServiceMode;
  /** Replicated services only. */
  replicas: number | null;
  /** Replicated jobs only: TotalCompletions and MaxConcurrent. */
  completions: number | null;
  concurrency: number | null;
}

export const isJob = (mode: ServiceMode) => mode === 'replicated-job' || mode === 'global-job';

export const modeFields: ServiceFieldGroup<ModeFields> = {
  swarmPaths: ['Mode.Replicated', 'Mode.Global', 'Mode.ReplicatedJob', 'Mode.GlobalJob'],
  specPaths: { mode: ['Mode'], replicas: ['Mode'], completions: ['Mode'], concurrency: ['Mode'] },
  effects: { mode: 'replace', replicas: 'scale', completions: 'restart', concurrency: 'restart' },
  laterDefaults: { completions: null, concurrency: null },
  fromManifest: ({ spec: s }) => {
    const mode = s.mode ?? 'replicated';
    return {
      mode,
      replicas: mode === 'replicated' ? (s.replicas ?? 1) : null,
      completions: mode === 'replicated-job' ? (s.completions ?? 1) : null,
      concurrency: mode === 'replicated-job' ? (s.concurrency ?? 1) : null,
    };
  },
  fromLive: (spec) => {
    const m = spec.Mode ?? {};
    const mode: ServiceMode = m.ReplicatedJob
      ? 'replicated-job'
      : m.GlobalJob
        ? 'global-job'
        : m.Global && !m.Replicated
          ? 'global'
          : 'replicated';
    return {
      mode,
      replicas: mode === 'replicated' ? (m.Replicated?.Replicas ?? 1) : null,
      // Swarm fills in 1 for both when a job is created without them.
      completions: mode === 'replicated-job' ? (m.ReplicatedJob?.TotalCompletions ?? 1) : null,
      concurrency: mode === 'replicated-job' ? (m.ReplicatedJob?.MaxConcurrent ?? 1) : null,
    };
  },
  toSpec: (m, draft) => {
    draft.Mode =
      m.mode === 'global'
        ? { Global: {} }
        : m.mode === 'global-job'
          ? { GlobalJob: {} }
          : m.mode === 'replicated-job'
            ? { ReplicatedJob: { MaxConcurrent: m.concurrency ?? 1, TotalCompletions: m.completions ?? 1 } }
            : { Replicated: { Replicas: m.replicas ?? 1 } };
    // "Jobs may not have an update config" (engine 20.10 and later); runs after policies.ts.
    if (isJob(m.mode)) delete draft.UpdateConfig;
  },
};
