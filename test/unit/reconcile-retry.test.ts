/**
 * Where `controller run` decides retries: the reconcile handler, over the reconciler, the work
 * queue and a FakeSwarm, on a fake clock. A terminal error is tried once, recorded as Stalled,
 * counted, and not requeued; a transient one is requeued with the queue's per-key backoff. The
 * task graph's retries belong to the CLI's apply only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyRetries, executePlan } from '../../src/apply/execute-plan.js';
import { LiveCache } from '../../src/controller/live-cache.js';
import { errorType, reconcileHandler } from '../../src/controller/reconcile-handler.js';
import { ActionFailedError, Reconciler } from '../../src/controller/reconciler.js';
import { StatusStore } from '../../src/controller/status.js';
import type { SwarmServiceSpec } from '../../src/api/swarm-types.js';
import {
  ConflictError,
  InUseError,
  NotFoundError,
  RegistryError,
  TerminalError,
  TransientError,
} from '../../src/errors.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { FakeClock } from '../../src/queue/clock.js';
import { WorkQueue } from '../../src/queue/work-queue.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { recordingLogger } from '../helpers/log-records.js';
import { desiredFrom, service } from '../helpers/manifests.js';

/** A Swarm whose service creates fail with the errors given, in order, then succeed; each attempt's time is kept. */
class FailingCreates extends FakeSwarm {
  attempts: number[] = [];
  constructor(
    private readonly clock: FakeClock,
    private readonly errors: Error[],
  ) {
    super();
  }
  override async createService(spec: SwarmServiceSpec): Promise<string> {
    this.attempts.push(this.clock.now());
    const e = this.errors.shift();
    if (e) throw e;
    return super.createService(spec);
  }
}

const web = service('web', 'image: app:1\nreplicas: 2');

function loop(errors: Error[]) {
  const clock = new FakeClock();
  const swarm = new FailingCreates(clock, errors);
  const status = new StatusStore({ identity: 't', applySet: 'set', source: 'test', driftMode: 'repair' }, () =>
    clock.now(),
  );
  const reconciler = new Reconciler({
    swarm,
    cache: new LiveCache(swarm, clock, 0),
    status,
    options: { applySet: 'set', drift: 'repair', prune: true, allowReplace: false, maxDeletions: 10, timeoutMs: 1000 },
  });
  reconciler.desired = { revision: 'rev1', desired: desiredFrom(web) };
  const queue = new WorkQueue({ clock });
  const counted: string[] = [];
  const logs = recordingLogger();
  queue.start(
    reconcileHandler({
      reconciler,
      queue,
      status,
      clock,
      log: logs.log,
      metrics: {
        queueDepth: () => undefined,
        reconcile: () => undefined,
        reconcileError: (kind, type) => counted.push(`${kind} ${type}`),
      },
      active: () => true,
    }),
  );
  return { clock, swarm, status, queue, counted, logs };
}

describe('the reconcile loop decides retries in one place', () => {
  it('tries a terminal error once, records it as Stalled with the reason, counts it, and does not requeue it', async () => {
    const { clock, swarm, status, queue, counted, logs } = loop([
      new TerminalError('SC5004', 'invalid mount config: bind source path does not exist: /nowhere'),
    ]);
    queue.add('Service/web');
    await clock.advance(3_600_000); // an hour: a requeue with any backoff would have run by now
    assert.deepEqual(swarm.attempts, [0], 'one attempt, no retry');
    assert.deepEqual(
      { phase: status.object('Service/web')?.phase, reason: status.object('Service/web')?.reason },
      {
        phase: 'Stalled',
        reason: 'create failed: SC5004: invalid mount config: bind source path does not exist: /nowhere',
      },
    );
    assert.deepEqual(counted, ['Service terminal']);
    assert.equal(queue.numRequeues('Service/web'), 0);
    assert.equal(clock.pending, 0, 'nothing is scheduled for the key');
    const record = logs.records().find((r) => r.key === 'Service/web' && r.level === 50);
    assert.equal(record?.errorType, 'terminal', JSON.stringify(logs.records()));
    assert.equal(status.toJSON().counts.Stalled, 1);

    // Something changed (an event on the object, a new revision, the resync): the key runs again.
    queue.add('Service/web');
    await clock.advance(0);
    assert.deepEqual(swarm.attempts, [0, 3_600_000]);
    assert.equal(status.object('Service/web')?.phase, 'Progressing');
  });

  it('requeues a transient error with the per-key backoff (5, 10, 20 ms) until it succeeds', async () => {
    const { clock, swarm, status, queue, counted } = loop([
      new TransientError('connection reset'),
      new ConflictError('update out of sequence'),
      new InUseError('network in use'),
    ]);
    queue.add('Service/web');
    await clock.advance(0);
    assert.equal(status.object('Service/web')?.phase, 'Failed');
    assert.equal(status.object('Service/web')?.reason, 'create failed: connection reset');
    await clock.advance(1000);
    assert.deepEqual(swarm.attempts, [0, 5, 15, 35]);
    assert.deepEqual(counted, ['Service transient', 'Service transient', 'Service transient']);
    assert.equal(status.object('Service/web')?.phase, 'Progressing');
    assert.equal(queue.numRequeues('Service/web'), 0, 'success resets the backoff');
  });

  it('classifies by the first typed error in the cause chain; an unknown error is transient', () => {
    const object = { id: 'Service/web', kind: 'Service', swarmName: 'web', revision: 'r' };
    const wrapped = (cause: unknown) => new ActionFailedError(object, 'create', 'x', cause);
    assert.equal(errorType(wrapped(new NotFoundError('network', 'n1', 'network n1 not found'))), 'terminal');
    assert.equal(errorType(wrapped(new RegistryError('unauthorized', 'a:1', 'r.example', 'no', 'login'))), 'terminal');
    assert.equal(errorType(wrapped(new ConflictError('update out of sequence'))), 'transient');
    assert.equal(errorType(wrapped(new Error('socket hang up'))), 'transient');
    assert.equal(errorType(new TransientError('lost', new TerminalError('SC5004', 'inner'))), 'transient');
    assert.equal(errorType('not an error'), 'transient');
  });

  it('the task graph retries only when asked: the CLI apply passes applyRetries, the loop passes nothing', async () => {
    const desired = desiredFrom(web);
    for (const [retry, attempts] of [
      [undefined, 1],
      [{ ...applyRetries, baseDelayMs: 1, jitter: false }, 3],
    ] as const) {
      const clock = new FakeClock();
      const swarm = new FailingCreates(clock, [new TransientError('connection reset'), new TransientError('reset')]);
      const plan = buildPlan(desired, await swarm.readLiveState(), { applySet: 'set' });
      const running = executePlan(plan, swarm, { clock, ...(retry ? { retry } : {}) });
      await clock.advance(1000);
      const [outcome] = await running;
      assert.equal(outcome.attempts, attempts);
      assert.equal(outcome.status, attempts === 1 ? 'failed' : 'succeeded');
      if (attempts === 1) assert.ok(outcome.error instanceof TransientError, 'the typed error is kept');
    }
  });
});
