/**
 * The one shape of the planners (network-plan.ts, service-plan.ts, data-plan.ts for configs and
 * secrets, route-plan.ts): each compares one kind's desired objects with the live ones and
 * returns a KindPlan: the changes to make, the deletions of owned objects the manifests no
 * longer declare (with --prune; a note without), its own blockers and notes, and how many
 * objects are up to date. What holds across kinds (subnets, mounts, objects in use, prune
 * limits) is constraints.ts. Also the pieces every planner shares: a change's identity and the
 * ownership rule. Pure.
 */
import { ownershipOf } from '../api/labels.js';
import { refId, type Kind, type ObjectRef } from '../api/object-ref.js';
import type { Blocker, Change, Note } from './plan.js';

export interface KindPlan {
  /** Creates, updates, scales and replacements. */
  changes: Change[];
  /** Deletions of owned objects no longer declared (only with prune). */
  deletions: Change[];
  blockers: Blocker[];
  notes: Note[];
  unchanged: number;
}

export function emptyKindPlan(): KindPlan {
  return { changes: [], deletions: [], blockers: [], notes: [], unchanged: 0 };
}

/** What every planner is told. */
export interface PlannerOptions {
  applySet: string;
  prune: boolean;
  allowReplace: boolean;
  adopt: boolean;
}

/** A change's identity: id, kind, namespace, name and Swarm name. */
export function changeBase<K extends Kind>(
  ref: ObjectRef & { kind: K },
  swarmName: string,
): Pick<Change, 'id' | 'namespace' | 'name' | 'swarmName'> & { kind: K } {
  return {
    id: refId(ref),
    kind: ref.kind,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    name: ref.name,
    swarmName,
  };
}

/** The manifest reference of a live object, from its labels (or its Swarm name). */
export function refFromLive<K extends Kind>(
  kind: K,
  labels: Record<string, string> | null | undefined,
  swarmName: string,
): ObjectRef & { kind: K } {
  const ns = labels?.['com.docker.stack.namespace'];
  const name =
    labels?.['swarm.controller/name'] ??
    (ns && swarmName.startsWith(ns + '_') ? swarmName.slice(ns.length + 1) : swarmName);
  return { kind, name, ...(ns ? { namespace: ns } : {}) };
}

/**
 * Whether a live object the manifests declare may be changed: ours ('ok'), unmanaged and taken
 * over with --adopt ('adopt'), or not ('blocked', with the blocker pushed: another apply set's,
 * SC4001; unmanaged without --adopt, SC4002).
 */
export function checkOwnership(
  options: Pick<PlannerOptions, 'applySet' | 'adopt'>,
  blockers: Blocker[],
  id: string,
  labels: Record<string, string> | null | undefined,
  what: string,
): 'ok' | 'adopt' | 'blocked' {
  const o = ownershipOf(labels);
  if (o.state === 'owned') {
    if (o.applySet === options.applySet) return 'ok';
    blockers.push({
      id,
      code: 'SC4001',
      message: `${what} belongs to apply set "${o.applySet}", not "${options.applySet}"`,
      fix: `manage it from apply set "${o.applySet}", or remove it from these manifests`,
    });
    return 'blocked';
  }
  if (options.adopt) return 'adopt';
  blockers.push({
    id,
    code: 'SC4002',
    message: `${what} exists in the Swarm but was not created by swarm-controller`,
    fix: 'rerun with --adopt to take it over (its spec will be replaced by the manifest), or rename the manifest',
  });
  return 'blocked';
}

/** Whether `labels` say the object belongs to this apply set (a candidate for pruning when undeclared). */
export function ownedBy(applySet: string, labels: Record<string, string> | null | undefined): boolean {
  const o = ownershipOf(labels);
  return o.state === 'owned' && o.applySet === applySet;
}
