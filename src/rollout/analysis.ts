/**
 * The canary judge: given the canary's and the stable version's traffic over the same
 * interval, decides one step: pass, fail or inconclusive (not enough data yet), with every
 * check, its figures and its reason. docs/rollouts.md ("How canaries are judged") explains the
 * statistics; in short:
 * - error rate: fail when the canary's rate is above maxErrorRate with failConfidence
 *   (Clopper-Pearson lower bound); pass when it is below with passConfidence (upper bound).
 *   0 errors in n requests shows a rate below L only once n >= ln(1 - c) / ln(1 - L).
 * - error rate against stable: fail when the canary's rate is more than maxErrorRateRatio
 *   times the stable one's with failConfidence (exact conditional test); it never holds a
 *   pass back, so a stable version with no errors does not block a clean canary.
 * - latency, per quantile: fail when the canary's quantile is surely above the allowed one
 *   (max(ratio × stable, stable + toleranceMs)), pass when surely below; bounds are order
 *   statistics of the histograms taken at bucket edges, so they stay on the safe side.
 * - with a baseline (the stable version's response times before the first step): the limit is
 *   taken from the baseline and the delay both versions share now (stable now − baseline) is
 *   added to it, limit(S, B) = allowed(min(S, B)) + max(0, S − B), so load that adds time to
 *   every request cannot hide a slow canary; and while the stable version itself is far above
 *   its baseline (maxStableDrift) the check does not pass: the machine, not the version, is slow.
 * Failing needs evidence at failConfidence (no rollback on noise); passing needs evidence at
 * passConfidence and minRequests (no promotion of a bad version that was lucky).
 * Pure. Must not import anything with I/O.
 */
import {
  binomialCdf,
  binomialUpperTail,
  proportionBounds,
  quantileLowerRank,
  quantileUpperRank,
  rateRatioPValue,
} from './binomial.js';
import type { TrafficWindow } from './traffic-window.js';

export interface LatencyThreshold {
  /** 0.5 for the median, 0.99 for p99. */
  quantile: number;
  /** The canary's quantile may be at most this many times the stable one's. */
  maxRatio: number;
}

export interface AnalysisThresholds {
  /** Canary requests before a step can pass (it can fail earlier, on strong evidence). */
  minRequests: number;
  /** The highest canary error rate accepted (0.01 = 1%). */
  maxErrorRate: number;
  /** The canary's error rate may be at most this many times the stable one's; null: not checked. */
  maxErrorRateRatio: number | null;
  latency: LatencyThreshold[];
  /** Latency differences up to this many ms are accepted whatever the ratio (timer resolution, tiny services). */
  latencyToleranceMs: number;
  /** Confidence a fail needs (0.99: a check of a canary at its limit fails by chance at most 1% of the time). */
  failConfidence: number;
  /** Confidence a pass needs (0.95). */
  passConfidence: number;
  /**
   * With a baseline: a latency check does not pass while the stable version's quantile is surely
   * more than this many times its baseline (the machine is slow, not the version). Absent in
   * records written before it existed: the default.
   */
  maxStableDrift?: number;
}

/** The default of `maxStableDrift`: stable at more than twice its baseline holds a step. */
export const defaultMaxStableDrift = 2;

export const defaultThresholds: Readonly<AnalysisThresholds> = Object.freeze({
  minRequests: 100,
  maxErrorRate: 0.01,
  maxErrorRateRatio: 2,
  latency: [
    { quantile: 0.5, maxRatio: 1.5 },
    { quantile: 0.99, maxRatio: 2 },
  ],
  latencyToleranceMs: 5,
  failConfidence: 0.99,
  passConfidence: 0.95,
  maxStableDrift: defaultMaxStableDrift,
});

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface Check {
  /** "error-rate", "error-rate-ratio", "latency-p50", "latency-p99", ... */
  name: string;
  verdict: Verdict | 'skipped';
  /** The canary's figure (error rate, quantile in ms) and the limit it was held to. */
  observed: number | null;
  limit: number | null;
  detail: string;
  /** Inconclusive: canary requests this check needs at least before it can pass. */
  neededRequests?: number;
  /** Latency with a baseline: the stable version's quantile before the first step and now, in ms. */
  baselineMs?: number | null;
  stableMs?: number | null;
  /** stable now − baseline (at least 0): the delay both versions share, removed before the ratio. */
  sharedDelayMs?: number;
  /** stable now / baseline. */
  stableDrift?: number;
  /** The check was held because the stable version is far above its baseline. */
  heldForDrift?: boolean;
}

