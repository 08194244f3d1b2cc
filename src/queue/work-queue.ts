/**
 * A keyed work queue with the guarantees of client-go's workqueue, built on p-queue (which
 * gives concurrency only):
 *   - a key added many times before it runs is processed once;
 *   - a key is never processed by two workers at once; added while in flight, it runs again
 *     after (it is "dirty");
 *   - retries are rate limited: per-key exponential backoff, combined with an overall token
 *     bucket, the larger delay winning.
 * Time comes from an injected Clock, so tests step a FakeClock instead of sleeping.
 */
import PQueue from 'p-queue';
import { realClock, type Clock } from './clock.js';

export interface RateLimits {
  /** Per-key backoff: base x 2^(failures), capped (client-go: 5 ms to 1,000 s). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Overall token bucket (client-go: 10 per second, burst 100). */
  perSecond: number;
  burst: number;
}

export const defaultRateLimits: RateLimits = { baseDelayMs: 5, maxDelayMs: 1_000_000, perSecond: 10, burst: 100 };

export type Worker<K> = (key: K) => Promise<void>;

export class WorkQueue<K extends string = string> {
  private readonly pq: PQueue;
  private readonly queued = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly dirty = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly waiting = new Map<K, number>(); // key -> due time of a delayed add
  private tokens: number;
  private lastRefill: number;
  private stopped = false;
  private worker?: Worker<K>;

  constructor(private readonly options: { concurrency?: number; clock?: Clock; limits?: RateLimits } = {}) {
    this.pq = new PQueue({ concurrency: Math.max(1, options.concurrency ?? 2) });
    this.tokens = this.limits.burst;
    this.lastRefill = this.clock.now();
  }

  private get clock(): Clock {
    return this.options.clock ?? realClock;
  }

  private get limits(): RateLimits {
    return this.options.limits ?? defaultRateLimits;
  }

  /** Starts processing with `worker`; keys added before start wait until then. */
  start(worker: Worker<K>): void {
    this.worker = worker;
    for (const key of [...this.queued]) {
      this.queued.delete(key);
      this.add(key);
    }
  }

  /** Keys waiting to run (not counting those in flight or delayed). */
  get length(): number {
    return this.queued.size;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  add(key: K): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    if (!this.worker) return;
    void this.pq.add(() => this.process(key));
  }

  /** Adds the key after `delayMs`; an earlier pending delayed add of the same key wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const due = this.clock.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending !== undefined && pending <= due) return;
    this.waiting.set(key, due);
    void this.clock.sleep(delayMs).then(() => {
      if (this.waiting.get(key) !== due) return;
      this.waiting.delete(key);
      this.add(key);
    });
  }

  /** Re-adds a key that failed, after max(per-key backoff, overall bucket delay). */
  addRateLimited(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const itemDelay = Math.min(this.limits.maxDelayMs, this.limits.baseDelayMs * 2 ** n);
    const delay = Math.max(itemDelay, this.bucketDelay());
    this.addAfter(key, delay);
    return delay;
  }

  /** The key succeeded: its backoff starts again from the base. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Stops taking work; resolves when in-flight work is done. */
  async shutDown(): Promise<void> {
    this.stopped = true;
    this.pq.clear();
    this.queued.clear();
    await this.pq.onIdle();
  }

  /** Resolves when nothing is queued or in flight (delayed adds are not waited for). */
  async idle(): Promise<void> {
    while (this.queued.size || this.processing.size) await this.pq.onIdle();
  }

  private bucketDelay(): number {
    const now = this.clock.now();
    const { perSecond, burst } = this.limits;
    this.tokens = Math.min(burst, this.tokens + ((now - this.lastRefill) / 1000) * perSecond);
    this.lastRefill = now;
    this.tokens -= 1; // reserve one token, possibly going into debt
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / perSecond) * 1000);
  }

  private async process(key: K): Promise<void> {
    if (!this.queued.delete(key) || this.stopped) return;
    this.processing.add(key);
    try {
      await this.worker!(key);
    } catch {
      // The worker decides about retries (addRateLimited); an escaped error is only dropped.
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
    }
  }
}
