/**
 * The controller's Prometheus metrics on prom-client: `Registry` registers counters, gauges and
 * histograms with typed label values (so a wrong label value is a compile error), can add
 * prom-client's process and Node.js metrics (resident memory, heap, event-loop lag, open
 * handles, CPU, file descriptors, GC), and renders the text exposition format 0.0.4.
 * `controllerMetrics` registers the controller's own metrics; their names are a public
 * interface (docs/metrics.md, manifests/grafana/swarm-controller.json). No I/O; serving
 * `render()` over HTTP is the caller's job (with `metricsContentType`).
 */
import client from 'prom-client';

export const metricsContentType = 'text/plain; version=0.0.4; charset=utf-8';

/** Bucket upper bounds in seconds, from 5ms to a minute; `+Inf` is always added. */
export const defaultBuckets: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type LabelValue = string | number;
export type LabelSet = { readonly [name: string]: LabelValue };

type NoLabels<L> = [keyof L] extends [never] ? true : false;
/** `(labels, value?)`, or `(value?)` when the metric has no labels. */
export type OptionalValueArgs<L extends LabelSet> =
  NoLabels<L> extends true ? [value?: number] : [labels: L, value?: number];
/** `(labels, value)`, or `(value)` when the metric has no labels. */
export type ValueArgs<L extends LabelSet> = NoLabels<L> extends true ? [value: number] : [labels: L, value: number];

/** prom-client's Counter, its label values typed. */
export interface Counter<L extends LabelSet = Record<never, string>> {
  inc(...args: OptionalValueArgs<L>): void;
}

/** prom-client's Gauge, its label values typed. */
export interface Gauge<L extends LabelSet = Record<never, string>> {
  set(...args: ValueArgs<L>): void;
  inc(...args: OptionalValueArgs<L>): void;
  dec(...args: OptionalValueArgs<L>): void;
}

/** prom-client's Histogram, its label values typed. */
export interface Histogram<L extends LabelSet = Record<never, string>> {
  observe(...args: ValueArgs<L>): void;
}

/** The process and Node.js metrics `collectProcessMetrics` adds, by the names Grafana queries use. */
export const processMetricNames = [
  'process_resident_memory_bytes',
  'process_cpu_seconds_total',
  'process_open_fds',
  'process_start_time_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_gc_duration_seconds',
  'nodejs_version_info',
] as const;

export class Registry {
  /** prom-client's registry underneath (for a test that wants its JSON view). */
  readonly prom = new client.Registry();

  counter<N extends string = never>(
    name: string,
    help: string,
    labelNames: readonly N[] = [],
  ): Counter<Record<N, LabelValue>> {
    return new client.Counter({ name, help, labelNames, registers: [this.prom] }) as unknown as Counter<
      Record<N, LabelValue>
    >;
  }

  gauge<N extends string = never>(
    name: string,
    help: string,
    labelNames: readonly N[] = [],
  ): Gauge<Record<N, LabelValue>> {
    return new client.Gauge({ name, help, labelNames, registers: [this.prom] }) as unknown as Gauge<
      Record<N, LabelValue>
    >;
  }

  histogram<N extends string = never>(
    name: string,
    help: string,
    buckets: readonly number[] = defaultBuckets,
    labelNames: readonly N[] = [],
  ): Histogram<Record<N, LabelValue>> {
    return new client.Histogram({
      name,
      help,
      buckets: [...buckets],
      labelNames,
      registers: [this.prom],
    }) as unknown as Histogram<Record<N, LabelValue>>;
  }

  /**
   * prom-client's default metrics: resident memory, CPU, file descriptors, heap (total, used, per
   * space), event-loop lag (now and percentiles), active handles and requests, GC durations.
   * Collected when rendered; the event-loop delay histogram and the GC observer run in between.
   */
  collectProcessMetrics(): void {
    client.collectDefaultMetrics({ register: this.prom });
  }

  /** Every metric in the text exposition format 0.0.4, in registration order. */
  render(): Promise<string> {
    return this.prom.metrics();
  }
}

export type ReconcileResult = 'success' | 'failed';
export type DriftMode = 'repaired' | 'reported';
export type SyncResult = 'success' | 'failed' | 'invalid';
export type EngineRequestResult = 'ok' | 'no_quorum' | 'engine_unreachable' | 'error';

