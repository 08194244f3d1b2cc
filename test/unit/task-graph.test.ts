import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runTaskGraph, assertAcyclic } from '../../src/queue/task-graph.js';
import { FakeClock } from '../../src/queue/clock.js';
import { backoffDelay } from '../../src/queue/backoff.js';
import { TerminalError, TransientError } from '../../src/errors.js';

const noJitter = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000, jitter: false };

describe('task graph', () => {
  it('runs a task only after its dependencies succeeded', async () => {
    const order: string[] = [];
    const task = (id: string, dependsOn: string[] = []) => ({
      id,
      dependsOn,
      run: async () => {
        order.push(id);
        return id;
      },
    });
    const out = await runTaskGraph([task('svc', ['net']), task('net'), task('del-net', ['svc'])], { concurrency: 4 });
    assert.deepEqual(order, ['net', 'svc', 'del-net']);
    assert.deepEqual(
      out.map((o) => o.status),
      ['succeeded', 'succeeded', 'succeeded'],
    );
  });

  it('never runs more tasks at once than the concurrency', async () => {
    const clock = new FakeClock();
    let running = 0,
      peak = 0;
    const tasks = Array.from({ length: 10 }, (_, i) => ({
      id: `t${i}`,
      dependsOn: [],
      run: async () => {
        running++;
        peak = Math.max(peak, running);
        await clock.sleep(5);
        running--;
      },
    }));
    const done = runTaskGraph(tasks, { concurrency: 3, clock });
    await clock.advance(100);
    assert.equal((await done).length, 10);
    assert.equal(peak, 3);
  });

  it('retries transient errors with exponential backoff on the injected clock', async () => {
    const clock = new FakeClock();
    const attempts: number[] = [];
    const delays: number[] = [];
    const done = runTaskGraph(
      [
        {
          id: 'a',
          dependsOn: [],
          run: async (n) => {
            attempts.push(clock.now());
            if (n < 3) throw new TransientError('update out of sequence');
            return 'ok';
          },
        },
      ],
      { clock, backoff: noJitter, onRetry: (_id, _n, _e, d) => delays.push(d) },
    );
    await clock.advance(1000);
    const [o] = await done;
    assert.equal(o.status, 'succeeded');
    assert.equal(o.attempts, 3);
    assert.deepEqual(delays, [100, 200]);
    assert.deepEqual(attempts, [0, 100, 300]);
  });

  it('does not retry terminal errors, gives up after maxAttempts, and skips dependants', async () => {
    let terminalRuns = 0;
    const clock = new FakeClock();
    const done = runTaskGraph(
      [
        {
          id: 'bad',
          dependsOn: [],
          run: async () => {
            terminalRuns++;
            throw new TerminalError('SC5004', 'invalid spec');
          },
        },
        {
          id: 'flaky',
          dependsOn: [],
          run: async () => {
            throw new TransientError('connection reset');
          },
        },
        { id: 'after-bad', dependsOn: ['bad'], run: async () => 'never' },
      ],
      { clock, backoff: noJitter },
    );
    await clock.advance(10_000);
    const out = await done;
    assert.equal(terminalRuns, 1);
    assert.deepEqual(
      out.map((o) => `${o.id} ${o.status} ${o.attempts}`),
      ['bad failed 1', 'flaky failed 4', 'after-bad skipped 0'],
    );
    assert.equal((out[2] as { reason: string }).reason, 'bad failed');
  });

  it('refuses cycles and unknown dependencies', () => {
    assert.throws(
      () =>
        assertAcyclic([
          { id: 'a', dependsOn: ['b'] },
          { id: 'b', dependsOn: ['a'] },
        ]),
      /cycle: a -> b -> a/,
    );
    assert.throws(() => assertAcyclic([{ id: 'a', dependsOn: ['x'] }]), /unknown task "x"/);
  });

  it('backoff doubles up to the cap and jitters within 20%', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => backoffDelay(noJitter, n)),
      [100, 200, 400, 800, 1000],
    );
    const j = backoffDelay({ ...noJitter, jitter: true }, 3, () => 1);
    assert.equal(j, 480);
  });
});
