/**
 * Exact binomial statistics for canary analysis: the binomial distribution function through
 * the regularised incomplete beta function (continued fraction, Numerical Recipes 6.4),
 * one-sided Clopper-Pearson bounds on a proportion, and distribution-free confidence bounds
 * on a quantile as order statistics. Exact rather than normal approximations because a step
 * often sees tens of canary requests and zero or a few errors, where those approximations fail.
 * Pure. Must not import anything with I/O.
 */

const lanczos = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = lanczos[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += lanczos[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) return h;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b), a, b > 0. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(X <= k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  return incompleteBeta(1 - p, n - k, k + 1);
}

/** P(X >= k) for X ~ Binomial(n, p), computed directly so that small tails keep their precision. */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  return incompleteBeta(p, k, n - k + 1);
}

/** The p in [0, 1] where a monotone f crosses target (increasing: f(p) >= target from there on). */
function solve(f: (p: number) => number, target: number, increasing: boolean): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < target === increasing) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * One-sided Clopper-Pearson bounds on a proportion from x events in n trials: the true p is
 * at least `lower` with probability >= confidence, and at most `upper` with probability >=
 * confidence. 0 events in n: lower 0, upper 1 - (1 - confidence)^(1/n).
 */
export function proportionBounds(x: number, n: number, confidence: number): { lower: number; upper: number } {
  if (n <= 0) return { lower: 0, upper: 1 };
  const alpha = 1 - confidence;
  // (closed forms at the ends: P(X = 0) = (1 - p)^n, P(X = n) = p^n)
  const lower = x <= 0 ? 0 : x >= n ? alpha ** (1 / n) : solve((p) => binomialUpperTail(x, n, p), alpha, true);
  const upper = x >= n ? 1 : x <= 0 ? 1 - alpha ** (1 / n) : solve((p) => binomialCdf(x, n, p), alpha, false);
  return { lower, upper };
}

/** Φ(z), the standard normal distribution function (Abramowitz-Stegun 7.1.26, error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Φ⁻¹(p), to about 1e-6 (bisection on normalCdf): a starting guess for the rank searches. */
function normalQuantile(p: number): number {
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The largest integer k in [from, to] with ok(k), for ok true up to some k and false after
 * (ok(from) must hold); searched from a guess by doubling steps, then bisection, so a good
 * guess costs a few evaluations.
 */
function lastTrue(ok: (k: number) => boolean, from: number, to: number, guess: number): number {
  let lo = from; // ok(lo) holds
  let hi = to + 1; // ok(hi) fails (or beyond the range)
  const g = Math.min(to, Math.max(from, Math.round(guess)));
  if (ok(g)) {
    lo = g;
    for (let step = 1; lo + step < hi; step *= 2) {
      if (ok(lo + step)) lo += step;
      else {
        hi = lo + step;
        break;
      }
    }
  } else {
    hi = g;
    for (let step = 1; hi - step > lo; step *= 2) {
      if (!ok(hi - step)) hi -= step;
      else {
        lo = hi - step;
        break;
      }
    }
  }
  while (lo + 1 < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The lower rank of a distribution-free bound on the q-quantile of n samples (1-based): the
 * rank-th smallest sample is at most the true quantile with probability >= confidence.
 * null when even the smallest sample cannot say so (too few samples).
 */
export function quantileLowerRank(n: number, q: number, confidence: number): number | null {
  if (n <= 0 || binomialUpperTail(1, n, q) < confidence) return null;
  // the largest l with P(Bin(n, q) >= l) >= confidence (that probability falls as l grows)
  const sd = Math.sqrt(n * q * (1 - q));
  return lastTrue((l) => binomialUpperTail(l, n, q) >= confidence, 1, n, n * q - normalQuantile(confidence) * sd);
}

/**
 * The upper rank: the rank-th smallest sample is at least the true q-quantile with probability
 * >= confidence. null when n samples cannot bound it: an upper bound on p99 at 95% needs n >= 299.
 */
export function quantileUpperRank(n: number, q: number, confidence: number): number | null {
  if (n <= 0 || binomialCdf(n - 1, n, q) < confidence) return null;
  // the smallest u with P(Bin(n, q) <= u - 1) >= confidence, i.e. one more than the largest u with it below
  const sd = Math.sqrt(n * q * (1 - q));
  const below = (u: number) => u < 1 || binomialCdf(u - 1, n, q) < confidence;
  return lastTrue(below, 0, n, n * q + normalQuantile(confidence) * sd) + 1;
}

/** Both ranks (see quantileLowerRank, quantileUpperRank). */
export function quantileRanks(
  n: number,
  q: number,
  confidence: number,
): { lower: number | null; upper: number | null } {
  return { lower: quantileLowerRank(n, q, confidence), upper: quantileUpperRank(n, q, confidence) };
}

/**
 * The one-sided p-value for "the canary's event rate is more than `ratio` times the stable
 * one's": conditional on the x = xCanary + xStable events, the canary's share is
 * Binomial(x, π) with π = ratio·nCanary / (ratio·nCanary + nStable) when the rates are exactly
 * at that ratio (the exact conditional test for two Poisson rates, good for rare events).
 * Small: evidence that the canary is worse than allowed.
 */
export function rateRatioPValue(
  xCanary: number,
  nCanary: number,
  xStable: number,
  nStable: number,
  ratio: number,
): number {
  if (xCanary <= 0 || nCanary <= 0) return 1;
  if (nStable <= 0) return 1;
  const pi = (ratio * nCanary) / (ratio * nCanary + nStable);
  return binomialUpperTail(xCanary, xCanary + xStable, pi);
}
