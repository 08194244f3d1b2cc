/**
 * The response-time histogram the agent keeps per task: fixed bucket bounds in milliseconds
 * (every millisecond to 16 ms, then eight buckets per doubling up to 65.5 s: at most 12% wide,
 * 9% above 100 ms),
 * counts per bucket that only grow, and the sparse form /v1/stats sends. Fixed bounds make
 * histograms of two reads, or of two proxies, subtract and add bucket by bucket.
 * Pure. Must not import src/swarm/ or do I/O.
 */

/** Upper bounds (inclusive) in ms; one more bucket holds everything above the last bound. */
export const latencyBoundsMs: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let ms = 0; ms <= 16; ms++) bounds.push(ms);
  for (let i = 1; i <= 8 * 12; i++) {
    const b = Math.round(16 * 2 ** (i / 8));
    if (b > bounds[bounds.length - 1]) bounds.push(b);
  }
  return Object.freeze(bounds);
})();

/** The bucket a value falls in: the first bound >= ms, or bounds.length (above the last bound). */
export function bucketIndex(ms: number, bounds: readonly number[] = latencyBoundsMs): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bounds[mid] >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Response times of one task: a count per bucket, their number and their sum. */
export interface LatencyHistogram {
  count: number;
  sumMs: number;
  /** Dense: bounds.length + 1 counts. */
  counts: number[];
}

export function emptyHistogram(bounds: readonly number[] = latencyBoundsMs): LatencyHistogram {
  return { count: 0, sumMs: 0, counts: new Array<number>(bounds.length + 1).fill(0) };
}

export function observe(h: LatencyHistogram, ms: number, bounds: readonly number[] = latencyBoundsMs): void {
  h.counts[bucketIndex(ms, bounds)]++;
  h.count++;
  h.sumMs += ms;
}

/** The wire form: only the non-empty buckets, as [bucket index, count], in index order. */
export interface SparseHistogram {
  count: number;
  sumMs: number;
  buckets: [number, number][];
}

export function toSparse(h: LatencyHistogram): SparseHistogram {
  const buckets: [number, number][] = [];
  h.counts.forEach((n, i) => {
    if (n > 0) buckets.push([i, n]);
  });
  return { count: h.count, sumMs: h.sumMs, buckets };
}

export function fromSparse(s: SparseHistogram, bounds: readonly number[] = latencyBoundsMs): LatencyHistogram {
  const h = emptyHistogram(bounds);
  for (const [i, n] of s.buckets) if (i >= 0 && i < h.counts.length) h.counts[i] += n;
  h.count = s.count;
  h.sumMs = s.sumMs;
  return h;
}
