import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Reconciler, type ReconcilerOptions } from '../../src/controller/reconciler.js';
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
  const r = new Reconciler({
    swarm,
    cache: new LiveCache(swarm, clock, 0),
    status,
    options,
    observer: { drift: (k, m) => drifts.push(`${k} ${m}`) },
  });
  r.desired = { revision: 'rev1', desired: desiredFrom(text) };
  return { swarm, status, r, drifts };
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
      svc.Spec.TaskTemplate!.ContainerSpec!.Env = [...svc.Spec.TaskTemplate!.ContainerSpec!.Env!, 'DRIFT=1'];
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
