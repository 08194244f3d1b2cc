/**
 * The networks the tasks are attached to, with their DNS aliases (TaskTemplate.Networks; the
 * deprecated Spec.Networks is read but never written). Swarm stores network IDs; the model
 * holds Swarm network names, sorted. Any change restarts the tasks.
 */
import type { ServiceFieldGroup } from './group.js';

export interface NetworkFields {
  /** Swarm network names, sorted. */
  networks: { name: string; aliases: string[] }[];
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

export const networkFields: ServiceFieldGroup<NetworkFields> = {
  swarmPaths: ['TaskTemplate.Networks', 'Networks'],
  specPaths: { networks: ['TaskTemplate.Networks'] },
  effects: { networks: 'restart' },
  fromManifest: ({ spec: s }, refs) => ({
    networks: (s.networks ?? [])
      .map((n) =>
        typeof n === 'string'
          ? { name: refs.network(n), aliases: [] }
          : { name: refs.network(n.name), aliases: [...(n.aliases ?? [])].sort() },
      )
      .sort(byName),
  }),
  fromLive: (spec, refs) => ({
    networks: (spec.TaskTemplate?.Networks ?? spec.Networks ?? [])
      .map((n) => ({
        name: refs.networkNames.get(n.Target ?? '') ?? n.Target ?? '',
        aliases: [...(n.Aliases ?? [])].sort(),
      }))
      .sort(byName),
  }),
  toSpec: (m, draft, refs) => {
    draft.TaskTemplate.Networks = m.networks.map((n) => ({
      Target: refs.networkIds.get(n.name) ?? n.name,
      ...(n.aliases.length ? { Aliases: n.aliases } : {}),
    }));
  },
};
