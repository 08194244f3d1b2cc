/**
 * What each task may use and what a node must have free to run it (TaskTemplate.Resources):
 * CPU and memory limits and reservations in one spelling (CPUs "0.5", memory "256Mi"), the
 * pids limit, and generic resources (a count or a named resource of a kind the nodes
 * advertise, sorted). A change restarts the tasks.
 */
import type { SwarmResources } from '../../api/swarm-types.js';
import type { ResourceLimits, ResourceReservations } from '../../api/schemas.js';
import { formatCpus, formatMemory, parseCpus, parseMemory } from '../../units.js';
import type { ServiceFieldGroup } from './group.js';

export interface QuantitiesModel {
  cpus: string | null;
  memory: string | null;
}

/** A count (discrete) or a named resource of a kind. */
export interface GenericResourceModel {
  kind: string;
  value: number | string;
}

export interface ResourceFields {
  resources: {
    limits: QuantitiesModel & { pids: number };
    reservations: QuantitiesModel & { genericResources: GenericResourceModel[] };
  };
}

function quantities(q: ResourceLimits | ResourceReservations | undefined): QuantitiesModel {
  const cpus = q?.cpus === undefined ? undefined : parseCpus(q.cpus);
  const memory = q?.memory === undefined ? undefined : parseMemory(q.memory);
  return { cpus: cpus ? formatCpus(cpus) : null, memory: memory ? formatMemory(memory) : null };
}

function liveQuantities(r: SwarmResources | undefined): QuantitiesModel {
  return {
    cpus: r?.NanoCPUs ? formatCpus(r.NanoCPUs) : null,
    memory: r?.MemoryBytes ? formatMemory(r.MemoryBytes) : null,
  };
}

function specQuantities(q: QuantitiesModel): SwarmResources {
  return {
    ...(q.cpus ? { NanoCPUs: parseCpus(q.cpus) } : {}),
    ...(q.memory ? { MemoryBytes: parseMemory(q.memory) } : {}),
  };
}

const byKindValue = (a: GenericResourceModel, b: GenericResourceModel) =>
  a.kind.localeCompare(b.kind) || String(a.value).localeCompare(String(b.value));

export const resourceFields: ServiceFieldGroup<ResourceFields> = {
  swarmPaths: [
    'TaskTemplate.Resources.Limits.NanoCPUs',
    'TaskTemplate.Resources.Limits.MemoryBytes',
    'TaskTemplate.Resources.Limits.Pids',
    'TaskTemplate.Resources.Reservations.NanoCPUs',
    'TaskTemplate.Resources.Reservations.MemoryBytes',
    'TaskTemplate.Resources.Reservations.GenericResources',
  ],
  specPaths: { resources: ['TaskTemplate.Resources'] },
  effects: { resources: 'restart' },
  laterDefaults: { 'resources.limits.pids': 0, 'resources.reservations.genericResources': [] },
  fromManifest: ({ spec: s }) => ({
    resources: {
      limits: { ...quantities(s.resources?.limits), pids: s.resources?.limits?.pids ?? 0 },
      reservations: {
        ...quantities(s.resources?.reservations),
        genericResources: (s.resources?.reservations?.genericResources ?? [])
          .map((g) => ({ kind: g.kind, value: g.value }))
          .sort(byKindValue),
      },
    },
  }),
  fromLive: (spec) => {
    const r = spec.TaskTemplate?.Resources;
    const generic = r?.Reservations?.GenericResources ?? [];
    return {
      resources: {
        limits: { ...liveQuantities(r?.Limits), pids: r?.Limits?.Pids ?? 0 },
        reservations: {
          ...liveQuantities(r?.Reservations),
          genericResources: generic
            .map((g): GenericResourceModel =>
              g.NamedResourceSpec
                ? { kind: g.NamedResourceSpec.Kind ?? '', value: g.NamedResourceSpec.Value ?? '' }
                : { kind: g.DiscreteResourceSpec?.Kind ?? '', value: g.DiscreteResourceSpec?.Value ?? 0 },
            )
            .sort(byKindValue),
        },
      },
    };
  },
  toSpec: ({ resources: r }, draft) => {
    const generic = r.reservations.genericResources;
    draft.TaskTemplate.Resources = {
      Limits: { ...specQuantities(r.limits), ...(r.limits.pids ? { Pids: r.limits.pids } : {}) },
      Reservations: {
        ...specQuantities(r.reservations),
        ...(generic.length
          ? {
              GenericResources: generic.map((g) =>
                typeof g.value === 'number'
                  ? { DiscreteResourceSpec: { Kind: g.kind, Value: g.value } }
                  : { NamedResourceSpec: { Kind: g.kind, Value: g.value } },
              ),
            }
          : {}),
      },
    };
  },
};
