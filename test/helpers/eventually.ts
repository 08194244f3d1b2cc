/**
 * The one "wait until" of the tests. It waits for something that is recorded (a status, a
 * log line, an object in the Swarm), never to prove that something did not happen.
 *   - In real time (default): polls `check` every `intervalMs` (300 ms: e2e checks ask the
 *     engine) until it holds or `timeoutMs` passes. For conditions that wait on real work: a
 *     process, a Swarm, git, files.
 *   - On a FakeClock (`clock`): each round moves the fake clock by `intervalMs` (so the timers
 *     due in between fire, in order) and lets promises settle; `timeoutMs` is fake time, and no
 *     real time passes but the event loop's turns. When real work runs beside the fake clock
 *     (git, files), `realTickMs` also lets that much real time pass each round, so the fake
 *     clock moves while that work completes.
 */
import type { FakeClock } from '../../src/queue/clock.js';

export interface EventuallyOptions {
  intervalMs?: number;
  /** Step this fake clock instead of waiting in real time. */
  clock?: FakeClock;
  /** With `clock`: real milliseconds to wait each round as well (default 0). */
  realTickMs?: number;
  /** More to say when it times out (the last status, say). */
  detail?: () => string;
}

export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  what = 'condition',
  o: EventuallyOptions = {},
): Promise<void> {
  const interval = o.intervalMs ?? (o.clock ? 10 : 300);
  const now = () => (o.clock ? o.clock.now() : Date.now());
  const deadline = now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (now() >= deadline) break;
    if (o.clock) {
      await o.clock.advance(interval);
      if (o.realTickMs) await new Promise((r) => setTimeout(r, o.realTickMs));
    } else await new Promise((r) => setTimeout(r, interval));
  }
  const more = o.detail ? `; ${o.detail()}` : '';
  throw new Error(`timed out after ${timeoutMs} ms${o.clock ? ' (fake clock)' : ''} waiting for ${what}${more}`);
}
