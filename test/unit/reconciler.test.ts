import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { liveVersions, Reconciler, type ReconcilerOptions } from '../../src/controller/reconciler.js';
import { LiveCache } from '../../src/controller/live-cache.js';
import { StatusStore } from '../../src/controller/status.js';
import { FakeClock } from '../../src/queue/clock.js';
import { desiredFrom, network, service } from '../helpers/manifests.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';

const text =
  network('net') + service('web', 'image: app:1\nreplicas: 2\nnetworks: [net]\nenv: {API_TOKEN: s3cr3t-value}');

function setup(drift: 'repair' | 'report') {
  const swarm = new FakeSwarm();
  const clock = new FakeClock();
  const status = new StatusStore({ identity: 't', applySet: 'set', source: 'test', driftMode: drift });
  const options: ReconcilerOptions = {
    applySet: 'set',
    drift,
    prune: true,
    allowReplace: false,
    maxDeletions: 10,
    timeoutMs: 1000,
  };
  const drifts: string[] = [];
  const cache = new LiveCache(swarm, clock, 0);
  const r = new Reconciler({
    swarm,
    cache,
    status,
    options,
    observer: { drift: (k, m) => drifts.push(`${k} ${m}`) },
  });
  r.desired = { revision: 'rev1', desired: desiredFrom(text) };
  return { swarm, status, r, drifts, cache };
}

async function converge(r: Reconciler): Promise<void> {
  for (const key of await r.allKeys()) await r.reconcile(key);
}

describe('reconciler', () => {
  it('reconciles by key, in dependency order when asked in the wrong order, and records the revision', async () => {
    const { swarm, r } = setup('repair');
    const first = await r.reconcile('Service/web');
    assert.deepEqual(first, { outcome: 'waiting', dependsOn: ['Network/net'] });
    await r.reconcile('Network/net');
    assert.equal((await r.reconcile('Service/web')).outcome, 'applied');
    assert.equal((await swarm.getService('web'))!.Spec.Labels!['swarm.controller/revision'], 'rev1');
    const writes = swarm.writes.length;
    await converge(r);
    assert.equal(swarm.writes.length, writes, 'a level reconcile of an in-sync object writes nothing');
  });

  it('repairs drift, or only reports it with drift=report, counting both', async () => {
    for (const mode of ['repair', 'report'] as const) {
      const { swarm, r, status, drifts } = setup(mode);
      await converge(r);
      const svc = [...swarm.services.values()][0];
      // As `docker service update` does: the engine raises the version index on every write.
      svc.Spec.TaskTemplate!.ContainerSpec!.Env = [...svc.Spec.TaskTemplate!.ContainerSpec!.Env!, 'DRIFT=1'];
      svc.Version = { Index: svc.Version.Index + 1 };
      const result = await r.reconcile('Service/web');
      assert.equal(result.outcome, mode === 'repair' ? 'applied' : 'reported');
      assert.deepEqual(drifts, [`Service ${mode === 'repair' ? 'repaired' : 'reported'}`]);
      const env = (await swarm.getService('web'))!.Spec.TaskTemplate!.ContainerSpec!.Env!;
      assert.equal(env.includes('DRIFT=1'), mode === 'report');
      if (mode === 'report')
        assert.match(status.object('Service/web')!.reason, /drifted from the manifests \(spec\.env\.DRIFT\)/);
      assert.doesNotMatch(JSON.stringify(status.toJSON()), /s3cr3t-value/, 'no secret value in status');
    }
  });

  it('plans an idle resync again only when a version changed, and still repairs an out-of-band change', async () => {
    const { swarm, r, drifts, cache } = setup('repair');
    await converge(r);
    await converge(r);
    const plans = r.plansBuilt;
    const writes = swarm.writes.length;
    cache.invalidate(); // as the periodic resync does: a fresh read of the Swarm, same versions, same plan
    await converge(r);
    assert.equal(r.plansBuilt, plans, 'a snapshot with the same versions is not planned again');
    assert.equal(swarm.writes.length, writes);
    const svc = [...swarm.services.values()][0];
    svc.Spec.Mode = { Replicated: { Replicas: 5 } }; // docker service scale web=5
    svc.Version = { Index: svc.Version.Index + 1 };
    cache.invalidate(); // the next resync
    assert.equal((await r.reconcile('Service/web')).outcome, 'applied');
    assert.equal(r.plansBuilt, plans + 1);
    assert.deepEqual(drifts, ['Service repaired']);
    assert.deepEqual((await swarm.getService('web'))!.Spec.Mode, { Replicated: { Replicas: 2 } });
    r.desired = { revision: 'rev2', desired: desiredFrom(text) }; // a new revision is always planned
    await r.reconcile('Service/web');
    assert.equal(r.plansBuilt, plans + 2);
  });

  it('liveVersions: equal for equal versions, different for a write, a replaced network or an unversioned object', () => {
    const state = (index: number, netId = 'n1', version: { Index: number } | null = { Index: 3 }) => ({
      apiVersion: '1.41',
      services: [{ ID: 's1', Version: { Index: index }, Spec: { Name: 'web' } }],
      networks: [{ Id: netId, Name: 'net' }],
      configs: [],
      secrets: [{ ID: 'x1', Version: version ?? (undefined as unknown as { Index: number }), Spec: { Name: 'k' } }],
      routeConfigs: [],
    });
    assert.equal(liveVersions(state(7)), liveVersions(state(7)));
    assert.notEqual(liveVersions(state(7)), liveVersions(state(8)));
    assert.notEqual(liveVersions(state(7)), liveVersions(state(7, 'n2')));
    assert.notEqual(liveVersions(state(7, 'n1', null)), liveVersions(state(7, 'n1', null)));
    const withConfig = (name: string, index: number) => ({
      ...state(7),
      configs: [{ ID: `c-${name}`, Version: { Index: index }, Spec: { Name: name } }],
    });
    assert.equal(
      liveVersions(withConfig('swarm-controller-lease.set', 1)),
      liveVersions(withConfig('swarm-controller-lease.set', 2)),
      'a lease renewal is not a change to plan',
    );
    assert.notEqual(liveVersions(withConfig('shop_conf.1a2b', 1)), liveVersions(withConfig('shop_conf.1a2b', 2)));
  });

  it('prunes an object removed from the manifests, but never everything', async () => {
    const { swarm, r } = setup('repair');
    await converge(r);
    r.desired = { revision: 'rev2', desired: desiredFrom(network('net')) };
    await converge(r);
    assert.deepEqual(
      [...swarm.services.values()].map((s) => s.Spec.Name),
      [],
    );
    r.desired = { revision: 'rev3', desired: { networks: [], services: [], routes: [], configs: [], secrets: [] } };
    assert.equal((await r.reconcile('Network/net')).outcome, 'blocked');
    assert.equal(swarm.networks.size, 1);
  });
});
