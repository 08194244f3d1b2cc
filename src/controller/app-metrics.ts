/**
 * The metrics of the Apps of `controller run`, each series labelled `app`: syncs by result and
 * their duration, the last successful sync, reconcile errors, actions, drift, leadership,
 * suspension, a revision waiting (sync window or dependency), readiness for dependants, and
 * notifications by receiver and result. Registered beside the controller's own metrics
 * (metrics.ts), whose series describe the root apply set. `appSink(app)` gives one App's
 * ApplySetMetricsSink.
 */
import type { DeliveryResult, NotifyMetricsSink } from '../notify/delivery.js';
import type { EventType } from '../notify/events.js';
import type { ApplySetMetricsSink } from './apply-set-loop.js';
import type { Registry } from './metrics.js';

export function appMetrics(registry: Registry) {
  const p = 'swarm_controller_app_';
  const m = {
    syncs: registry.counter(`${p}sync_total`, 'Syncs of an app from its repository, by result.', ['app', 'result']),
    syncDuration: registry.histogram(
      `${p}sync_duration_seconds`,
      'Time for one sync of an app, in seconds.',
      undefined,
      ['app'],
    ),
    lastSync: registry.gauge(`${p}last_sync_timestamp_seconds`, 'Unix time of the last successful sync of an app.', [
      'app',
    ]),
    reconcileErrors: registry.counter(`${p}reconcile_errors_total`, 'Failed reconciles of an app, by kind and type.', [
      'app',
      'kind',
      'type',
    ]),
    actions: registry.counter(`${p}actions_total`, 'Actions executed against the Swarm for an app.', [
      'app',
      'kind',
      'action',
      'result',
    ]),
    drift: registry.counter(`${p}drift_total`, 'Drift found in the objects of an app, repaired or reported.', [
      'app',
      'kind',
      'mode',
    ]),
    queueDepth: registry.gauge(`${p}queue_depth`, 'Work items waiting in the reconcile queue of an app.', ['app']),
    leader: registry.gauge(`${p}leader`, '1 when this replica leads the app, else 0.', ['app']),
    suspended: registry.gauge(`${p}suspended`, '1 when the app is suspended, else 0.', ['app']),
    waiting: registry.gauge(
      `${p}waiting`,
      '1 when a new revision of the app waits for a sync window or a dependency, else 0.',
      ['app'],
    ),
    ready: registry.gauge(`${p}ready`, '1 when the app is Ready (its dependants may apply), else 0.', ['app']),
    notifications: registry.counter(
      `${p}notifications_total`,
      'Notifications of an app, by receiver, event and what became of them.',
      ['app', 'receiver', 'event', 'result'],
    ),
  };
  return {
    metrics: m,
    sink(app: string): ApplySetMetricsSink {
      return {
        queueDepth: (n) => m.queueDepth.set({ app }, n),
        reconcile: () => {},
        reconcileError: (kind, type) => m.reconcileErrors.inc({ app, kind, type }),
        action: (kind, action, result) => m.actions.inc({ app, kind, action, result }),
        drift: (kind, mode) => m.drift.inc({ app, kind, mode }),
        sync: (result, seconds, at) => {
          m.syncs.inc({ app, result });
          if (result !== 'waiting') m.syncDuration.observe({ app }, seconds);
          if (result === 'success') m.lastSync.set({ app }, at);
        },
        leader: (l) => m.leader.set({ app }, l ? 1 : 0),
        imageCheck: () => {},
        pinnedImages: () => {},
        suspended: (v) => m.suspended.set({ app }, v ? 1 : 0),
      };
    },
    notify(app: string): NotifyMetricsSink {
      return {
        notification: (receiver: string, event: EventType, result: DeliveryResult) =>
          m.notifications.inc({ app, receiver, event, result }),
      };
    },
  };
}

export type AppMetrics = ReturnType<typeof appMetrics>;
