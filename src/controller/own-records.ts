/**
 * Which Swarm events are about the controller's own bookkeeping records, not about anything it
 * reconciles: the status documents the leader writes (`swarm-controller-status.<set>.<seq>`,
 * `swarm-controller-status.app.<app>.<seq>`, `swarm-controller-routes.<proxy>.<seq>`, a new
 * config every few seconds while something changes, and the removal of the old ones) and the
 * leases every replica renews (`swarm-controller-lease.<set>`, a label update every third of
 * the lease). They come back through the event stream like any config event; the manager drops
 * them so they start no reconcile, no full read of the route tier and no cache refill. The
 * suspend record (`swarm-controller-state.<set>`) is not one of them: a person changes it.
 * Pure.
 */
import type { SwarmEvent } from '../api/swarm-types.js';
import { statusConfigName } from '../status/format.js';

/**
 * Name prefixes of the records: the status ones derived from the function that names them; the
 * lease's is apply-set-loop.ts's `leaseName` (not imported: the manager stays below the loops;
 * a unit test keeps them in step).
 */
export const ownRecordPrefixes: readonly string[] = [
  statusConfigName({ kind: 'ApplySet', name: '' }, 0).replace(/\.0$/, ''), // swarm-controller-status.
  statusConfigName({ kind: 'Routes', name: '' }, 0).replace(/\.0$/, ''), // swarm-controller-routes.
  'swarm-controller-lease.',
];

export function isOwnRecordEvent(e: SwarmEvent): boolean {
  if (e.Type !== 'config') return false;
  const name = e.Actor?.Attributes?.name;
  return !!name && ownRecordPrefixes.some((p) => name.startsWith(p));
}
