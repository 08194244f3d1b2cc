/**
 * A tiny Prometheus registry (counters, gauges, histograms) rendered in the text exposition
 * format 0.0.4, and `controllerMetrics`, which registers the controller's own metrics.
 * Output is deterministic: metrics in registration order, series sorted by label values.
 * No I/O; serving `render()` over HTTP is the caller's job (with `metricsContentType`).
 */

export const metricsContentType = 'text/plain; version=0.0.4; charset=utf-8';

/** Bucket upper bounds in seconds, from 5ms to a minute; `+Inf` is always added. */
export const defaultBuckets: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type LabelValue = string | number;
export type LabelSet = { readonly [name: string]: LabelValue };

type NoLabels<L> = [keyof L] extends [never] ? true : false;
/** `(labels, value?)`, or `(value?)` when the metric has no labels. */
export type OptionalValueArgs<L extends LabelSet> =
  NoLabels<L> extends true ? [value?: number] | [labels: L | undefined, value?: number] : [labels: L, value?: number];
/** `(labels, value)`, or `(value)` when the metric has no labels. */
export type ValueArgs<L extends LabelSet> =
  NoLabels<L> extends true ? [value: number] | [labels: L | undefined, value: number] : [labels: L, value: number];
/** `(labels)`, or `()` when the metric has no labels. */
export type LabelArgs<L extends LabelSet> = NoLabels<L> extends true ? [labels?: L] : [labels: L];

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Series<D> {
  values: string[];
  data: D;
}

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- L only types the label arguments of the subclasses
abstract class Metric<L extends LabelSet, D> {
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  private readonly series = new Map<string, Series<D>>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected abstract initial(): D;
  /** The sample lines of one series, each without the trailing newline. */
  protected abstract lines(labels: string, values: string[], data: D): string[];

  /** The series for `labels`, created on first use; the label names must match exactly. */
  protected seriesFor(labels: LabelSet | undefined): D {
    const values = this.labelValues(labels);
    const key = JSON.stringify(values);
    let s = this.series.get(key);
    if (!s) {
      s = { values, data: this.initial() };
      this.series.set(key, s);
    }
    return s.data;
  }

  /** The series for `labels` if it exists, without creating it. */
  protected existing(labels: LabelSet | undefined): D | undefined {
    return this.series.get(JSON.stringify(this.labelValues(labels)))?.data;
  }

  render(): string {
    // A metric without labels has exactly one series, exposed (at zero) before its first use.
    if (this.labelNames.length === 0) this.seriesFor(undefined);
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    const sorted = [...this.series.values()].sort((a, b) => compareValues(a.values, b.values));
    for (const s of sorted) {
      const labels = s.values.map((v, i) => `${this.labelNames[i]}="${escapeLabelValue(v)}"`).join(',');
      for (const line of this.lines(labels, s.values, s.data)) out += `${line}\n`;
    }
    return out;
  }

  private labelValues(labels: LabelSet | undefined): string[] {
    const given = labels ?? {};
    if (typeof given !== 'object' || given === null) throw new TypeError(`${this.name}: labels must be an object`);
    for (const k of Object.keys(given)) {
      if (!this.labelNames.includes(k)) {
        throw new Error(`${this.name}: unknown label "${k}"; labels are ${describeNames(this.labelNames)}`);
      }
    }
    return this.labelNames.map((n) => {
      const v: unknown = given[n];
      if (v === undefined)
        throw new Error(`${this.name}: missing label "${n}"; labels are ${describeNames(this.labelNames)}`);
      if (typeof v === 'string') return v;
      if (typeof v === 'number') return formatNumber(v);
      throw new TypeError(`${this.name}: label "${n}" must be a string or a number`);
    });
  }
}

/** A metric with one number per series: counters and gauges. */
abstract class ScalarMetric<L extends LabelSet> extends Metric<L, { value: number }> {
  get(...args: LabelArgs<L>): number {
    return this.existing(args[0])?.value ?? 0;
  }

