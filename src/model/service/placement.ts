/**
 * Where tasks may run: constraints, spread preferences and the most tasks per node
 * (TaskTemplate.Placement). Constraints are compared in one spelling ("a==b" is "a == b")
 * and as a set. A change is planned as restarting tasks: Swarm moves the tasks whose node
 * no longer fits (it keeps those whose node still does, decision 12).
 */
import type { ServiceFieldGroup } from './group.js';

export interface PlacementFields {
  placement: { constraints: string[]; preferences: string[]; maxReplicasPerNode: number };
}

/** "node.role==manager" and "node.role == manager" mean the same; Swarm keeps the text as given. */
export function canonicalConstraint(c: string): string {
  const m = /^\s*(.+?)\s*(==|!=)\s*(.+?)\s*$/.exec(c);
  return m ? `${m[1]} ${m[2]} ${m[3]}` : c.trim();
}

export const placementFields: ServiceFieldGroup<PlacementFields> = {
  swarmPaths: [
    'TaskTemplate.Placement.Constraints',
    'TaskTemplate.Placement.Preferences',
    'TaskTemplate.Placement.MaxReplicas',
  ],
  specPaths: { placement: ['TaskTemplate.Placement'] },
  effects: { placement: 'restart' },
  fromManifest: ({ spec: s }) => ({
    placement: {
      constraints: [...(s.placement?.constraints ?? [])].map(canonicalConstraint).sort(),
      preferences: (s.placement?.preferences ?? []).map((p) => p.spread),
      maxReplicasPerNode: s.placement?.maxReplicasPerNode ?? 0,
    },
  }),
  fromLive: (spec) => {
    const p = spec.TaskTemplate?.Placement;
    return {
      placement: {
        constraints: (p?.Constraints ?? []).map(canonicalConstraint).sort(),
        preferences: (p?.Preferences ?? []).map((x) => x.Spread?.SpreadDescriptor ?? ''),
        maxReplicasPerNode: p?.MaxReplicas ?? 0,
      },
    };
  },
  toSpec: ({ placement: p }, draft) => {
    draft.TaskTemplate.Placement = {
      ...(p.constraints.length ? { Constraints: p.constraints } : {}),
      ...(p.preferences.length ? { Preferences: p.preferences.map((x) => ({ Spread: { SpreadDescriptor: x } })) } : {}),
      ...(p.maxReplicasPerNode ? { MaxReplicas: p.maxReplicasPerNode } : {}),
    };
  },
};
