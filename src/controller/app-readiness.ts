/**
 * Whether an App is Ready for the Apps that depend on it, judged from the live Swarm so that
 * every replica gives the same answer whichever of them leads the dependency: a revision loaded
 * and none waiting, and every service it declares written with that revision's spec (its spec
 * hash label), its update settled (not updating, paused or rolled back) and all its desired
 * tasks running. Swarm reports a task with a health check as running only once the check
 * passed, so health is included. Pure: the caller passes the live services.
 */
import { labelSpecHash } from '../api/labels.js';
import type { DesiredState } from '../model/desired-state.js';
import { refId } from '../api/object-ref.js';
import type { SwarmService } from '../api/swarm-types.js';
import { specHash } from '../plan/swarm-spec.js';

export interface DependencyView {
  name: string;
  /** The revision it applies, with its desired state; undefined before its first valid revision. */
  desired: { revision: string; desired: DesiredState } | undefined;
  /** A newer revision it holds back (its own sync window or dependency). */
  pendingRevision: string | undefined;
  suspended: boolean;
}

export interface Readiness {
  ready: boolean;
  /** Why not, in words for a status line ("App db: Service/db/postgres 0/1 task(s) running"). */
  reason: string;
}

export function dependencyReadiness(dep: DependencyView, services: readonly SwarmService[]): Readiness {
  const not = (why: string): Readiness => ({ ready: false, reason: `App "${dep.name}" ${why}` });
  if (!dep.desired) return not('has no valid revision yet');
  if (dep.pendingRevision) return not(`has revision ${dep.pendingRevision.slice(0, 12)} waiting to be applied`);
  const byName = new Map(services.map((s) => [s.Spec.Name, s]));
  for (const d of dep.desired.desired.services) {
    const svc = byName.get(d.swarmName);
    const id = refId(d.ref);
    if (!svc) return not(`is not Ready: ${id} does not exist yet`);
    if (svc.Spec.Labels?.[labelSpecHash] !== specHash('Service', d.swarmName, d.model))
      return not(`is not Ready: ${id} is not at revision ${dep.desired.revision.slice(0, 12)} yet`);
    const update = svc.UpdateStatus?.State ?? '';
    if (update === 'updating' || update === 'paused' || update.startsWith('rollback'))
      return not(`is not Ready: ${id} update ${update}`);
    const running = svc.ServiceStatus?.RunningTasks ?? 0;
    const wanted = svc.ServiceStatus?.DesiredTasks ?? 0;
    if (!svc.ServiceStatus || running < wanted)
      return not(`is not Ready: ${id} ${running}/${wanted} task(s) running and healthy`);
  }
  return { ready: true, reason: `App "${dep.name}" is Ready at ${dep.desired.revision.slice(0, 12)}` };
}