  protected initial() {
    return { value: 0 };
  }

  protected lines(labels: string, _values: string[], data: { value: number }): string[] {
    return [`${this.name}${braces(labels)} ${formatNumber(data.value)}`];
  }
}

export class Counter<L extends LabelSet = Record<never, string>> extends ScalarMetric<L> {
  readonly type = 'counter';

  /** Adds `value` (default 1, never negative) to the series for `labels`. */
  inc(...args: OptionalValueArgs<L>): void {
    const [labels, value] = splitArgs(args, 1);
    if (Number.isNaN(value) || value < 0) throw new RangeError(`${this.name}: a counter only goes up (got ${value})`);
    this.seriesFor(labels).value += value;
  }
}

export class Gauge<L extends LabelSet = Record<never, string>> extends ScalarMetric<L> {
  readonly type = 'gauge';

  set(...args: ValueArgs<L>): void {
    const [labels, value] = splitArgs(args, undefined);
    this.seriesFor(labels).value = checkNumber(this.name, value);
  }

  inc(...args: OptionalValueArgs<L>): void {
    const [labels, value] = splitArgs(args, 1);
    this.seriesFor(labels).value += checkNumber(this.name, value);
  }

  dec(...args: OptionalValueArgs<L>): void {
    const [labels, value] = splitArgs(args, 1);
    this.seriesFor(labels).value -= checkNumber(this.name, value);
  }
}

interface HistogramData {
  /** Observations per bucket (not cumulative), one per upper bound, then one for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends LabelSet = Record<never, string>> extends Metric<L, HistogramData> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[],
    labelNames: readonly string[],
  ) {
    super(name, help, labelNames);
  }

  /** Records one observation (in seconds for the duration histograms). */
  observe(...args: ValueArgs<L>): void {
    const [labels, value] = splitArgs(args, undefined);
    if (typeof value !== 'number' || Number.isNaN(value))
      throw new TypeError(`${this.name}: cannot observe ${String(value)}`);
    const data = this.seriesFor(labels);
    let i = this.buckets.findIndex((le) => value <= le);
    if (i < 0) i = this.buckets.length;
    data.counts[i] += 1;
    data.sum += value;
    data.count += 1;
  }

  get(...args: LabelArgs<L>): { count: number; sum: number } {
    const data = this.existing(args[0]);
    return { count: data?.count ?? 0, sum: data?.sum ?? 0 };
  }

  protected initial(): HistogramData {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  protected lines(labels: string, _values: string[], data: HistogramData): string[] {
    const sep = labels ? ',' : '';
    const out: string[] = [];
    let cumulative = 0;
    const bounds = [...this.buckets, Infinity];
    bounds.forEach((le, i) => {
      cumulative += data.counts[i];
      out.push(`${this.name}_bucket{${labels}${sep}le="${formatNumber(le)}"} ${formatNumber(cumulative)}`);
    });
    out.push(`${this.name}_sum${braces(labels)} ${formatNumber(data.sum)}`);
    out.push(`${this.name}_count${braces(labels)} ${formatNumber(data.count)}`);
    return out;
  }
}

export class Registry {
  private readonly metrics: { render(): string }[] = [];
  /** Every name a sample line may carry, so e.g. a counter `x_sum` cannot shadow histogram `x`. */
  private readonly taken = new Set<string>();

  counter<N extends string = never>(
    name: string,
    help: string,
    labelNames: readonly N[] = [],
  ): Counter<Record<N, LabelValue>> {
    this.check(name, help, labelNames, [name]);
    return this.add(new Counter<Record<N, LabelValue>>(name, help, [...labelNames]));
  }

  gauge<N extends string = never>(
    name: string,
    help: string,
    labelNames: readonly N[] = [],
  ): Gauge<Record<N, LabelValue>> {
    this.check(name, help, labelNames, [name]);
    return this.add(new Gauge<Record<N, LabelValue>>(name, help, [...labelNames]));
  }

