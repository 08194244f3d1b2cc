import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderLease } from '../../src/controller/leader-lease.js';
import { FakeClock } from '../../src/queue/clock.js';
import type { SwarmRecords } from '../../src/api/swarm-access.js';
import type { SwarmConfig } from '../../src/api/swarm-types.js';
import { TerminalError, TransientError } from '../../src/errors.js';

/** Configs with Swarm's semantics: unique names, label updates only at the current version. */
class FakeRecords implements SwarmRecords {
  configs = new Map<string, SwarmConfig>();
  private version = 1;
  async findConfig(name: string) {
    const c = this.configs.get(name);
    return c && structuredClone(c);
  }
  async createConfig(name: string, labels: Record<string, string>) {
    if (this.configs.has(name)) throw Object.assign(new TerminalError('SC5004', 'config exists'), { statusCode: 409 });
    this.configs.set(name, { ID: name, Version: { Index: this.version++ }, Spec: { Name: name, Labels: labels } });
    return name;
  }
  async updateConfigLabels(config: SwarmConfig, labels: Record<string, string>) {
    const c = this.configs.get(config.Spec.Name)!;
    if (c.Version.Index !== config.Version.Index) throw new TransientError('update out of sequence');
    c.Spec.Labels = labels;
    c.Version = { Index: this.version++ };
  }
}

describe('leader lease', () => {
  it('lets exactly one of two replicas lead, and the other take over after the lease time', async () => {
    const clock = new FakeClock(1_000_000);
    const records = new FakeRecords();
    const a = new LeaderLease(records, { name: 'l', identity: 'a', durationMs: 15_000, clock });
    const b = new LeaderLease(records, { name: 'l', identity: 'b', durationMs: 15_000, clock });
    const [ra, rb] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    assert.equal(Number(ra) + Number(rb), 1);
    const leader = ra ? a : b,
      standby = ra ? b : a;
    for (let t = 0; t < 4; t++) {
      await clock.advance(5_000);
      assert.equal(await leader.tryAcquireOrRenew(), true);
      assert.equal(await standby.tryAcquireOrRenew(), false, 'a renewed lease is not taken');
    }
    // the leader dies: its record stops changing
    await clock.advance(5_000);
    assert.equal(await standby.tryAcquireOrRenew(), false);
    await clock.advance(10_000);
    assert.equal(await standby.tryAcquireOrRenew(), true, 'taken once unchanged for the lease time');
    assert.equal(await leader.tryAcquireOrRenew(), false, 'the old leader sees the new holder');
  });

  it('hands over at once when the leader releases the lease', async () => {
    const clock = new FakeClock();
    const records = new FakeRecords();
    const a = new LeaderLease(records, { name: 'l', identity: 'a', durationMs: 15_000, clock });
    const b = new LeaderLease(records, { name: 'l', identity: 'b', durationMs: 15_000, clock });
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(await b.tryAcquireOrRenew(), false);
    await a.release();
    assert.equal(await b.tryAcquireOrRenew(), true);
  });
});
