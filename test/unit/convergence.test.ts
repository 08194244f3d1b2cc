import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitForConvergence, taskSpecKey } from '../../src/apply/convergence.js';
import { FakeClock } from '../../src/queue/clock.js';
import type { SwarmReader } from '../../src/api/swarm-access.js';
import type { SwarmService, SwarmTask } from '../../src/api/swarm-types.js';

const template = { ContainerSpec: { Image: 'app:2' }, Runtime: 'container', ForceUpdate: 0 };
function svc(o: Partial<SwarmService> = {}): SwarmService {
  return {
    ID: 'id1',
    Version: { Index: 5 },
    Spec: {
      Name: 'web',
      Labels: { 'swarm.controller/spec-hash': 'h1' },
      TaskTemplate: template,
      Mode: { Replicated: { Replicas: 2 } },
    },
    ...o,
  };
}
const task = (
  state: string,
  spec: unknown = { ContainerSpec: { Image: 'app:2' }, ForceUpdate: 0 },
  extra: Partial<SwarmTask> = {},
): SwarmTask => ({
  ID: `t${Math.random()}`,
  ServiceID: 'id1',
  DesiredState: 'running',
  Status: { State: state, Timestamp: '2026-01-01T00:00:00Z' },
  Spec: spec,
  ...extra,
});

/** A reader with the given states (the tests below override what they need). */
function scripted(states: { service: SwarmService; tasks: SwarmTask[] }[]): Partial<SwarmReader> {
  return { listNetworks: async () => [], getService: async () => states[0].service };
}

async function run(reader: SwarmReader, advance: (r: SwarmReader) => void, timeoutMs = 10_000) {
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:10Z'));
  const done = waitForConvergence(
    [{ id: 'Service/web', swarmName: 'web', specHash: 'h1', writtenAt: clock.now() }],
    reader,
    { timeoutMs, pollMs: 1000, clock },
  );
  for (let s = 0; s < 20; s++) {
    advance(reader);
    await clock.advance(1000);
  }
  return (await done)[0];
}

describe('waitForConvergence', () => {
  it('counts only running tasks on the current spec, ignoring fields Swarm leaves out of task specs', async () => {
    assert.equal(taskSpecKey(template), taskSpecKey({ ContainerSpec: { Image: 'app:2' }, ForceUpdate: 0 }));
    assert.notEqual(taskSpecKey(template), taskSpecKey({ ContainerSpec: { Image: 'app:1' } }));
    let step = 0;
    const states = [
      {
        service: svc({ UpdateStatus: { State: 'updating', StartedAt: '2026-01-01T00:00:11Z' } }),
        tasks: [task('running', { ContainerSpec: { Image: 'app:1' } }), task('running')],
      },
      {
        service: svc({ UpdateStatus: { State: 'completed', StartedAt: '2026-01-01T00:00:11Z' } }),
        tasks: [task('running'), task('running')],
      },
    ];
    const reader = {
      ...scripted(states),
      listServices: async () => [states[Math.min(step, 1)].service],
      listTasks: async () => states[Math.min(step, 1)].tasks,
    };
    const r = await run(reader as SwarmReader, () => {
      step++;
    });
    assert.equal(r.status, 'converged');
    assert.equal(r.detail, '2/2 tasks running');
  });

  it('waits for Swarm to start and finish an update that changed only the endpoint spec', async () => {
    // Ports changed: the tasks' template is the same before and after, so only the update's record tells.
    const before = { State: 'completed', StartedAt: '2026-01-01T00:00:02Z' }; // an earlier update
    const states = [
      { UpdateStatus: before },
      { UpdateStatus: before },
      { UpdateStatus: { State: 'updating', StartedAt: '2026-01-01T00:00:12Z' } },
      { UpdateStatus: { State: 'completed', StartedAt: '2026-01-01T00:00:12Z' } },
    ];
    let step = 0;
    let polls = 0;
    const reader = {
      ...scripted([]),
      listServices: async () => {
        polls++;
        return [svc(states[Math.min(step, 3)])];
      },
      listTasks: async () => [task('running'), task('running')],
    } as unknown as SwarmReader;
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:10Z'));
    const target = { id: 'Service/web', swarmName: 'web', specHash: 'h1', writtenAt: clock.now() };
    const waited = waitForConvergence([{ ...target, awaitUpdate: true }], reader, { timeoutMs: 20_000, clock });
    const plain = waitForConvergence([target], reader, { timeoutMs: 20_000, clock });
    for (let s = 0; s < 6; s++) {
      await clock.advance(1000);
      step++;
    }
    assert.equal((await plain)[0].status, 'converged'); // what the wait did before: at once, on the old tasks
    const r = (await waited)[0];
    assert.equal(r.status, 'converged');
    assert.ok(polls >= 4, `converged after ${polls} polls, before the update was recorded`);
    assert.ok(r.durationMs >= 3000, `converged after ${r.durationMs} ms`);
  });

  it('reports a rollback by Swarm as a failure naming the task error', async () => {
    const failed = task('failed', undefined, {
      DesiredState: 'shutdown',
      Slot: 2,
      Status: {
        State: 'failed',
        Err: 'task: non-zero exit (1)',
        Timestamp: '2026-01-01T00:00:12Z',
        ContainerStatus: { ExitCode: 1 },
      },
    });
    const s = svc({
      UpdateStatus: {
        State: 'rollback_started',
        StartedAt: '2026-01-01T00:00:11Z',
        Message: 'update rolled back due to failure',
      },
    });
    const reader = {
      listServices: async () => [s],
      listTasks: async (f?: { desiredState?: string }) => (f?.desiredState ? [] : [failed]),
    };
    const r = await run(reader as unknown as SwarmReader, () => {});
    assert.equal(r.status, 'failed');
    assert.equal(
      r.detail,
      'Swarm rolled the update back (rollback started: update rolled back due to failure); task web.2 failed: task: non-zero exit (1) (exit code 1)',
    );
  });

  it('reports a paused update, a spec changed by someone else, and a timeout', async () => {
    const paused = svc({
      UpdateStatus: { State: 'paused', StartedAt: '2026-01-01T00:00:11Z', Message: 'update paused due to failure' },
    });
    const r1 = await run(
      { listServices: async () => [paused], listTasks: async () => [] } as unknown as SwarmReader,
      () => {},
    );
    assert.deepEqual([r1.status, r1.detail], ['failed', 'the update is paused: update paused due to failure']);
    const other = svc({ Spec: { ...svc().Spec, Labels: { 'swarm.controller/spec-hash': 'someone-else' } } });
    const r2 = await run(
      { listServices: async () => [other], listTasks: async () => [] } as unknown as SwarmReader,
      () => {},
    );
    assert.match(r2.detail, /changed by someone else/);
    const slow = svc();
    const r3 = await run(
      { listServices: async () => [slow], listTasks: async () => [task('running')] } as unknown as SwarmReader,
      () => {},
      5000,
    );
    assert.deepEqual([r3.status, r3.detail], ['timeout', 'not converged after 5s: 1/2 tasks running the new spec']);
  });
});