  histogram<N extends string = never>(
    name: string,
    help: string,
    buckets: readonly number[] = defaultBuckets,
    labelNames: readonly N[] = [],
  ): Histogram<Record<N, LabelValue>> {
    this.check(name, help, labelNames, [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]);
    if ((labelNames as readonly string[]).includes('le'))
      throw new Error(`${name}: a histogram cannot have a label named "le"`);
    const bounds = buckets.filter((b) => b !== Infinity);
    for (let i = 0; i < bounds.length; i++) {
      if (typeof bounds[i] !== 'number' || !Number.isFinite(bounds[i]))
        throw new Error(`${name}: bucket bounds must be numbers (got ${String(bounds[i])})`);
      if (i > 0 && bounds[i] <= bounds[i - 1])
        throw new Error(`${name}: bucket bounds must increase (${bounds[i - 1]} then ${bounds[i]})`);
    }
    return this.add(new Histogram<Record<N, LabelValue>>(name, help, bounds, [...labelNames]));
  }

  /** All metrics in the text exposition format 0.0.4, in registration order. */
  render(): string {
    return this.metrics.map((m) => m.render()).join('');
  }

  private add<M extends { render(): string }>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }

  private check(name: string, help: string, labelNames: readonly string[], sampleNames: string[]): void {
    if (typeof name !== 'string' || !metricNamePattern.test(name)) {
      throw new Error(
        `invalid metric name ${JSON.stringify(name)}: use letters, digits, "_" and ":", not starting with a digit`,
      );
    }
    if (typeof help !== 'string') throw new TypeError(`${name}: help must be a string`);
    for (const n of sampleNames) {
      if (this.taken.has(n)) throw new Error(`metric name "${n}" is already registered`);
    }
    const seen = new Set<string>();
    for (const l of labelNames) {
      if (typeof l !== 'string' || !labelNamePattern.test(l) || l.startsWith('__')) {
        throw new Error(
          `${name}: invalid label name ${JSON.stringify(l)}: use letters, digits and "_", not starting with a digit or "__"`,
        );
      }
      if (seen.has(l)) throw new Error(`${name}: label "${l}" given twice`);
      seen.add(l);
    }
    for (const n of sampleNames) this.taken.add(n);
  }
}

export type ReconcileResult = 'success' | 'failed';
export type DriftMode = 'repaired' | 'reported';
export type SyncResult = 'success' | 'failed' | 'invalid';

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
    reconcileErrors: registry.counter(
      `${p}reconcile_errors_total`,
      'Reconciles that ended in an error, by type: terminal (phase Stalled, not retried until something changes) or transient (retried with backoff).',
      ['kind', 'type'],
    ),
  };
}

/** Splits `(value)`, `(labels)`, `(labels, value)` and `()` into labels and value. */
function splitArgs(args: readonly unknown[], fallback: number | undefined): [LabelSet | undefined, number] {
  let labels: unknown;
  let value: unknown;
  if (typeof args[0] === 'number') [value] = args;
  else [labels, value] = args;
  value ??= fallback;
  if (typeof value !== 'number')
    throw new TypeError(`expected a number, got ${value === undefined ? 'nothing' : typeof value}`);
  return [labels as LabelSet | undefined, value];
}

function checkNumber(name: string, v: number): number {
  if (Number.isNaN(v)) throw new RangeError(`${name}: value is NaN`);
  return v;
}

function braces(labels: string): string {
  return labels ? `{${labels}}` : '';
}

/** Go-compatible float text: `+Inf`, `-Inf`, `NaN`, else JavaScript's shortest round-trip form. */
export function formatNumber(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (Number.isNaN(n)) return 'NaN';
  return String(n);
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function compareValues(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

function describeNames(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((n) => `"${n}"`).join(', ');
}