export interface WindowSummary {
  requests: number;
  errors: number;
  errorRate: number | null;
  /** Failed attempts HAProxy retried elsewhere (the clients did not see them): shown, not judged. */
  redispatched: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface StepAnalysis {
  verdict: Verdict;
  /** One line for a person: why this verdict. */
  reason: string;
  checks: Check[];
  canary: WindowSummary;
  stable: WindowSummary;
  /** The stable version before the first step, when the rollout has a baseline. */
  baseline?: WindowSummary;
}

/** Every problem with a set of thresholds (empty: usable). */
export function thresholdProblems(t: AnalysisThresholds): string[] {
  const p: string[] = [];
  const within = (v: number, lo: number, hi: number) => Number.isFinite(v) && v > lo && v < hi;
  if (!Number.isInteger(t.minRequests) || t.minRequests < 1) p.push('minRequests: must be a whole number >= 1');
  if (!within(t.maxErrorRate, 0, 1)) p.push('maxErrorRate: must be between 0 and 1 (0.01 is 1%)');
  if (t.maxErrorRateRatio !== null && !(Number.isFinite(t.maxErrorRateRatio) && t.maxErrorRateRatio >= 1))
    p.push('maxErrorRateRatio: must be >= 1, or null to compare with the stable version not at all');
  t.latency.forEach((l, i) => {
    if (!within(l.quantile, 0, 1)) p.push(`latency[${i}].quantile: must be between 0 and 1 (0.99 is p99)`);
    if (!(Number.isFinite(l.maxRatio) && l.maxRatio >= 1)) p.push(`latency[${i}].maxRatio: must be >= 1`);
  });
  if (!(Number.isFinite(t.latencyToleranceMs) && t.latencyToleranceMs >= 0)) p.push('latencyToleranceMs: must be >= 0');
  if (!within(t.failConfidence, 0.5, 1)) p.push('failConfidence: must be between 0.5 and 1 (0.99)');
  if (!within(t.passConfidence, 0.5, 1)) p.push('passConfidence: must be between 0.5 and 1 (0.95)');
  if (t.maxStableDrift !== undefined && !(Number.isFinite(t.maxStableDrift) && t.maxStableDrift >= 1))
    p.push('maxStableDrift: must be >= 1');
  return p;
}

/** The bucket holding the k-th smallest sample (1-based), as its value range (lo, hi]. */
function rankRange(counts: number[], bounds: readonly number[], k: number): { lo: number; hi: number } {
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i];
    if (seen >= k) return { lo: i === 0 ? 0 : bounds[i - 1], hi: i < bounds.length ? bounds[i] : Infinity };
  }
  return { lo: bounds[bounds.length - 1], hi: Infinity };
}

/** A quantile estimate for people (linear within its bucket); null without samples. */
export function quantileMs(w: TrafficWindow, q: number): number | null {
  const { counts, boundsMs } = w.latency;
  const n = counts.reduce((a, b) => a + b, 0);
  if (n === 0) return null;
  const rank = Math.max(1, q * n);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] > 0 && seen + counts[i] >= rank) {
      if (i === 0) return boundsMs[0];
      if (i >= boundsMs.length) return boundsMs[boundsMs.length - 1];
      const lo = boundsMs[i - 1];
      return lo + ((boundsMs[i] - lo) * (rank - seen)) / counts[i];
    }
    seen += counts[i];
  }
  return boundsMs[boundsMs.length - 1];
}

function summary(w: TrafficWindow): WindowSummary {
  return {
    requests: w.requests,
    errors: w.errors,
    errorRate: w.requests > 0 ? w.errors / w.requests : null,
    redispatched: w.redispatched,
    p50Ms: quantileMs(w, 0.5),
    p99Ms: quantileMs(w, 0.99),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(x < 0.001 && x > 0 ? 3 : 2)}%`;
const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x * 10) / 10} ms` : 'unbounded');

