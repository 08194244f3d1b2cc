/**
 * Which tasks serve a route, between "running" and gone. A task told to stop (desired state
 * `shutdown` or `remove`: a rolling update replaced it, a scale-down picked it) keeps running
 * while its container stops: it has its SIGTERM and drains for up to the service's stop grace
 * period. While its service has no task running and meant to run, it stays a server until the
 * engine reports its container stopped, so that a backend never loses its old task before it
 * holds the new one (a start-first update tells the old task to stop the moment the new one
 * runs, which this replica may see before it sees the new one running). It is only a fallback:
 * a service with a task running serves from those alone, since an app that closes its listener
 * at SIGTERM would refuse the requests its stopping task took.
 *
 * A task that still says running after its service's stop grace period (plus a margin for the
 * report) is on a node that no longer reports: it leaves then. The time counts on this
 * replica's clock from the first round that saw the task stopping, never from the engine's
 * timestamps. Pure, with the first-seen times kept by the caller (`StoppingClock`).
 */
import type { SwarmService, SwarmTask } from '../api/swarm-types.js';

/** Swarm's default stop grace period (docker service create --stop-grace-period). */
export const defaultStopGraceMs = 10_000;
/** What a stopping task is given beyond its grace period for its stopped state to reach the manager. */
export const stopReportMarginMs = 5_000;

/** Running and meant to run. */
export function isRunning(t: SwarmTask): boolean {
  return t.DesiredState === 'running' && t.Status?.State === 'running';
}

/** Told to stop (or be removed) but its container still runs. */
export function isStopping(t: SwarmTask): boolean {
  return (t.DesiredState === 'shutdown' || t.DesiredState === 'remove') && t.Status?.State === 'running';
}

/**
 * The tasks to read again by ID: those that ran in the previous round (running or stopping) and
 * are not in the new list of tasks meant to run. One list call reads them all.
 */
export function stoppingCandidates(previous: SwarmTask[], running: SwarmTask[]): string[] {
  const now = new Set(running.map((t) => t.ID));
  return previous
    .filter((t) => t.Status?.State === 'running' && !now.has(t.ID))
    .map((t) => t.ID)
    .sort();
}

/** The stop grace period of the service a task belongs to, in ms. */
export function stopGraceMs(service: SwarmService | undefined): number {
  const ns = service?.Spec.TaskTemplate?.ContainerSpec?.StopGracePeriod;
  return typeof ns === 'number' && ns >= 0 ? Math.round(ns / 1e6) : defaultStopGraceMs;
}

/** When this replica first saw each stopping task (task ID → clock ms). */
export type StoppingClock = Map<string, number>;

/**
 * The tasks that serve: every task running and meant to run, and, of a service with none such,
 * every stopping one whose time since it was first seen stopping is within its service's stop
 * grace period plus the margin. Updates `seen` (adds newly stopping tasks, whether they serve or
 * not, and forgets tasks no longer stopping).
 */
export function servingTasks(
  tasks: SwarmTask[],
  services: SwarmService[],
  seen: StoppingClock,
  now: number,
): SwarmTask[] {
  const byId = new Map(services.map((s) => [s.ID, s]));
  const withRunning = new Set(tasks.filter(isRunning).map((t) => t.ServiceID));
  const stopping = new Set<string>();
  const out: SwarmTask[] = [];
  for (const t of tasks) {
    if (isRunning(t)) {
      out.push(t);
      continue;
    }
    if (!isStopping(t)) continue;
    stopping.add(t.ID);
    const since = seen.get(t.ID) ?? now;
    seen.set(t.ID, since);
    if (!withRunning.has(t.ServiceID) && now - since <= stopGraceMs(byId.get(t.ServiceID)) + stopReportMarginMs)
      out.push(t);
  }
  for (const id of [...seen.keys()]) if (!stopping.has(id)) seen.delete(id);
  return out;
}
