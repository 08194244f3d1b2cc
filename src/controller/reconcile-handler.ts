/**
 * The one place `controller run` decides about retries, as controller-runtime's reconcileHandler
 * does: the reconciler returns an outcome or throws, and here
 *   - a terminal error (TerminalError and its subclasses: NotFoundError, AlreadyExistsError,
 *     RegistryError, ... ; the first typed error in the cause chain decides) is recorded as phase
 *     Stalled with the reason, counted as type="terminal", and NOT requeued: the key runs again
 *     only when something changes (a new revision, a Swarm event on the object or a node event)
 *     or at the periodic resync;
 *   - every other error (TransientError, ConflictError, InUseError, anything unknown) is counted
 *     as type="transient" and requeued with the work queue's per-key backoff;
 *   - an outcome "waiting" enqueues what it waits for and requeues itself with backoff; any other
 *     outcome resets the key's backoff and schedules the re-check it asks for.
 * Nothing below it retries: executePlan gets no retry policy from the reconciler.
 */
import { TerminalError, TransientError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../queue/clock.js';
import type { WorkQueue } from '../queue/work-queue.js';
import { ActionFailedError, type Reconciler } from './reconciler.js';
import type { StatusStore } from './status.js';

export type ErrorType = 'terminal' | 'transient';

export interface ReconcileMetricsSink {
  queueDepth(n: number): void;
  reconcile(kind: string, result: string, seconds: number): void;
  reconcileError(kind: string, type: ErrorType): void;
}

export interface ReconcileHandlerOptions {
  reconciler: Reconciler;
  queue: WorkQueue;
  status: StatusStore;
  clock: Clock;
  log: Logger;
  metrics: ReconcileMetricsSink;
  /** False while this replica must not change the Swarm (standby, suspended): the key is dropped. */
  active(): boolean;
}

/** Terminal or transient: the first TerminalError or TransientError in the cause chain; unknown errors are transient. */
export function errorType(err: unknown): ErrorType {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e instanceof TerminalError) return 'terminal';
    if (e instanceof TransientError) return 'transient';
  }
  return 'transient';
}

/** The worker the work queue runs for each key. */
export function reconcileHandler(o: ReconcileHandlerOptions): (key: string) => Promise<void> {
  return async (key) => {
    if (!o.active()) return;
    const kind = key.split('/')[0];
    const started = o.clock.now();
    // Made only when there is something to log: an idle resync runs thousands of keys that log nothing.
    const log = () => o.log.child({ reconcileId: `${key}#${started.toString(36)}`, key });
    try {
      const r = await o.reconciler.reconcile(key);
      o.metrics.reconcile(kind, r.outcome, (o.clock.now() - started) / 1000);
      if (r.outcome !== 'in-sync')
        log().info(
          { outcome: r.outcome, phase: o.status.object(key)?.phase, reason: o.status.object(key)?.reason },
          `reconciled ${key}: ${r.outcome}`,
        );
      if (r.outcome === 'waiting') {
        for (const d of r.dependsOn) o.queue.add(d);
        o.queue.addRateLimited(key);
        return;
      }
      o.queue.forget(key);
      if ('recheckAfterMs' in r && r.recheckAfterMs) o.queue.addAfter(key, r.recheckAfterMs);
    } catch (err) {
      const type = errorType(err);
      const message = err instanceof Error ? err.message : String(err);
      o.metrics.reconcile(kind, 'error', (o.clock.now() - started) / 1000);
      o.metrics.reconcileError(kind, type);
      const object = err instanceof ActionFailedError ? err.object : o.reconciler.objectBase(key);
      if (type === 'terminal') {
        o.queue.forget(key);
        o.status.setObject({ ...object, phase: 'Stalled', reason: message });
        log().error(
          { err: message, errorType: type },
          `reconcile ${key} failed with a terminal error; not retried until the manifests or the object change, or the next resync`,
        );
        return;
      }
      // What the action did is recorded; a failure before it (the Swarm could not be read) leaves the status as it was.
      if (err instanceof ActionFailedError) o.status.setObject({ ...object, phase: 'Failed', reason: message });
      const delay = o.queue.addRateLimited(key);
      log().warn({ err: message, errorType: type, retryInMs: delay }, `reconcile ${key} failed; retrying`);
    } finally {
      o.metrics.queueDepth(o.queue.length);
    }
  };
}
