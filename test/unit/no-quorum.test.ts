/**
 * `controller run`'s loop when the Swarm loses quorum (two of three managers down): every call
 * that needs a Raft leader is refused at once with the engine's "no leader" error, which
 * src/swarm/ types as SwarmUnavailableError no-quorum. The controller must stop leading, say in
 * its status which condition holds and since when, look at the Swarm no more often than the
 * outage policy allows (swarm-outage.ts), send nothing else meanwhile (no write; its polls start
 * no sync of a new revision, which would read the Swarm), and once quorum returns lead
 * again and apply the revision that arrived during the outage. The loop over a FakeSwarm on a
 * FakeClock; test/cluster/three-managers.test.ts does the same with real engines.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SwarmConfig, SwarmService, SwarmServiceSpec } from '../../src/api/swarm-types.js';
import { SwarmUnavailableError } from '../../src/errors.js';
import { attemptsWithin, healthText, outageBackoff } from '../../src/controller/swarm-outage.js';
import { FakeClock } from '../../src/queue/clock.js';
import { directorySource } from '../../src/source/index.js';
import { eventually } from '../helpers/eventually.js';
import { RunnableFakeSwarm } from '../helpers/fake-swarm.js';
import { service } from '../helpers/manifests.js';
import { startLoop, testSettings, type RunningLoop } from '../helpers/run-loop.js';

const noLeader =
  "GET /configs: rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online.";

/** A FakeSwarm whose quorum calls are refused while `down`, each counted with the clock's time. */
class QuorumlessSwarm extends RunnableFakeSwarm {
  down = false;
  refused: { call: string; at: number }[] = [];
  constructor(private readonly clock: FakeClock) {
    super();
  }
  private quorum(call: string): void {
    if (!this.down) return;
    this.refused.push({ call, at: this.clock.now() });
    throw new SwarmUnavailableError('no-quorum', noLeader);
  }
  override async findConfig(name: string): Promise<SwarmConfig | undefined> {
    this.quorum(`findConfig ${name}`);
    return super.findConfig(name);
  }
  override async updateConfigLabels(config: SwarmConfig, labels: Record<string, string>): Promise<void> {
    this.quorum(`updateConfigLabels ${config.Spec.Name}`);
    return super.updateConfigLabels(config, labels);
  }
  override async listServices(): Promise<SwarmService[]> {
    this.quorum('listServices');
    return super.listServices();
  }
  override async updateService(id: string, versionIndex: number, spec: SwarmServiceSpec): Promise<void> {
    this.quorum(`updateService ${spec.Name}`);
    return super.updateService(id, versionIndex, spec);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sc-noquorum-'));
const web = (image: string) => service('web', `image: ${image}\nreplicas: 0`, '  namespace: unit\n');

describe('the outage policy', () => {
  it('allows at most attemptsWithin(policy, ms) looks in an outage of ms, fewer than looking every round', () => {
    const p = outageBackoff(1000);
    assert.equal(attemptsWithin(p, 0), 1);
    // shortest waits (80% for jitter): 800, 1600, 2400, 2400, ... (up to the lease, 3000)
    assert.equal(attemptsWithin(p, 799), 1);
    assert.equal(attemptsWithin(p, 800), 2);
    assert.equal(attemptsWithin(p, 2400), 3);
    assert.equal(attemptsWithin(p, 4800), 4);
    assert.equal(attemptsWithin(p, 60_000), 27);
    assert.ok(attemptsWithin(p, 600_000) < 600_000 / 1000 / 2);
    const events = outageBackoff(1000, 10_000); // 800, 1600, 3200, 6400, 8000, ...
    assert.equal(attemptsWithin(events, 60_000), 11);
  });
});

describe('controller run: the Swarm without quorum', () => {
  const clock = new FakeClock(1_000_000);
  const swarm = new QuorumlessSwarm(clock);
  let running: RunningLoop | undefined;
  after(async () => {
    swarm.down = false;
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const image = () =>
    [...swarm.services.values()].find((s) => s.Spec.Name === 'unit_web')?.Spec.TaskTemplate?.ContainerSpec?.Image;

  it('says it cannot write (which condition, since when), backs off, writes nothing, and applies the revision of the outage once quorum returns', async () => {
    const leaseMs = testSettings.leaseDurationMs;
    writeFileSync(join(dir, 'web.yaml'), web('app:1'));
    running = startLoop({
      swarm,
      source: directorySource(dir),
      clock,
      settings: { applySet: 'nq', pollIntervalMs: 2_000 },
    });
    const { loop, manager, logs } = running;
    await eventually(() => image() === 'app:1', 10_000, 'the first revision applied', { intervalMs: 5 });
    assert.equal(manager.outage.status.writable, true);
    const writesBefore = swarm.writes.length;

    swarm.down = true;
    const downAt = clock.now();
    writeFileSync(join(dir, 'web.yaml'), web('app:2'));
    const outageMs = 60_000;
    while (clock.now() < downAt + outageMs) await clock.advance(50);

    const s = manager.outage.status;
    assert.equal(s.writable, false);
    assert.equal(s.condition, 'no-quorum');
    assert.match(s.reason ?? '', /does not have a leader/);
    const since = Date.parse(s.since!);
    assert.ok(since >= downAt && since <= downAt + leaseMs, `since ${since - downAt} ms after the managers went`);
    assert.equal(loop.isLeader, false, 'it stopped leading');
    assert.match(healthText(s), /^ok: serving status, but the Swarm cannot take writes: no-quorum since /);
    assert.equal(
      logs.records().filter((r) => r.event === 'swarm.unavailable').length,
      1,
      'the outage is logged once at its start',
    );
    // backoff: the looks (lease rounds) of the outage, from its first, within the policy's bound
    const rounds = swarm.refused.filter((c) => c.call === 'findConfig swarm-controller-lease.nq');
    const bound = attemptsWithin(outageBackoff(Math.floor(leaseMs / 3)), clock.now() - rounds[0].at);
    assert.ok(rounds.length <= bound, `${rounds.length} lease rounds in ${outageMs} ms; the policy allows ${bound}`);
    assert.ok(rounds.length < outageMs / (leaseMs / 3) / 2, `${rounds.length} rounds: it backed off`);
    assert.equal(s.failedLooks, rounds.length);
    // nothing else was asked of the Swarm: no write, and no sync of the new revision (its polls wait for the Swarm)
    assert.deepEqual(
      swarm.refused.filter((c) => !/^findConfig swarm-controller-(lease|state)\.nq$/.test(c.call)),
      [],
      `only the lease rounds' reads were sent: ${JSON.stringify(swarm.refused)}`,
    );
    assert.ok(swarm.refused.length <= 2 * rounds.length);
    assert.equal(swarm.writes.length, writesBefore, 'nothing was written');

    swarm.down = false;
    const upAt = clock.now();
    // (real ticks too: the directory source reads real files, which fake steps alone can outpace)
    await eventually(() => image() === 'app:2', 40_000, 'the revision that came during the outage applied', {
      clock,
      intervalMs: 100,
      realTickMs: 5,
    });
    assert.equal(loop.isLeader, true);
    const r = manager.outage.status;
    assert.equal(r.writable, true);
    assert.ok(
      Date.parse(r.recoveredAt!) - upAt <= 1.2 * leaseMs + 100,
      'the next look after the return comes within a lease (the longest wait, with its jitter)',
    );
    assert.ok((r.lastOutageSeconds ?? 0) >= outageMs / 1000 - leaseMs / 1000);
    assert.equal(healthText(r), 'ok\n');
    assert.ok(logs.records().some((x) => x.event === 'swarm.recovered'));
  });
});
