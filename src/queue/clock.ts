/**
 * Time, injected: everything that waits (backoff, polling, timeouts, rate limits) takes a Clock,
 * and everything that jitters takes a `Random`, so tests step a FakeClock and fix the jitter
 * instead of sleeping and hoping.
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms`; at once when `signal` is (or becomes) aborted, which also cancels the
   * timer (so an abandoned wait neither fires nor keeps the process alive).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A number in [0, 1), as Math.random gives: the source of every jitter. */
export type Random = () => number;

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** A clock that only moves when told to. Sleepers wake in deadline order as time is advanced. */
export class FakeClock implements Clock {
  private time: number;
  private sleepers: { until: number; wake: () => void }[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper = {
        until: this.time + Math.max(0, ms),
        wake: () => {
          signal?.removeEventListener('abort', abort);
          resolve();
        },
      };
      const abort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        resolve();
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.sleepers.push(sleeper);
      this.sleepers.sort((a, b) => a.until - b.until);
    });
  }

  /** Number of callers currently sleeping. */
  get pending(): number {
    return this.sleepers.length;
  }

  /** When the next sleeper is due (undefined when none sleeps). */
  get nextDue(): number | undefined {
    return this.sleepers[0]?.until;
  }

  /** Moves time forward by `ms`, waking every sleeper whose deadline passes, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await flushMicrotasks();
      const next = this.sleepers[0];
      if (!next || next.until > target) break;
      this.sleepers.shift();
      this.time = next.until;
      next.wake();
    }
    this.time = target;
    await flushMicrotasks();
  }
}

/** Lets promise chains and setImmediate callbacks run (not timers: a FakeClock has none). */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}
