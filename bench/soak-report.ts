/**
 * The soak's figures (bench/soak.ts), pure: the least-squares slope of a series after its
 * warm-up, percentiles, and the report as JSON-ready data and as a markdown table. No I/O.
 */

export interface Sample {
  /** Milliseconds since the soak started. */
  t: number;
  /** Resident memory in MB. */
  rssMb: number;
  /** Open file descriptors. */
  fds: number;
}

/** One process watched over the soak: the controller, or one proxy agent container (a restart starts a new series). */
export interface Series {
  name: string;
  container: string;
  samples: Sample[];
}

export interface Trend {
  name: string;
  container: string;
  points: number;
  /** Minutes of the series after its warm-up that the slope is fitted over. */
  fittedMinutes: number;
  rssFirstMb: number;
  rssLastMb: number;
  rssMaxMb: number;
  /** Least-squares slope of resident memory after the warm-up, MB per hour (null: too few points). */
  rssSlopeMbPerHour: number | null;
  fdsFirst: number;
  fdsLast: number;
  fdsMax: number;
  fdsSlopePerHour: number | null;
}

/** Least-squares slope of y over x (per unit of x); null with fewer than 3 points or no spread in x. */
export function slope(points: { x: number; y: number }[]): number | null {
  const n = points.length;
  if (n < 3) return null;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? null : sxy / sxx;
}

/** The trend of one series, fitted over its samples taken `warmupMs` or more after its first. */
export function trend(s: Series, warmupMs: number): Trend {
  const first = s.samples[0]?.t ?? 0;
  const fitted = s.samples.filter((x) => x.t - first >= warmupMs);
  const perHour = (key: 'rssMb' | 'fds') => {
    const k = slope(fitted.map((x) => ({ x: x.t / 3_600_000, y: x[key] })));
    return k === null ? null : round(k, 2);
  };
  const last = s.samples[s.samples.length - 1];
  return {
    name: s.name,
    container: s.container.slice(0, 12),
    points: fitted.length,
    fittedMinutes: fitted.length ? round((fitted[fitted.length - 1].t - fitted[0].t) / 60_000, 1) : 0,
    rssFirstMb: round(s.samples[0]?.rssMb ?? 0, 1),
    rssLastMb: round(last?.rssMb ?? 0, 1),
    rssMaxMb: round(maxOf(s.samples.map((x) => x.rssMb)), 1),
    rssSlopeMbPerHour: perHour('rssMb'),
    fdsFirst: s.samples[0]?.fds ?? 0,
    fdsLast: last?.fds ?? 0,
    fdsMax: maxOf(s.samples.map((x) => x.fds)),
    fdsSlopePerHour: perHour('fds'),
  };
}

/**
 * The largest value, 0 for none. A loop, not Math.max(...values): an hour's request latencies
 * (about 320,000) are more arguments than the stack holds, which lost the first hour's report.
 */
export function maxOf(values: number[]): number {
  let m = 0;
  for (const v of values) if (v > m) m = v;
  return m;
}

/** The p-th percentile (nearest rank) of the values; NaN when there are none. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export interface SoakReport {
  startedAt: string;
  minutes: number;
  machine: string;
  engine: string;
  layout: string;
  settings: Record<string, string | number>;
  requests: {
    sent: number;
    ok: number;
    failed: number;
    /** failure text -> count (errors by message, answers by status). */
    failures: Record<string, number>;
    /** failure text -> the first and last second of the soak it happened at. */
    windows: Record<string, [number, number]>;
    /** The first failures, with the second of the soak they happened in. */
    samples: string[];
    perSecond: number;
    latencyMs: { p50: number; p99: number; max: number };
  };
  crashes: string[];
  commits: { pushed: number; applied: number; notApplied: string[] };
  /** Commit pushed -> the controller's sync of it finished (its status: startedAt + durationMs), seconds. */
  syncLatencyS: { p50: number; p90: number; p99: number; max: number };
  scaleEvents: number;
  proxyRestarts: { at: number; node: string; backInSyncS: number }[];
  /** The machine's 1-minute load average over the samples. */
  loadAverage: { mean: number; max: number };
  warmupMinutes: number;
  trends: Trend[];
}

const fmt = (v: number | null, unit = '') => (v === null || Number.isNaN(v) ? 'n/a' : `${v}${unit}`);
const signed = (v: number | null) => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${v}`);

/** The report as markdown: a summary table, then one row per watched process. */
export function markdown(r: SoakReport): string {
  const q = r.requests;
  const lines = [
    `Soak of ${r.minutes} min, started ${r.startedAt} (${r.layout}; ${r.engine}; ${r.machine})`,
    '',
    '| measure | value |',
    '|---|---|',
    `| requests (failed / sent) | ${q.failed} / ${q.sent} (${q.perSecond} per second) |`,
    `| request latency p50 / p99 / max | ${fmt(q.latencyMs.p50, ' ms')} / ${fmt(q.latencyMs.p99, ' ms')} / ${fmt(q.latencyMs.max, ' ms')} |`,
    `| crashes | ${r.crashes.length ? r.crashes.join('; ') : 'none'} |`,
    `| commits applied / pushed | ${r.commits.applied} / ${r.commits.pushed} |`,
    `| sync latency (commit pushed → applied) p50 / p90 / p99 / max | ${fmt(r.syncLatencyS.p50, ' s')} / ${fmt(r.syncLatencyS.p90, ' s')} / ${fmt(r.syncLatencyS.p99, ' s')} / ${fmt(r.syncLatencyS.max, ' s')} |`,
    `| scale events | ${r.scaleEvents} |`,
    `| machine load average (1 min) mean / max | ${r.loadAverage.mean} / ${r.loadAverage.max} |`,
    `| proxy replica restarts (back in sync after) | ${r.proxyRestarts.length ? r.proxyRestarts.map((x) => `${x.node} at ${(x.at / 60).toFixed(1)} min: ${x.backInSyncS} s`).join('; ') : 'none'} |`,
    '',
    `Resident memory and open file descriptors, sampled every ${r.settings.sampleSeconds} s; slopes by least squares over the samples after a warm-up of ${r.warmupMinutes} min from each process's first sample:`,
    '',
    '| process | container | RSS first → last (max) | RSS slope | fds first → last (max) | fd slope | fitted |',
    '|---|---|---|---|---|---|---|',
    ...r.trends.map(
      (t) =>
        `| ${t.name} | ${t.container} | ${t.rssFirstMb} → ${t.rssLastMb} MB (${t.rssMaxMb}) | ${signed(t.rssSlopeMbPerHour)} MB/h | ${t.fdsFirst} → ${t.fdsLast} (${t.fdsMax}) | ${signed(t.fdsSlopePerHour)} /h | ${t.points} samples, ${t.fittedMinutes} min |`,
    ),
  ];
  if (q.failed)
    lines.push(
      '',
      `Failures: ${Object.entries(q.failures)
        .map(([what, n]) => `${n} × ${what} (${q.windows[what]?.[0]}-${q.windows[what]?.[1]} s)`)
        .join('; ')}`,
    );
  return lines.join('\n') + '\n';
}
