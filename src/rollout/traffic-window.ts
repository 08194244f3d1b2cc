/**
 * Traffic windows for canary analysis, from two reads of proxies' GET /v1/stats: the
 * increments of the chosen servers' counters between the reads, summed over the proxies.
 * A proxy whose epoch changed between the reads (its agent restarted, counters from zero)
 * counts from zero: what it served before the restart is lost, nothing is counted twice.
 * Pure: imports only the agent's types. Must not import src/swarm/ or anything with I/O.
 */
import type { RouteTraffic, ServerHealth, ServerTraffic, TrafficStats } from '../proxy/traffic-counters.js';

export interface TrafficWindow {
  /** Requests these servers answered (or failed last): what the clients got from them. */
  requests: number;
  /** Of those, 5xx answers (the application's, and HAProxy's 502/503/504 after a last attempt here failed). */
  errors: number;
  /**
   * Attempts that failed on these servers (refused, reset, timed out) and that HAProxy retried on
   * another server: the client did not see them. Reported beside the judged figures, not judged:
   * a brand-new task is often unreachable for its first moments on the overlay, and that says
   * nothing about the version it runs.
   */
  redispatched: number;
  /** Response times (ms to the response headers) of the answered requests. */
  latency: { boundsMs: readonly number[]; counts: number[] };
}

export function emptyWindow(boundsMs: readonly number[]): TrafficWindow {
  return {
    requests: 0,
    errors: 0,
    redispatched: 0,
    latency: { boundsMs, counts: new Array<number>(boundsMs.length + 1).fill(0) },
  };
}

/** Chooses the servers of a window: the canary's service, say, in one route. */
export type ServerPick = (route: RouteTraffic, server: ServerTraffic) => boolean;

const serverKey = (route: RouteTraffic, s: ServerTraffic) => `${route.route} ${s.task} ${s.address}`;

function dense(s: ServerTraffic, size: number): number[] {
  const counts = new Array<number>(size).fill(0);
  for (const [i, n] of s.responseTime.buckets) if (i >= 0 && i < size) counts[i] += n;
  return counts;
}

/**
 * The picked servers' traffic between `before` and `after` (two reads of the same proxy);
 * `before` undefined: everything since the agent started. `reset` tells that the counters
 * restarted in between (another epoch, or a counter found lower).
 */
export function windowBetween(
  before: TrafficStats | undefined,
  after: TrafficStats,
  pick: ServerPick,
): TrafficWindow & { reset: boolean } {
  const size = after.latencyBoundsMs.length + 1;
  let reset = before !== undefined && before.epoch !== after.epoch;
  const base = new Map<string, ServerTraffic>();
  if (before && !reset)
    for (const r of before.routes) for (const s of r.servers) if (pick(r, s)) base.set(serverKey(r, s), s);
  const w = emptyWindow(after.latencyBoundsMs);
  for (const r of after.routes) {
    for (const s of r.servers) {
      if (!pick(r, s)) continue;
      let b = base.get(serverKey(r, s));
      if (
        b &&
        (s.requests < b.requests || s.redispatched < b.redispatched || s.responseTime.count < b.responseTime.count)
      ) {
        reset = true;
        b = undefined;
      }
      w.requests += s.requests - (b?.requests ?? 0);
      w.errors += s.responses['5xx'] - (b?.responses['5xx'] ?? 0);
      w.redispatched += s.redispatched - (b?.redispatched ?? 0);
      const now = dense(s, size);
      const was = b ? dense(b, size) : undefined;
      now.forEach((n, i) => (w.latency.counts[i] += n - (was?.[i] ?? 0)));
    }
  }
  return { ...w, reset };
}

/** Windows of several proxies (or several intervals) added up; their bucket bounds must agree. */
export function sumWindows(windows: TrafficWindow[], boundsMs: readonly number[]): TrafficWindow {
  const total = emptyWindow(boundsMs);
  for (const w of windows) {
    if (w.latency.boundsMs.length !== boundsMs.length || w.latency.boundsMs.some((b, i) => b !== boundsMs[i]))
      throw new Error('traffic windows with different latency buckets cannot be added');
    total.requests += w.requests;
    total.errors += w.errors;
    total.redispatched += w.redispatched;
    w.latency.counts.forEach((n, i) => (total.latency.counts[i] += n));
  }
  return total;
}

/**
 * Whether a server may be judged: HAProxy's health check of it passed (status "UP" with a
 * passing last check; "UP 1/3" is failing, "INI" not checked yet), or the route has no health
 * check ("no check": nothing to wait for).
 */
export function isWarm(h: ServerHealth | null): boolean {
  if (!h) return false;
  if (h.status === 'no check') return true;
  return h.status === 'UP' && /^L[4-7]OK$/.test(h.check);
}

/** The picked servers in the proxy's table that are not warm yet, as "task (status check)". */
export function coldServers(stats: TrafficStats, pick: ServerPick): string[] {
  const out: string[] = [];
  for (const r of stats.routes)
    for (const s of r.servers)
      if (s.inTable && pick(r, s) && !isWarm(s.health))
        out.push(`${s.task} (${s.health ? `${s.health.status} ${s.health.check}`.trim() : 'not read yet'})`);
  return out;
}

/**
 * What keeps traffic from moving onto one side of a rollout (its servers picked by `pick`): a
 * proxy replica that did not answer, one whose table holds fewer of those servers than
 * `expected` (the tasks running), or a server whose health check has not passed there yet.
 * HAProxy counts a server it was just given as up before its first check, so an empty answer is
 * the only proof that every replica would send a request to a task that answers. Pure.
 */
export function unreadyServers(
  stats: Map<string, TrafficStats>,
  replicas: number,
  pick: ServerPick,
  expected: number,
): string[] {
  if (!stats.size || stats.size < replicas) return [`${replicas - stats.size} of ${replicas} proxies did not answer`];
  const out: string[] = [];
  for (const [replica, st] of stats) {
    let held = 0;
    for (const r of st.routes) for (const s of r.servers) if (s.inTable && pick(r, s)) held++;
    if (held < expected) out.push(`proxy ${replica} holds ${held} of ${expected} tasks`);
    out.push(...coldServers(st, pick));
  }
  return out;
}

/**
 * A window as kept in a rollout record (the stable version's baseline): its counts and its
 * histogram's non-empty buckets as [index, count], with the number of bucket bounds it was
 * counted with, so that a record written with other bounds is recognised and not misread.
 */
export interface StoredWindow {
  requests: number;
  errors: number;
  /** latencyBoundsMs.length of the histogram. */
  bounds: number;
  buckets: [number, number][];
}

export function storeWindow(w: TrafficWindow): StoredWindow {
  const buckets: [number, number][] = [];
  w.latency.counts.forEach((n, i) => {
    if (n > 0) buckets.push([i, n]);
  });
  return { requests: w.requests, errors: w.errors, bounds: w.latency.boundsMs.length, buckets };
}

/** The stored window over these bounds; undefined when it was counted with other bounds. */
export function loadWindow(s: StoredWindow, boundsMs: readonly number[]): TrafficWindow | undefined {
  if (s.bounds !== boundsMs.length) return undefined;
  const w = emptyWindow(boundsMs);
  w.requests = s.requests;
  w.errors = s.errors;
  for (const [i, n] of s.buckets) if (Number.isInteger(i) && i >= 0 && i <= boundsMs.length) w.latency.counts[i] += n;
  return w;
}