/**
 * The upper Clopper-Pearson bound of x in n is at most L exactly when P(X <= x | n, L) <= 1 - c,
 * and the lower one above L when P(X >= x | n, L) < 1 - c: one evaluation each, no search.
 */
const upperAtMost = (x: number, n: number, limit: number, confidence: number) =>
  binomialCdf(x, n, limit) <= 1 - confidence;
const lowerAbove = (x: number, n: number, limit: number, confidence: number) =>
  binomialUpperTail(x, n, limit) < 1 - confidence;

/** Canary requests (at the observed rate) after which the upper bound falls to the limit; undefined if never. */
function requestsToShow(rate: number, limit: number, confidence: number): number | undefined {
  if (rate >= limit) return undefined;
  const ok = (n: number) => upperAtMost(Math.round(rate * n), n, limit, confidence);
  let hi = 1;
  while (!ok(hi)) {
    hi *= 2;
    if (hi > 1e9) return undefined;
  }
  let lo = Math.floor(hi / 2);
  while (lo + 1 < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

function errorRateCheck(c: TrafficWindow, t: AnalysisThresholds): Check {
  const name = 'error-rate';
  if (c.requests === 0)
    return { name, verdict: 'inconclusive', observed: null, limit: t.maxErrorRate, detail: 'no canary requests yet' };
  const rate = c.errors / c.requests;
  const base = { name, observed: rate, limit: t.maxErrorRate };
  const seen = `${c.errors} errors in ${c.requests} canary requests (${pct(rate)})`;
  if (lowerAbove(c.errors, c.requests, t.maxErrorRate, t.failConfidence)) {
    const lower = proportionBounds(c.errors, c.requests, t.failConfidence).lower;
    return {
      ...base,
      verdict: 'fail',
      detail: `${seen}: the rate is above ${pct(t.maxErrorRate)} with ${pct(t.failConfidence)} confidence (at least ${pct(lower)})`,
    };
  }
  const upper = proportionBounds(c.errors, c.requests, t.passConfidence).upper;
  if (upperAtMost(c.errors, c.requests, t.maxErrorRate, t.passConfidence))
    return {
      ...base,
      verdict: 'pass',
      detail: `${seen}: the rate is at most ${pct(upper)} with ${pct(t.passConfidence)} confidence`,
    };
  const needed = requestsToShow(rate, t.maxErrorRate, t.passConfidence);
  return {
    ...base,
    verdict: 'inconclusive',
    detail: `${seen}: the rate could still be up to ${pct(upper)}${needed ? `; at this rate about ${needed} requests show it below ${pct(t.maxErrorRate)}` : ''}`,
    ...(needed ? { neededRequests: needed } : {}),
  };
}

function errorRatioCheck(c: TrafficWindow, s: TrafficWindow, ratio: number, t: AnalysisThresholds): Check {
  const name = 'error-rate-ratio';
  if (s.requests === 0)
    return { name, verdict: 'skipped', observed: null, limit: ratio, detail: 'no stable requests to compare with' };
  const rc = c.requests > 0 ? c.errors / c.requests : 0;
  const rs = s.errors / s.requests;
  const observed = rs > 0 ? rc / rs : rc > 0 ? Infinity : null;
  const p = rateRatioPValue(c.errors, c.requests, s.errors, s.requests, ratio);
  const seen = `canary ${c.errors}/${c.requests} (${pct(rc)}), stable ${s.errors}/${s.requests} (${pct(rs)})`;
  if (p < 1 - t.failConfidence)
    return {
      name,
      verdict: 'fail',
      observed,
      limit: ratio,
      detail: `${seen}: the canary's rate is more than ${ratio}x the stable one's (p = ${p.toPrecision(2)})`,
    };
  return {
    name,
    verdict: 'pass',
    observed,
    limit: ratio,
    detail: `${seen}: no evidence of more than ${ratio}x (p = ${p.toPrecision(2)})`,
  };
}

/**
 * The limit for the canary's quantile given the stable version's now (S) and before the first
 * step (B): allowed(min(S, B)) + max(0, S − B). Without load (S = B) it is allowed(S); when the
 * stable version is slower than its baseline, the difference is a delay both versions share and
 * is added, not multiplied; when it is faster, the plain comparison with it (allowed(S)) holds.
 * Non-decreasing in S and in B, so bounds of S and B give bounds of the limit.
 */
export function latencyLimit(stableMs: number, baselineMs: number | null, l: LatencyThreshold, toleranceMs: number) {
  const allowed = (x: number) => Math.max(l.maxRatio * x, x + toleranceMs);
  if (baselineMs === null) return allowed(stableMs);
  if (!Number.isFinite(stableMs) || !Number.isFinite(baselineMs)) return Math.max(allowed(stableMs), stableMs);
  return allowed(Math.min(stableMs, baselineMs)) + Math.max(0, stableMs - baselineMs);
}

function latencyCheck(
  c: TrafficWindow,
  s: TrafficWindow,
  l: LatencyThreshold,
  t: AnalysisThresholds,
  baseline: TrafficWindow | undefined,
): Check {
  const label = `p${Math.round(l.quantile * 1000) / 10}`.replace('.', '_');
  const name = `latency-${label}`;
  const count = (w: TrafficWindow) => w.latency.counts.reduce((a, b) => a + b, 0);
  const nc = count(c);
  const ns = count(s);
  const nb = baseline ? count(baseline) : 0;
  const observed = quantileMs(c, l.quantile);
  const stableQ = quantileMs(s, l.quantile);
  if (ns === 0)
    return { name, verdict: 'skipped', observed, limit: null, detail: 'no stable responses to compare with' };
  // The baseline is used for this quantile when it can bound it both ways at passConfidence.
  const useBaseline =
    !!baseline &&
    quantileUpperRank(nb, l.quantile, t.passConfidence) !== null &&
    quantileLowerRank(nb, l.quantile, t.passConfidence) !== null;
  const baseQ = useBaseline ? quantileMs(baseline, l.quantile) : null;
  const lim = (stable: number, base: number | null) => latencyLimit(stable, base, l, t.latencyToleranceMs);
  const limit = stableQ === null ? null : lim(stableQ, baseQ);
  const drift =
    useBaseline && stableQ !== null && baseQ !== null
      ? {
          baselineMs: baseQ,
          stableMs: stableQ,
          sharedDelayMs: Math.max(0, stableQ - baseQ),
          stableDrift: baseQ > 0 ? stableQ / baseQ : stableQ > 0 ? Infinity : 1,
        }
      : {};
  if (nc === 0) return { name, verdict: 'inconclusive', observed, limit, detail: 'no canary responses yet', ...drift };
  const bounds = c.latency.boundsMs;
  const at = (w: TrafficWindow, rank: number | null, side: 'lo' | 'hi') =>
    rank === null ? (side === 'lo' ? 0 : Infinity) : rankRange(w.latency.counts, bounds, rank)[side];
  const lo = (w: TrafficWindow, n: number, conf: number) => at(w, quantileLowerRank(n, l.quantile, conf), 'lo');
  const hi = (w: TrafficWindow, n: number, conf: number) => at(w, quantileUpperRank(n, l.quantile, conf), 'hi');
  // fail: the canary's lower bound above the most generous limit (upper bounds of stable and baseline)
  const failCanaryLo = lo(c, nc, t.failConfidence);
  const failLimit = lim(hi(s, ns, t.failConfidence), useBaseline ? hi(baseline, nb, t.failConfidence) : null);
  // pass: the canary's upper bound within the strictest limit (lower bounds of stable and baseline)
  const passCanaryHi = hi(c, nc, t.passConfidence);
  const passLimit = lim(lo(s, ns, t.passConfidence), useBaseline ? lo(baseline, nb, t.passConfidence) : null);
  const base = baseQ !== null ? `, baseline ${ms(baseQ)} (${nb})` : '';
  const seen = `canary ${label} ${ms(observed ?? NaN)} (${nc} responses), stable ${ms(stableQ ?? NaN)} (${ns})${base}`;
  const how = useBaseline
    ? `${l.maxRatio}x baseline + the shared delay${drift.sharedDelayMs ? ` of ${ms(drift.sharedDelayMs)}` : ''}`
    : `${l.maxRatio}x stable`;
  if (failCanaryLo > failLimit)
    return {
      name,
      verdict: 'fail',
      observed,
      limit,
      detail: `${seen}: the canary's ${label} is at least ${ms(failCanaryLo)}, above the allowed ${ms(failLimit)} (${how}, ${pct(t.failConfidence)} confidence)`,
      ...drift,
    };
  // The machine, not the version, is slow: the stable version surely far above its baseline.
  if (useBaseline) {
    const d = t.maxStableDrift ?? defaultMaxStableDrift;
    const stableLo = lo(s, ns, t.passConfidence);
    const baseHi = hi(baseline, nb, t.passConfidence);
    const drifted = Math.max(d * baseHi, baseHi + t.latencyToleranceMs);
    if (stableLo > drifted)
      return {
        name,
        verdict: 'inconclusive',
        observed,
        limit,
        detail: `${seen}: the stable version's ${label} is at least ${ms(stableLo)}, more than ${d}x its baseline (at most ${ms(baseHi)}): the machine, not the version, is slow; held until it is not`,
        ...drift,
        heldForDrift: true,
      };
  }
  if (passCanaryHi <= passLimit)
    return {
      name,
      verdict: 'pass',
      observed,
      limit,
      detail: `${seen}: the canary's ${label} is at most ${ms(passCanaryHi)}, within ${ms(passLimit)} (${how}, ${pct(t.passConfidence)} confidence)`,
      ...drift,
    };
  const needed = Math.ceil(Math.log(1 - t.passConfidence) / Math.log(l.quantile));
  return {
    name,
    verdict: 'inconclusive',
    observed,
    limit,
    detail: `${seen}: the canary's ${label} could be up to ${ms(passCanaryHi)}, the allowed is ${ms(passLimit)} (${how})`,
    ...(nc < needed ? { neededRequests: needed } : {}),
    ...drift,
  };
}

/** "stable p50 1.8x its baseline (a shared delay of 90 ms removed)": what the judgement says of the load. */
export function driftText(checks: Check[]): string {
  return checks
    .filter((c) => c.stableDrift !== undefined && c.baselineMs !== undefined)
    .map(
      (c) =>
        `stable ${c.name.replace('latency-', '')} ${(c.stableDrift ?? 1).toFixed(2)}x its baseline${c.sharedDelayMs ? ` (a shared delay of ${ms(c.sharedDelayMs)} removed)` : ''}`,
    )
    .join(', ');
}

/** Judges one step; throws RangeError when the thresholds are unusable (thresholdProblems). */
export function judgeStep(
  canary: TrafficWindow,
  stable: TrafficWindow,
  thresholds: AnalysisThresholds = defaultThresholds,
  baseline?: TrafficWindow,
): StepAnalysis {
  const problems = thresholdProblems(thresholds);
  if (problems.length) throw new RangeError(`canary analysis thresholds: ${problems.join('; ')}`);
  const checks: Check[] = [errorRateCheck(canary, thresholds)];
  if (thresholds.maxErrorRateRatio !== null)
    checks.push(errorRatioCheck(canary, stable, thresholds.maxErrorRateRatio, thresholds));
  for (const l of thresholds.latency) checks.push(latencyCheck(canary, stable, l, thresholds, baseline));
  const result = (verdict: Verdict, reason: string): StepAnalysis => ({
    verdict,
    reason,
    checks,
    canary: summary(canary),
    stable: summary(stable),
    ...(baseline ? { baseline: summary(baseline) } : {}),
  });
  const failed = checks.filter((c) => c.verdict === 'fail');
  if (failed.length) return result('fail', failed.map((c) => `${c.name}: ${c.detail}`).join('; '));
  if (canary.requests === 0) return result('inconclusive', 'no canary requests yet');
  if (canary.requests < thresholds.minRequests)
    return result('inconclusive', `${canary.requests} canary requests of the ${thresholds.minRequests} a pass needs`);
  const open = checks.filter((c) => c.verdict === 'inconclusive');
  if (open.length) return result('inconclusive', open.map((c) => `${c.name}: ${c.detail}`).join('; '));
  const load = driftText(checks);
  return result('pass', `every check passed on ${canary.requests} canary requests${load ? `; ${load}` : ''}`);
}
