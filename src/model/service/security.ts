/**
 * What the container may do: Linux capabilities added and dropped, a read-only root
 * filesystem, namespaced sysctls, ulimits and the OOM score adjustment (ContainerSpec).
 * Capabilities are compared as docker/cli spells them: upper case, with the CAP_ prefix
 * ("ALL" alone), sorted, and a capability both added and dropped is only added. Any change
 * restarts the tasks.
 */
import { sortedRecord } from '../canonical.js';
import type { ServiceFieldGroup } from './group.js';

export interface UlimitModel {
  soft: number;
  hard: number;
}

export interface SecurityFields {
  capAdd: string[];
  capDrop: string[];
  readOnly: boolean;
  sysctls: Record<string, string>;
  /** By name, sorted. */
  ulimits: Record<string, UlimitModel>;
  oomScoreAdj: number;
}

/** "net_admin" -> "CAP_NET_ADMIN"; "all" -> "ALL". */
export function canonicalCapability(c: string): string {
  const upper = c.trim().toUpperCase();
  return upper === 'ALL' || upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/** docker/cli's rule: normalised, deduplicated, sorted; ALL alone; what is added is not dropped. */
export function effectiveCapabilities(add: string[], drop: string[]): { capAdd: string[]; capDrop: string[] } {
  const norm = (xs: string[]) => {
    const set = new Set(xs.map(canonicalCapability));
    return set.has('ALL') ? new Set(['ALL']) : set;
  };
  const a = norm(add);
  const d = norm(drop);
  return { capAdd: [...a].sort(), capDrop: [...d].filter((c) => !a.has(c)).sort() };
}

function sortedUlimits(entries: [string, UlimitModel][]): Record<string, UlimitModel> {
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}

export const securityFields: ServiceFieldGroup<SecurityFields> = {
  swarmPaths: [
    'TaskTemplate.ContainerSpec.CapabilityAdd',
    'TaskTemplate.ContainerSpec.CapabilityDrop',
    'TaskTemplate.ContainerSpec.ReadOnly',
    'TaskTemplate.ContainerSpec.Sysctls',
    'TaskTemplate.ContainerSpec.Ulimits',
    'TaskTemplate.ContainerSpec.OomScoreAdj',
  ],
  specPaths: {
    capAdd: ['TaskTemplate.ContainerSpec.CapabilityAdd', 'TaskTemplate.ContainerSpec.CapabilityDrop'],
    capDrop: ['TaskTemplate.ContainerSpec.CapabilityAdd', 'TaskTemplate.ContainerSpec.CapabilityDrop'],
    readOnly: ['TaskTemplate.ContainerSpec.ReadOnly'],
    sysctls: ['TaskTemplate.ContainerSpec.Sysctls'],
    ulimits: ['TaskTemplate.ContainerSpec.Ulimits'],
    oomScoreAdj: ['TaskTemplate.ContainerSpec.OomScoreAdj'],
  },
  effects: {
    capAdd: 'restart',
    capDrop: 'restart',
    readOnly: 'restart',
    sysctls: 'restart',
    ulimits: 'restart',
    oomScoreAdj: 'restart',
  },
  laterDefaults: { capAdd: [], capDrop: [], readOnly: false, sysctls: {}, ulimits: {}, oomScoreAdj: 0 },
  needsApi: (m) => (m.oomScoreAdj ? [{ field: 'spec.oomScoreAdj', api: '1.46', engine: '27' }] : []),
  fromManifest: ({ spec: s }) => ({
    ...effectiveCapabilities(s.capAdd ?? [], s.capDrop ?? []),
    readOnly: s.readOnly ?? false,
    sysctls: sortedRecord(s.sysctls),
    ulimits: sortedUlimits(
      Object.entries(s.ulimits ?? {}).map(([name, u]): [string, UlimitModel] => [
        name,
        typeof u === 'number' ? { soft: u, hard: u } : { soft: u!.soft, hard: u!.hard },
      ]),
    ),
    oomScoreAdj: s.oomScoreAdj ?? 0,
  }),
  fromLive: (spec) => {
    const c = spec.TaskTemplate?.ContainerSpec ?? {};
    return {
      ...effectiveCapabilities(c.CapabilityAdd ?? [], c.CapabilityDrop ?? []),
      readOnly: c.ReadOnly ?? false,
      sysctls: sortedRecord(c.Sysctls),
      ulimits: sortedUlimits((c.Ulimits ?? []).map((u) => [u.Name ?? '', { soft: u.Soft ?? 0, hard: u.Hard ?? 0 }])),
      oomScoreAdj: c.OomScoreAdj ?? 0,
    };
  },
  toSpec: (m, draft) => {
    Object.assign(draft.TaskTemplate.ContainerSpec, {
      ...(m.capAdd.length ? { CapabilityAdd: m.capAdd } : {}),
      ...(m.capDrop.length ? { CapabilityDrop: m.capDrop } : {}),
      ...(m.readOnly ? { ReadOnly: true } : {}),
      ...(Object.keys(m.sysctls).length ? { Sysctls: m.sysctls } : {}),
      ...(Object.keys(m.ulimits).length
        ? { Ulimits: Object.entries(m.ulimits).map(([Name, u]) => ({ Name, Soft: u.soft, Hard: u.hard })) }
        : {}),
      ...(m.oomScoreAdj ? { OomScoreAdj: m.oomScoreAdj } : {}),
    });
  },
};