/** The controller's metrics, as registered by `controllerMetrics`. */
export interface ControllerMetrics {
  /** --image-check rounds, by result. */
  imageChecks: Counter<{ result: 'unchanged' | 'changed' | 'failed' }>;
  /** New digests found under a tag. */
  imageDigestChanges: Counter;
  /** Images pinned to a digest. */
  pinnedImages: Gauge;
  /** Time for one reconcile of one object, in seconds; labels kind (Service, Network, ...) and result. */
  reconcileDuration: Histogram<{ kind: string; result: string }>;
  /** Reconciles that ended in an error, by kind and type: terminal (Stalled, not retried) or transient (retried with backoff). */
  reconcileErrors: Counter<{ kind: string; type: 'terminal' | 'transient' }>;
  /** Work items waiting in the queue. */
  queueDepth: Gauge;
  /** Actions executed against the Swarm; labels kind, action (create, update, ...) and result. */
  actions: Counter<{ kind: string; action: string; result: string }>;
  /** Drift found and either repaired or only reported. */
  driftRepairs: Counter<{ kind: string; mode: DriftMode }>;
  /** Syncs from the source, by result. */
  sync: Counter<{ result: SyncResult }>;
  /** Syncs that failed (any reason), for simple alerting. */
  syncFailures: Counter;
  /** Time for one sync, in seconds. */
  syncDuration: Histogram;
  /** Unix time, in seconds, of the last successful sync; 0 before the first. */
  lastSyncTimestamp: Gauge;
  /** 1 while this replica is the leader, else 0. */
  leader: Gauge;
  /** 1 while reconciliation is suspended, else 0. */
  suspended: Gauge;
  /** Time to push a route table to one proxy replica, in seconds. */
  proxyPushDuration: Histogram;
  /** Route table pushes to proxy replicas, by result (ok, refused, error). */
  proxyPushes: Counter<{ result: 'ok' | 'refused' | 'error' }>;
  /** The generation of the route table being pushed. */
  routeGeneration: Gauge;
  /** Routes in the table (served) and left out (broken). */
  routes: Gauge<{ state: 'served' | 'broken' }>;
  /** Task addresses in the route table. */
  routeServers: Gauge;
  /** Proxy replicas, by whether they hold the current generation. */
  proxyReplicas: Gauge<{ state: 'in_sync' | 'behind' }>;
  /** Requests sent to the engine, by result: ok, no_quorum, engine_unreachable, error (any other refusal). */
  engineRequests: Counter<{ result: EngineRequestResult }>;
  /** Lease rounds (the controller's looks at the Swarm), by whether the Swarm answered. */
  leaseRounds: Counter<{ result: 'answered' | 'unavailable' }>;
  /** 1 while the Swarm takes writes as the last lease round found, 0 during an outage (no quorum, no engine). */
  swarmWritable: Gauge;
  /** Always 1; labels version and node (the Node.js version). Set by the caller. */
  buildInfo: Gauge<{ version: string; node: string }>;
}

/**
 * Registers the controller's metrics on `registry` and returns them. Metrics without labels
 * start at 0; `buildInfo` is left for the caller to set, e.g.
 * `m.buildInfo.set({ version, node: process.version }, 1)`.
 */
export function controllerMetrics(registry: Registry): ControllerMetrics {
  const p = 'swarm_controller_';
  return {
    reconcileDuration: registry.histogram(
      `${p}reconcile_duration_seconds`,
      'Time to reconcile one object, in seconds.',
      defaultBuckets,
      ['kind', 'result'],
    ),
    queueDepth: registry.gauge(`${p}queue_depth`, 'Work items waiting in the reconcile queue.'),
    actions: registry.counter(`${p}actions_total`, 'Actions executed against the Swarm.', ['kind', 'action', 'result']),
    driftRepairs: registry.counter(
      `${p}drift_repairs_total`,
      'Drift found in the Swarm, by whether it was repaired or only reported.',
      ['kind', 'mode'],
    ),
    sync: registry.counter(`${p}sync_total`, 'Syncs from the manifest source, by result.', ['result']),
    syncFailures: registry.counter(`${p}sync_failures_total`, 'Syncs from the manifest source that failed.'),
    syncDuration: registry.histogram(
      `${p}sync_duration_seconds`,
      'Time for one sync from the manifest source, in seconds.',
    ),
    lastSyncTimestamp: registry.gauge(
      `${p}last_sync_timestamp_seconds`,
      'Unix time of the last successful sync, in seconds.',
    ),
    leader: registry.gauge(`${p}leader`, '1 when this replica is the leader, else 0.'),
    suspended: registry.gauge(`${p}suspended`, '1 when reconciliation is suspended, else 0.'),
    proxyPushDuration: registry.histogram(
      `${p}proxy_push_duration_seconds`,
      'Time to push a route table to one proxy replica, in seconds.',
    ),
    proxyPushes: registry.counter(`${p}proxy_pushes_total`, 'Route table pushes to proxy replicas, by result.', [
      'result',
    ]),
    routeGeneration: registry.gauge(`${p}route_table_generation`, 'Generation of the route table being pushed.'),
    routes: registry.gauge(`${p}routes`, 'Routes in the table (served) and left out (broken).', ['state']),
    routeServers: registry.gauge(`${p}route_servers`, 'Task addresses in the route table.'),
    proxyReplicas: registry.gauge(
      `${p}proxy_replicas`,
      'Proxy replicas, by whether they hold the current route table.',
      ['state'],
    ),
    buildInfo: registry.gauge(`${p}build_info`, 'Build information; always 1.', ['version', 'node']),
    imageChecks: registry.counter(`${p}image_checks_total`, 'Image digest checks (--image-check), by result.', [
      'result',
    ]),
    imageDigestChanges: registry.counter(
      `${p}image_digest_changes_total`,
      'Images found with a new digest under their tag by --image-check (each rolled out).',
    ),
    pinnedImages: registry.gauge(`${p}images_pinned`, 'Images of the applied revision pinned to a registry digest.'),
    engineRequests: registry.counter(`${p}engine_requests_total`, 'Requests sent to the Docker engine, by result.', [
      'result',
    ]),
    leaseRounds: registry.counter(
      `${p}lease_rounds_total`,
      "Lease rounds (the controller's looks at the Swarm), by whether the Swarm answered.",
      ['result'],
    ),
    swarmWritable: registry.gauge(
      `${p}swarm_writable`,
      '1 while the Swarm takes writes as the last lease round found, 0 during an outage (no quorum, no engine).',
    ),
    reconcileErrors: registry.counter(
      `${p}reconcile_errors_total`,
      'Reconciles that ended in an error, by type: terminal (phase Stalled, not retried until something changes) or transient (retried with backoff).',
      ['kind', 'type'],
    ),
  };
}
