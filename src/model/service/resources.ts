/**
 * CPU and memory limits and reservations of each task (TaskTemplate.Resources), in one
 * spelling: CPUs as "0.5", memory as "256Mi". A change restarts the tasks.
 */
import type { SwarmResources } from '../../api/swarm-types.js';
import { formatCpus, formatMemory, parseCpus, parseMemory } from '../../units.js';
import type { ServiceFieldGroup } from './group.js';

export interface QuantitiesModel {
  cpus: string | null;
  memory: string | null;
}

export interface ResourceFields {
  resources: { limits: QuantitiesModel; reservations: QuantitiesModel };
}

function fromManifest(q: { cpus?: string | number; memory?: string | number } | undefined): QuantitiesModel {
  const cpus = q?.cpus === undefined ? undefined : parseCpus(q.cpus);
  const memory = q?.memory === undefined ? undefined : parseMemory(q.memory);
  return { cpus: cpus ? formatCpus(cpus) : null, memory: memory ? formatMemory(memory) : null };
}

function fromLive(r: SwarmResources | undefined): QuantitiesModel {
  return {
    cpus: r?.NanoCPUs ? formatCpus(r.NanoCPUs) : null,
    memory: r?.MemoryBytes ? formatMemory(r.MemoryBytes) : null,
  };
}

function toSpec(q: QuantitiesModel): SwarmResources {
  return {
    ...(q.cpus ? { NanoCPUs: parseCpus(q.cpus) } : {}),
    ...(q.memory ? { MemoryBytes: parseMemory(q.memory) } : {}),
  };
}

export const resourceFields: ServiceFieldGroup<ResourceFields> = {
  swarmPaths: [
    'TaskTemplate.Resources.Limits.NanoCPUs',
    'TaskTemplate.Resources.Limits.MemoryBytes',
    'TaskTemplate.Resources.Reservations.NanoCPUs',
    'TaskTemplate.Resources.Reservations.MemoryBytes',
  ],
  effects: { resources: 'restart' },
  fromManifest: ({ spec: s }) => ({
    resources: { limits: fromManifest(s.resources?.limits), reservations: fromManifest(s.resources?.reservations) },
  }),
  fromLive: (spec) => {
    const r = spec.TaskTemplate?.Resources;
    return { resources: { limits: fromLive(r?.Limits), reservations: fromLive(r?.Reservations) } };
  },
  toSpec: ({ resources: r }, draft) => {
    draft.TaskTemplate.Resources = { Limits: toSpec(r.limits), Reservations: toSpec(r.reservations) };
  },
};
