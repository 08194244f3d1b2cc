import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LiveCache } from '../../src/controller/live-cache.js';
import { Reconciler } from '../../src/controller/reconciler.js';
import { StatusStore } from '../../src/controller/status.js';
import type { LiveState } from '../../src/api/swarm-types.js';
import { FakeClock } from '../../src/queue/clock.js';
import { desiredFrom, network, service } from '../helpers/manifests.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';

/** A reader that counts its reads; each read takes `readMs` of the fake clock. */
function counting(clock: FakeClock, readMs = 0) {
  const reader = {
    reads: 0,
    async readLiveState(): Promise<LiveState> {
      reader.reads++;
      if (readMs) await clock.advance(readMs);
      return { networks: [], services: [], configs: [], secrets: [], routeConfigs: [] };
    },
  };
  return reader;
}

describe('live cache', () => {
  it('re-reads for a caller only when a name it depends on changed; get() when anything changed', async () => {
    const clock = new FakeClock();
    const reader = counting(clock);
    const cache = new LiveCache(reader, clock, 1000);
    const first = await cache.get();
    cache.changed('a');
    assert.equal(await cache.getUnless((c) => c.has('b')), first, 'b did not change: same snapshot');
    assert.equal(reader.reads, 1);
    const second = await cache.getUnless((c) => c.has('a'));
    assert.notEqual(second, first);
    assert.equal(reader.reads, 2);
    assert.equal(await cache.getUnless((c) => c.has('a')), second, 'the fresh read cleared what changed');
    cache.changed('z');
    await cache.get();
    assert.equal(reader.reads, 3, 'get() re-reads after any change');
    cache.invalidate();
    await cache.getUnless(() => false);
    assert.equal(reader.reads, 4, 'invalidate() drops the snapshot for every caller');
  });

  it('keeps a snapshot for five times as long as its read took, and at least the age limit', async () => {
    const clock = new FakeClock();
    const reader = counting(clock, 400);
    const cache = new LiveCache(reader, clock, 1000);
    await cache.get(); // the read took 400 ms: the limit becomes 2,000 ms
    await clock.advance(1500);
    await cache.get();
    assert.equal(reader.reads, 1);
    await clock.advance(1000);
    await cache.get();
    assert.equal(reader.reads, 2);
  });

  it('a burst of creations reads the Swarm again only when a key depends on what was written', async () => {
    const swarm = new FakeSwarm();
    let reads = 0;
    const read = swarm.readLiveState.bind(swarm);
    swarm.readLiveState = () => (reads++, read());
    const clock = new FakeClock();
    let text = network('net');
    for (let i = 0; i < 30; i++) text += service(`s${i}`, 'image: app:1\nreplicas: 0\nnetworks: [net]');
    const r = new Reconciler({
      swarm,
      cache: new LiveCache(swarm, clock, 1000),
      status: new StatusStore({ identity: 't', applySet: 'set', source: 'test', driftMode: 'repair' }),
      options: {
        applySet: 'set',
        drift: 'repair',
        prune: true,
        allowReplace: false,
        maxDeletions: 10,
        timeoutMs: 1000,
      },
    });
    r.desired = { revision: 'rev1', desired: desiredFrom(text) };
    const keys = await r.allKeys();
    for (const key of keys) assert.equal((await r.reconcile(key)).outcome, 'applied', key);
    assert.equal(swarm.services.size, 30);
    // allKeys and the network: one read; the first service after the network was created: one more.
    assert.equal(reads, 2, `${reads} reads for 31 creations`);
    for (const key of keys) assert.equal((await r.reconcile(key)).outcome, 'in-sync', key);
    assert.equal(reads, 3, 'the check after the burst reads once (the services written), not once per key');
  });
});
