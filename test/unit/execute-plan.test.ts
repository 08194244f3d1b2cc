import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { executePlan, PlanBlockedError } from '../../src/apply/execute-plan.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { NotFoundError, TerminalError, TransientError } from '../../src/errors.js';
import { desiredFrom, network, service } from '../helpers/manifests.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';

const fast = { retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5, jitter: false }, pollMs: 1, timeoutMs: 1000 };
const text =
  network('backend') +
  service('web', 'image: app:1\nreplicas: 2\nnetworks: [backend]') +
  service('worker', 'image: app:1');

async function apply(swarm: FakeSwarm, manifests: string, o: Parameters<typeof buildPlan>[2] = { applySet: 'shop' }) {
  const desired = desiredFrom(manifests);
  const plan = buildPlan(desired, await swarm.readLiveState(), o);
  return { plan, outcomes: await executePlan(plan, swarm, fast) };
}

describe('executePlan', () => {
  it('creates networks before the services that use them, and a second apply writes nothing', async () => {
    const swarm = new FakeSwarm();
    const first = await apply(swarm, text);
    assert.deepEqual(
      first.outcomes.map((o) => `${o.change.id} ${o.status} ${o.detail}`),
      ['Network/backend succeeded created', 'Service/web succeeded created', 'Service/worker succeeded created'],
    );
    assert.ok(swarm.writes.indexOf('createNetwork backend') < swarm.writes.indexOf('createService web'));
    const writes = swarm.writes.length;
    const second = await apply(swarm, text);
    assert.deepEqual(second.plan.changes, []);
    assert.equal(swarm.writes.length, writes);
  });

  it('re-reads and retries after a version conflict', async () => {
    const swarm = new FakeSwarm();
    await apply(swarm, text);
    swarm.failNext.updateService = [new TransientError('update out of sequence')];
    const { outcomes } = await apply(swarm, text.replace('replicas: 2', 'replicas: 4'));
    assert.deepEqual(
      outcomes.map((o) => `${o.change.action} ${o.status} ${o.attempts}`),
      ['scale succeeded 2'],
    );
    assert.equal((await swarm.getService('web'))!.Spec.Mode!.Replicated!.Replicas, 4);
  });

  it('does not write when another writer already made the change between plan and apply', async () => {
    const swarm = new FakeSwarm();
    await apply(swarm, text);
    const desired = desiredFrom(text.replace('replicas: 2', 'replicas: 3'));
    const plan = buildPlan(desired, await swarm.readLiveState(), { applySet: 'shop' });
    await executePlan(plan, swarm, fast);
    const writes = swarm.writes.length;
    const outcomes = await executePlan(plan, swarm, fast);
    assert.equal(outcomes[0].detail, 'already up to date');
    assert.equal(swarm.writes.length, writes);
  });

  it('deletes services before their network when pruning, retrying while the network is in use', async () => {
    const swarm = new FakeSwarm();
    await apply(swarm, text);
    const { outcomes } = await apply(swarm, service('worker', 'image: app:1'), { applySet: 'shop', prune: true });
    assert.deepEqual(
      outcomes.map((o) => `${o.change.action} ${o.change.id} ${o.status}`),
      ['delete Service/web succeeded', 'delete Network/backend succeeded'],
    );
    assert.deepEqual(swarm.writes.slice(-2), ['removeService web', 'removeNetwork backend']);
  });

  it('reports a terminal failure and skips what depends on it', async () => {
    const swarm = new FakeSwarm();
    swarm.failNext.createNetwork = [new Error('invalid pool request')];
    const { outcomes } = await apply(swarm, text);
    assert.deepEqual(
      outcomes.map((o) => `${o.change.id} ${o.status}`),
      ['Network/backend failed', 'Service/web skipped', 'Service/worker succeeded'],
    );
    assert.match(outcomes[1].detail, /skipped: Network\/backend failed/);
  });

  it('names the network and says to plan again when a network the plan counted on is gone (SC5006)', async () => {
    const swarm = new FakeSwarm();
    await apply(swarm, network('backend') + service('worker', 'image: app:1'));
    const backendId = (await swarm.listNetworks()).find((n) => n.Name === 'backend')!.Id;
    // What engine 20.10 answers when the listed network was in fact removed a moment before.
    swarm.failNext.createService = [
      new NotFoundError('network', backendId, `POST /services/create: network ${backendId} not found`),
    ];
    const { outcomes } = await apply(swarm, text);
    const web = outcomes.find((o) => o.change.id === 'Service/web')!;
    assert.equal(web.status, 'failed');
    assert.match(web.detail, /SC5006/);
    assert.match(web.detail, /service "web" needs network "backend", which is no longer in the Swarm/);
    assert.match(web.detail, /Run the plan again/);
    assert.equal(web.attempts, 1, 'not retried: only a new plan can create the network');
  });

  it('passes other refusals of a service create through unchanged', async () => {
    const swarm = new FakeSwarm();
    swarm.failNext.createService = [new TerminalError('SC5004', 'POST /services/create: invalid mount config')];
    const { outcomes } = await apply(swarm, service('worker', 'image: app:1'));
    assert.equal(outcomes[0].status, 'failed');
    assert.match(outcomes[0].detail, /invalid mount config/);
    assert.doesNotMatch(outcomes[0].detail, /SC5006/);
  });

  it('writes nothing when the plan has blockers', async () => {
    const swarm = new FakeSwarm();
    await apply(swarm, text, { applySet: 'billing' });
    const writes = swarm.writes.length;
    const desired = desiredFrom(text);
    const plan = buildPlan(desired, await swarm.readLiveState(), { applySet: 'shop' });
    await assert.rejects(executePlan(plan, swarm, fast), PlanBlockedError);
    assert.equal(swarm.writes.length, writes);
  });
});
