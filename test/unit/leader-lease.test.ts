import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { holdFraction, LeaderLease } from '../../src/controller/leader-lease.js';
import { fenceWrites, LeaseLapsedError } from '../../src/controller/fenced-swarm.js';
import type { SwarmAccess } from '../../src/api/swarm-access.js';
import { FakeClock } from '../../src/queue/clock.js';
import type { SwarmRecords } from '../../src/api/swarm-access.js';
import type { SwarmConfig } from '../../src/api/swarm-types.js';
import { TerminalError, TransientError } from '../../src/errors.js';

/** Configs with Swarm's semantics: unique names, label updates only at the current version. */
class FakeRecords implements SwarmRecords {
  configs = new Map<string, SwarmConfig>();
  version = 1;
  /** Writes that arrived after a partition healed and lost the compare-and-swap. */
  lateFailures = 0;
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

  it('fences a partitioned leader: it stops leading before a standby can take over, and rejoins as standby after the heal', async () => {
    const clock = new FakeClock(0);
    const records = new FakeRecords();
    const cut = new PartitionedRecords(records);
    const durationMs = 15_000;
    const a = new LeaderLease(cut, { name: 'l', identity: 'a', durationMs, clock });
    const b = new LeaderLease(records, { name: 'l', identity: 'b', durationMs, clock });
    const every = durationMs / 3;
    const inFlight = new Map<LeaderLease, Promise<boolean>>();
    /** One lease round per replica every third of the lease (a round still hanging is not doubled). */
    const rounds = async () => {
      for (const lease of [a, b]) {
        if (inFlight.has(lease)) continue;
        const p = lease.tryAcquireOrRenew().finally(() => inFlight.delete(lease));
        inFlight.set(lease, p);
      }
      await clock.advance(0);
    };
    const leaders: { t: number; a: boolean; b: boolean }[] = [];
    const step = async (until: number) => {
      while (clock.now() < until) {
        if (clock.now() % every === 0) await rounds();
        leaders.push({ t: clock.now(), a: a.isLeader, b: b.isLeader });
        await clock.advance(250);
      }
    };

    assert.equal(await a.tryAcquireOrRenew(), true, 'a takes the lease first');
    await step(10_000);
    assert.equal(a.isLeader, true, 'a renews it');
    assert.equal(b.isLeader, false);
    const lastRenewal = clock.now() - every; // a's round at 5 s succeeded
    cut.cut = true; // a's engine can no longer reach quorum: its calls hang
    await step(40_000);
    const aLost = leaders.find((x) => x.t > lastRenewal && !x.a)!.t;
    const bLeads = leaders.find((x) => x.b)!.t;
    assert.ok(aLost <= lastRenewal + durationMs * holdFraction, `a stopped leading at ${aLost} ms`);
    assert.ok(bLeads >= lastRenewal + durationMs, `b took over at ${bLeads} ms, not before the lease time`);
    assert.deepEqual(
      leaders.filter((x) => x.a && x.b),
      [],
      'never two leaders at once',
    );
    assert.ok(cut.waitingWrites > 0, "a's renewal is still held by its engine: the round was given up, not answered");

    // The partition heals: a's hung writes land late and lose the compare-and-swap; a stands by.
    const writesBefore = records.version;
    cut.heal();
    await step(60_000);
    assert.equal(a.isLeader, false);
    assert.equal(a.holder, 'b');
    assert.equal(b.isLeader, true, 'b keeps the lease');
    assert.equal(records.configs.get('l')!.Spec.Labels!['swarm.controller/lease-holder'], 'b');
    assert.ok(records.version > writesBefore, 'b went on renewing');
    assert.ok(records.lateFailures >= 1, "a's late writes were refused by the version check");
  });

  it('refuses writes once the lease has lapsed, before they leave the process; reads pass', async () => {
    let holds = true;
    const sent: string[] = [];
    const swarm = {
      listServices: async () => [],
      removeService: async (id: string) => void sent.push(`remove ${id}`),
      createNetwork: async () => {
        sent.push('create network');
        return 'n1';
      },
    } as unknown as SwarmAccess;
    const fenced = fenceWrites(swarm, () => holds);
    await fenced.removeService('s1');
    holds = false;
    await assert.rejects(fenced.removeService('s2'), LeaseLapsedError);
    await assert.rejects(fenced.createNetwork({ Name: 'x' } as never), /lease has lapsed/);
    assert.deepEqual(await fenced.listServices(), []);
    assert.deepEqual(sent, ['remove s1']);
  });
});

/**
 * A replica's view of the records through a manager cut off from quorum that still answers reads
 * from its own store (a Raft leader until it notices): while `cut`, every write waits; on `heal`
 * the waiting writes go through, late, as a held proposal would.
 */
class PartitionedRecords implements SwarmRecords {
  cut = false;
  private waiting: (() => void)[] = [];
  constructor(private readonly inner: FakeRecords) {}
  private async gate() {
    if (this.cut) await new Promise<void>((r) => this.waiting.push(r));
  }
  get waitingWrites() {
    return this.waiting.length;
  }
  heal() {
    this.cut = false;
    for (const w of this.waiting.splice(0)) w();
  }
  async findConfig(name: string) {
    return this.inner.findConfig(name);
  }
  async createConfig(name: string, labels: Record<string, string>) {
    await this.gate();
    return this.inner.createConfig(name, labels);
  }
  async updateConfigLabels(config: SwarmConfig, labels: Record<string, string>) {
    const wasCut = this.cut;
    await this.gate();
    try {
      await this.inner.updateConfigLabels(config, labels);
    } catch (err) {
      if (wasCut) this.inner.lateFailures++;
      throw err;
    }
  }
}
