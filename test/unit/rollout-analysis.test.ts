/**
 * The canary judge (src/rollout/analysis.ts) and its statistics (binomial.ts): fixed cases
 * with known answers, then a seeded simulation of steps as a rollout sees them (the judge
 * asked again every 50 canary requests until it decides), reporting how often a good canary
 * is failed and a bad one passed. Pure and fast: no processes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bucketIndex, latencyBoundsMs } from '../../src/proxy/latency-histogram.js';
import {
  defaultThresholds,
  judgeStep,
  thresholdProblems,
  type AnalysisThresholds,
} from '../../src/rollout/analysis.js';
import {
  binomialCdf,
  binomialUpperTail,
  normalCdf,
  proportionBounds,
  quantileRanks,
  rateRatioPValue,
} from '../../src/rollout/binomial.js';
import { emptyWindow, type TrafficWindow } from '../../src/rollout/traffic-window.js';

/** A window of `requests` with `errors`, every response at the given ms values (cycled). */
function window(requests: number, errors: number, latencyMs: number[]): TrafficWindow {
  const w = emptyWindow(latencyBoundsMs);
  w.requests = requests;
  w.errors = errors;
  for (let i = 0; i < requests; i++) w.latency.counts[bucketIndex(latencyMs[i % latencyMs.length])]++;
  return w;
}

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} is not ${b}`);

describe('binomial statistics', () => {
  it('match closed forms and known tables', () => {
    close(binomialCdf(0, 20, 0.05), 0.95 ** 20);
    close(binomialUpperTail(5, 100, 0.01), 0.0034323, 1e-6);
    close(binomialCdf(3, 10, 0.5), 176 / 1024);
    // 0 events in n: upper bound 1 - alpha^(1/n)
    close(proportionBounds(0, 20, 0.95).upper, 1 - 0.05 ** (1 / 20), 1e-9);
    // 5 of 100 (the two-sided 90% Clopper-Pearson interval is 1.99%..10.23%)
    const b = proportionBounds(5, 100, 0.95);
    close(b.lower, 0.019906, 1e-5);
    close(b.upper, 0.102253, 1e-5);
  });

  it('bound quantiles by order statistics, and say when there are too few samples', () => {
    // an upper bound on p99 at 95% needs 0.99^n <= 0.05: n >= 299
    assert.equal(quantileRanks(299, 0.99, 0.95).upper, 299);
    assert.equal(quantileRanks(298, 0.99, 0.95).upper, null);
    const m = quantileRanks(100, 0.5, 0.99);
    assert.deepEqual(m, { lower: 38, upper: 63 });
    assert.deepEqual(quantileRanks(0, 0.5, 0.99), { lower: null, upper: null });
  });

  it('the rate ratio test: 2 errors on a 5% canary while stable had none is about a 1-in-100 event at 2x', () => {
    const p = rateRatioPValue(2, 1000, 0, 19000, 2);
    close(p, ((2 * 1000) / (2 * 1000 + 19000)) ** 2, 1e-12);
    assert.ok(p < 0.01);
    assert.equal(rateRatioPValue(0, 1000, 5, 19000, 2), 1);
    assert.equal(rateRatioPValue(3, 100, 0, 0, 2), 1, 'no stable requests: no comparison');
  });
});

describe('judgeStep', () => {
  const stableFast = window(6000, 0, [18, 20, 22, 25, 30]);

  it('0 errors in 20 requests is not a pass: the rate could still be 14%', () => {
    const a = judgeStep(window(20, 0, [18, 20, 22, 25, 30]), stableFast);
    assert.equal(a.verdict, 'inconclusive');
    const e = a.checks.find((c) => c.name === 'error-rate')!;
    assert.equal(e.verdict, 'inconclusive');
    assert.match(e.detail, /up to 13\.91%/);
    assert.equal(e.neededRequests, 299, '0 errors show a rate below 1% at 95% only from 299 requests');
  });

  it('a clean canary with the stable latency passes once it has 300 requests', () => {
    const a = judgeStep(window(300, 0, [18, 20, 22, 25, 30]), stableFast);
    assert.equal(a.verdict, 'pass', a.reason);
    assert.deepEqual(
      a.checks.map((c) => [c.name, c.verdict]),
      [
        ['error-rate', 'pass'],
        ['error-rate-ratio', 'pass'],
        ['latency-p50', 'pass'],
        ['latency-p99', 'pass'],
      ],
    );
  });

  it('judges what the clients got: attempts on new canary tasks that HAProxy retried elsewhere are reported, not counted as errors', () => {
    const canary = window(300, 0, [18, 20, 22, 25, 30]);
    canary.redispatched = 57;
    const a = judgeStep(canary, stableFast);
    assert.equal(a.verdict, 'pass', a.reason);
    assert.deepEqual([a.canary.requests, a.canary.errors, a.canary.redispatched], [300, 0, 57]);
  });

  it('5 errors in 20 requests fail at once, before minRequests', () => {
    const a = judgeStep(window(20, 5, [20]), stableFast);
    assert.equal(a.verdict, 'fail');
    assert.match(a.reason, /^error-rate: 5 errors in 20 canary requests \(25\.00%\)/);
  });

  it('one error in 20 against a clean stable version is noise, not a failure', () => {
    const a = judgeStep(window(20, 1, [20]), window(380, 0, [20]));
    assert.equal(a.verdict, 'inconclusive', a.reason);
    assert.equal(a.checks.find((c) => c.name === 'error-rate-ratio')!.verdict, 'pass');
  });

  it('a canary twice as slow fails on latency alone', () => {
    const a = judgeStep(window(300, 0, [36, 40, 44, 50, 60]), stableFast);
    assert.equal(a.verdict, 'fail');
    assert.deepEqual(
      a.checks.filter((c) => c.verdict === 'fail').map((c) => c.name),
      ['latency-p50'],
    );
    assert.equal(a.checks.find((c) => c.name === 'error-rate')!.verdict, 'pass');
  });

  it('differences within latencyToleranceMs are accepted whatever the ratio', () => {
    // stable answers in 0-1 ms, the canary in 3 ms: 3x, but only 2-3 ms more
    const a = judgeStep(window(400, 0, [3]), window(4000, 0, [0, 1]));
    assert.equal(a.checks.find((c) => c.name === 'latency-p50')!.verdict, 'pass');
    const strict = judgeStep(window(400, 0, [3]), window(4000, 0, [0, 1]), {
      ...defaultThresholds,
      latencyToleranceMs: 0,
    });
    assert.equal(strict.checks.find((c) => c.name === 'latency-p50')!.verdict, 'fail');
  });

  it('without stable traffic the comparisons are skipped and the error rate decides', () => {
    const a = judgeStep(window(400, 0, [20]), emptyWindow(latencyBoundsMs));
    assert.equal(a.verdict, 'pass', a.reason);
    assert.deepEqual(
      a.checks.filter((c) => c.verdict === 'skipped').map((c) => c.name),
      ['error-rate-ratio', 'latency-p50', 'latency-p99'],
    );
  });

  it('no canary traffic is inconclusive; minRequests holds a pass back', () => {
    assert.equal(judgeStep(emptyWindow(latencyBoundsMs), stableFast).verdict, 'inconclusive');
    const a = judgeStep(window(400, 0, [20]), stableFast, { ...defaultThresholds, minRequests: 500 });
    assert.equal(a.verdict, 'inconclusive');
    assert.equal(a.reason, '400 canary requests of the 500 a pass needs');
  });

  it('p99 cannot pass before 299 responses; it says how many it needs', () => {
    const a = judgeStep(window(200, 0, [20]), stableFast, { ...defaultThresholds, maxErrorRate: 0.05 });
    const p99 = a.checks.find((c) => c.name === 'latency-p99')!;
    assert.equal(p99.verdict, 'inconclusive');
    assert.equal(p99.neededRequests, 299);
    assert.equal(a.verdict, 'inconclusive');
  });

  it('refuses unusable thresholds, naming each', () => {
    const bad: AnalysisThresholds = {
      ...defaultThresholds,
      maxErrorRate: 5,
      maxErrorRateRatio: 0.5,
      latency: [{ quantile: 99, maxRatio: 2 }],
      passConfidence: 1,
    };
    assert.deepEqual(thresholdProblems(bad), [
      'maxErrorRate: must be between 0 and 1 (0.01 is 1%)',
      'maxErrorRateRatio: must be >= 1, or null to compare with the stable version not at all',
      'latency[0].quantile: must be between 0 and 1 (0.99 is p99)',
      'passConfidence: must be between 0.5 and 1 (0.95)',
    ]);
    assert.throws(() => judgeStep(window(1, 0, [1]), stableFast, bad), RangeError);
  });
});

// ---- the simulation ----

/** mulberry32: a small seeded generator, so the simulation gives the same figures every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Version {
  errorRate: number;
  /** Log-normal response time: median and sigma (0.5: p99 about 3.2x the median), in whole ms as HAProxy logs them. */
  medianMs: number;
  sigma: number;
  /** A delay added to every response (the shared delay of a loaded machine), in ms. */
  delayMs?: number;
}

interface StepSim {
  seed: number;
  trials: number;
  /** The canary's share of the route's traffic (0.05 at a 5% step). */
  share: number;
  canary: Version;
  stable: Version;
  lookEvery: number;
  maxCanaryRequests: number;
  thresholds?: AnalysisThresholds;
  /** The stable version before the first step: its responses, drawn once per trial. */
  baseline?: { version: Version; responses: number };
}

interface StepOutcome {
  pass: number;
  fail: number;
  inconclusive: number;
  /** Mean canary requests when the step decided (pass or fail). */
  meanRequests: number;
  /** Checks that failed, and how often. */
  failedChecks: Map<string, number>;
  /** Looks that found a check held because the stable version was far above its baseline. */
  heldForDrift: number;
}

/** Cumulative probability of each histogram bucket for a version's response times, rounded to whole ms. */
function bucketCdf(v: Version): number[] {
  // P(round(X + d) <= b) = P(X < b + 0.5 - d) for whole-ms bounds
  const d = v.delayMs ?? 0;
  return [
    ...latencyBoundsMs.map((b) => (b + 0.5 - d > 0 ? normalCdf(Math.log((b + 0.5 - d) / v.medianMs) / v.sigma) : 0)),
    1,
  ];
}

function simulate(s: StepSim): StepOutcome {
  const r = rng(s.seed);
  const cdfs = new Map<Version, number[]>();
  const add = (w: TrafficWindow, v: Version, n: number) => {
    if (!cdfs.has(v)) cdfs.set(v, bucketCdf(v));
    const cdf = cdfs.get(v)!;
    for (let i = 0; i < n; i++) {
      w.requests++;
      if (r() < v.errorRate) w.errors++;
      const u = r();
      let lo = 0;
      let hi = cdf.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid] > u) hi = mid;
        else lo = mid + 1;
      }
      w.latency.counts[lo]++;
    }
  };
  const out: StepOutcome = {
    pass: 0,
    fail: 0,
    inconclusive: 0,
    meanRequests: 0,
    failedChecks: new Map(),
    heldForDrift: 0,
  };
  let decidedRequests = 0;
  const stablePerLook = Math.round((s.lookEvery * (1 - s.share)) / s.share);
  for (let trial = 0; trial < s.trials; trial++) {
    const canary = emptyWindow(latencyBoundsMs);
    const stable = emptyWindow(latencyBoundsMs);
    let baseline: TrafficWindow | undefined;
    if (s.baseline) {
      baseline = emptyWindow(latencyBoundsMs);
      add(baseline, s.baseline.version, s.baseline.responses);
    }
    let verdict: 'pass' | 'fail' | 'inconclusive' = 'inconclusive';
    while (canary.requests < s.maxCanaryRequests) {
      add(canary, s.canary, s.lookEvery);
      add(stable, s.stable, stablePerLook);
      const a = judgeStep(canary, stable, s.thresholds, baseline);
      if (a.verdict === 'inconclusive') {
        if (a.checks.some((c) => c.heldForDrift)) out.heldForDrift++;
        continue;
      }
      verdict = a.verdict;
      decidedRequests += canary.requests;
      for (const c of a.checks)
        if (c.verdict === 'fail') out.failedChecks.set(c.name, (out.failedChecks.get(c.name) ?? 0) + 1);
      break;
    }
    out[verdict]++;
  }
  out.meanRequests = out.pass + out.fail ? Math.round(decidedRequests / (out.pass + out.fail)) : 0;
  return out;
}

const good: Version = { errorRate: 0, medianMs: 20, sigma: 0.5 };
const rate = (n: number, of: number) => `${((100 * n) / of).toFixed(1)}%`;

describe('canary judge simulation (seeded; the judge asked every 50 canary requests, at most 1000 per step)', () => {
  const trials = 300;
  const base = { trials, lookEvery: 50, maxCanaryRequests: 1000, stable: good };
  const report = (name: string, o: StepOutcome) =>
    `${name}: pass ${rate(o.pass, trials)}, fail ${rate(o.fail, trials)}, inconclusive ${rate(o.inconclusive, trials)}; decided after ${o.meanRequests} canary requests on average; failed checks ${JSON.stringify(Object.fromEntries(o.failedChecks))}`;

  it('a good canary (no errors, same latency) at 5%: rarely failed, passed within a step', (t) => {
    const o = simulate({ ...base, seed: 1, share: 0.05, canary: good });
    t.diagnostic(report('good canary, 5% step', o));
    assert.ok(o.fail / trials <= 0.01, `false rollbacks: ${rate(o.fail, trials)}`);
    assert.ok(o.pass / trials >= 0.95, `passes: ${rate(o.pass, trials)}`);
  });

  it('a good canary with the same background errors as stable (0.3%) at 25%', (t) => {
    const noisy = { ...good, errorRate: 0.003 };
    const o = simulate({ ...base, seed: 2, share: 0.25, canary: noisy, stable: noisy });
    t.diagnostic(report('good canary with 0.3% background errors, 25% step', o));
    assert.ok(o.fail / trials <= 0.02, `false rollbacks: ${rate(o.fail, trials)}`);
    assert.ok(o.pass / trials >= 0.8, `passes: ${rate(o.pass, trials)}`);
  });

  it('a canary failing 5% of requests at 5% is failed, almost always within 200 requests, never passed', (t) => {
    const o = simulate({ ...base, seed: 3, share: 0.05, canary: { ...good, errorRate: 0.05 } });
    t.diagnostic(report('5% failing canary, 5% step', o));
    assert.equal(o.pass, 0, 'a 5% failing canary was promoted');
    assert.ok(o.fail / trials >= 0.99, `failed: ${rate(o.fail, trials)}`);
    const early = simulate({
      ...base,
      seed: 4,
      share: 0.05,
      canary: { ...good, errorRate: 0.05 },
      maxCanaryRequests: 200,
    });
    t.diagnostic(report('5% failing canary, 5% step, within 200 canary requests', early));
    assert.ok(early.fail / trials >= 0.95, `failed within 200 requests: ${rate(early.fail, trials)}`);
  });

  it('a canary twice as slow is failed on latency alone and never passed', (t) => {
    const o = simulate({ ...base, seed: 5, share: 0.05, canary: { ...good, medianMs: 40 } });
    t.diagnostic(report('2x slow canary, 5% step', o));
    assert.equal(o.pass, 0);
    assert.ok(o.fail / trials >= 0.95, `failed: ${rate(o.fail, trials)}`);
    assert.deepEqual(
      [...o.failedChecks.keys()].filter((k) => !k.startsWith('latency-')),
      [],
    );
  });

  it('a canary just above the error limit (2% against 1%) is not promoted', (t) => {
    const o = simulate({ ...base, seed: 6, share: 0.05, canary: { ...good, errorRate: 0.02 } });
    t.diagnostic(report('2% failing canary (limit 1%), 5% step', o));
    assert.ok(o.pass / trials <= 0.02, `promoted: ${rate(o.pass, trials)}`);
  });

  it('at the limit itself (1%, stable too) the repeated looks decide either way; at half of it a step passes', (t) => {
    const at = simulate({
      ...base,
      seed: 9,
      share: 0.25,
      canary: { ...good, errorRate: 0.01 },
      stable: { ...good, errorRate: 0.01 },
    });
    const half = simulate({
      ...base,
      seed: 10,
      share: 0.25,
      lookEvery: 100,
      maxCanaryRequests: 3000,
      canary: { ...good, errorRate: 0.005 },
      stable: { ...good, errorRate: 0.005 },
    });
    t.diagnostic(report('canary and stable at the 1% limit, 25% step', at));
    t.diagnostic(report('canary and stable at 0.5%, 25% step, up to 3000 canary requests, asked every 100', half));
    assert.ok(at.pass / trials <= 0.15 && at.fail / trials <= 0.08, 'at the limit, both ways stay rare');
    assert.ok(half.pass / trials >= 0.9 && half.fail / trials <= 0.01);
  });

  it('at a 50% step the same judge decides with the same error rates', (t) => {
    const g = simulate({ ...base, seed: 7, share: 0.5, canary: good });
    const b = simulate({ ...base, seed: 8, share: 0.5, canary: { ...good, errorRate: 0.05 } });
    t.diagnostic(report('good canary, 50% step', g));
    t.diagnostic(report('5% failing canary, 50% step', b));
    assert.ok(g.fail / trials <= 0.01 && g.pass / trials >= 0.95);
    assert.ok(b.pass === 0 && b.fail / trials >= 0.99);
  });
});

describe('latency on a loaded machine (seeded; a shared delay added to both versions, the baseline taken quiet)', () => {
  const trials = 300;
  // b = 20 ms median; a 25% step; the baseline: 600 stable responses before the first step, no delay
  const base = { trials, lookEvery: 50, maxCanaryRequests: 1000, share: 0.25 };
  const quietBaseline = { version: good, responses: 600 };
  const loaded = (v: Version, delayMs: number): Version => ({ ...v, delayMs });
  const doubled: Version = { ...good, medianMs: 40 };
  const report = (name: string, o: StepOutcome) =>
    `${name}: pass ${rate(o.pass, trials)}, fail ${rate(o.fail, trials)}, inconclusive ${rate(o.inconclusive, trials)}; decided after ${o.meanRequests} canary requests on average; failed checks ${JSON.stringify(Object.fromEntries(o.failedChecks))}; looks held for drift ${o.heldForDrift}`;

  it('without a baseline, a doubled canary passes once the shared delay exceeds the service time (the defect guarded)', (t) => {
    const at20 = simulate({ ...base, seed: 20, canary: loaded(doubled, 20), stable: loaded(good, 20) });
    const at50 = simulate({ ...base, seed: 21, canary: loaded(doubled, 50), stable: loaded(good, 50) });
    t.diagnostic(report('2x slow canary, 20 ms shared delay, no baseline', at20));
    t.diagnostic(report('2x slow canary, 50 ms shared delay, no baseline', at50));
    assert.ok(at50.pass / trials >= 0.5, `the raw ratio lets it pass: ${rate(at50.pass, trials)}`);
  });

  it('with a baseline, the same doubled canary is rolled back or held, never promoted', (t) => {
    const at20 = simulate({
      ...base,
      seed: 22,
      canary: loaded(doubled, 20),
      stable: loaded(good, 20),
      baseline: quietBaseline,
    });
    const at50 = simulate({
      ...base,
      seed: 28,
      canary: loaded(doubled, 50),
      stable: loaded(good, 50),
      baseline: quietBaseline,
    });
    t.diagnostic(report('2x slow canary, 20 ms shared delay (= b), quiet baseline', at20));
    t.diagnostic(report('2x slow canary, 50 ms shared delay, quiet baseline', at50));
    assert.equal(at20.pass + at50.pass, 0, 'a doubled canary was promoted');
    assert.ok(at20.fail / trials >= 0.9, `failed: ${rate(at20.fail, trials)}`);
    assert.deepEqual(
      [...at20.failedChecks.keys(), ...at50.failedChecks.keys()].filter((k) => !k.startsWith('latency-')),
      [],
    );
  });

  it('with a baseline, a same-speed canary under the same shared delay is promoted, not rolled back', (t) => {
    const o = simulate({
      ...base,
      seed: 23,
      canary: loaded(good, 20),
      stable: loaded(good, 20),
      baseline: quietBaseline,
    });
    t.diagnostic(report('good canary, 20 ms shared delay (= b), quiet baseline', o));
    assert.ok(o.fail / trials <= 0.01, `false rollbacks: ${rate(o.fail, trials)}`);
    assert.ok(o.pass / trials >= 0.95, `passes: ${rate(o.pass, trials)}`);
  });

  it('the machine far slower than at the baseline (60 ms shared delay, 3x b): a good canary is held, a doubled one never promoted', (t) => {
    const good3 = simulate({
      ...base,
      seed: 24,
      canary: loaded(good, 60),
      stable: loaded(good, 60),
      baseline: quietBaseline,
    });
    const bad3 = simulate({
      ...base,
      seed: 25,
      canary: loaded(doubled, 60),
      stable: loaded(good, 60),
      baseline: quietBaseline,
    });
    t.diagnostic(report('good canary, 60 ms shared delay, quiet baseline', good3));
    t.diagnostic(report('2x slow canary, 60 ms shared delay, quiet baseline', bad3));
    assert.equal(good3.pass, 0, 'promoted while the machine was slow');
    assert.ok(good3.fail / trials <= 0.01, `false rollbacks: ${rate(good3.fail, trials)}`);
    assert.ok(good3.heldForDrift > 0);
    assert.equal(bad3.pass, 0, 'a doubled canary was promoted');
  });

  it('with a baseline and a quiet machine, the judge decides as without one (no rollback on noise)', (t) => {
    const g = simulate({ ...base, seed: 26, share: 0.05, canary: good, stable: good, baseline: quietBaseline });
    const b = simulate({ ...base, seed: 27, share: 0.05, canary: doubled, stable: good, baseline: quietBaseline });
    t.diagnostic(report('good canary, quiet, baseline, 5% step', g));
    t.diagnostic(report('2x slow canary, quiet, baseline, 5% step', b));
    assert.ok(g.fail / trials <= 0.01 && g.pass / trials >= 0.95, report('good', g));
    assert.ok(b.pass === 0 && b.fail / trials >= 0.95, report('slow', b));
  });
});
