import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from '../../src/queue/work-queue.js';
import { FakeClock } from '../../src/queue/clock.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('work queue', () => {
  it('processes a key added many times once', async () => {
    const q = new WorkQueue({ concurrency: 2, clock: new FakeClock() });
    for (let i = 0; i < 5; i++) q.add('Service/web');
    const runs: string[] = [];
    q.start(async (k) => {
      runs.push(k);
    });
    await q.idle();
    assert.deepEqual(runs, ['Service/web']);
  });

  it('never runs a key on two workers at once, and reruns it once if it was dirtied in flight', async () => {
    const q = new WorkQueue({ concurrency: 4, clock: new FakeClock() });
    let running = 0,
      peak = 0,
      runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    q.start(async () => {
      running++;
      peak = Math.max(peak, running);
      runs++;
      if (runs === 1) await gate;
      running--;
    });
    q.add('k');
    await tick();
    q.add('k');
    q.add('k');
    q.add('k');
    release();
    await q.idle();
    await q.idle();
    assert.equal(peak, 1);
    assert.equal(runs, 2);
  });

  it('runs different keys concurrently up to the limit', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ concurrency: 2, clock });
    let running = 0,
      peak = 0,
      runs = 0;
    q.start(async () => {
      running++;
      runs++;
      peak = Math.max(peak, running);
      await clock.sleep(5);
      running--;
    });
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await clock.advance(100);
    await q.idle();
    assert.equal(runs, 4);
    assert.equal(peak, 2);
  });

  it('backs off per key exponentially on the injected clock, and forget resets it', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, limits: { baseDelayMs: 100, maxDelayMs: 1000, perSecond: 1000, burst: 1000 } });
    const times: number[] = [];
    q.start(async (k) => {
      times.push(clock.now());
      if (times.length < 4) q.addRateLimited(k);
      else q.forget(k);
    });
    q.add('k');
    await clock.advance(5000);
    assert.deepEqual(times, [0, 100, 300, 700]);
    assert.equal(q.numRequeues('k'), 0);
  });

  it('limits the overall retry rate with a token bucket', () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, limits: { baseDelayMs: 1, maxDelayMs: 10, perSecond: 10, burst: 2 } });
    const delays = ['a', 'b', 'c', 'd'].map((k) => q.addRateLimited(k));
    assert.deepEqual(delays, [1, 1, 100, 200]);
  });

  it('keeps the earliest of several delayed adds', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    const times: number[] = [];
    q.start(async () => {
      times.push(clock.now());
    });
    q.addAfter('k', 500);
    q.addAfter('k', 200);
    q.addAfter('k', 900);
    await clock.advance(1000);
    assert.deepEqual(times, [200]);
  });
});
