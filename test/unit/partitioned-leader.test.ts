/**
 * `controller run`'s loop when its engine is cut off from the other managers: every call that
 * needs quorum (the lease's renewal, the suspend record's read, every write) waits until the
 * partition heals, as a manager without quorum holds them. The leader must stop acting as leader
 * by 80% of the lease after its last renewal began, say so (status, log) while the cut lasts,
 * send no write after that, lead again after the heal and apply the revision it loaded as a
 * standby (a lease that lapsed between rounds and was taken again starts a sync). The loop (manager, apply
 * set loop, revision sync, reconciler) over a FakeSwarm on a FakeClock.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SwarmConfig, SwarmServiceSpec } from '../../src/api/swarm-types.js';
import { holdFraction } from '../../src/controller/leader-lease.js';
import { FakeClock } from '../../src/queue/clock.js';
import { directorySource } from '../../src/source/index.js';
import { eventually } from '../helpers/eventually.js';
import { RunnableFakeSwarm } from '../helpers/fake-swarm.js';
import { service } from '../helpers/manifests.js';
import { startLoop, testSettings, type RunningLoop } from '../helpers/run-loop.js';

/** A FakeSwarm whose quorum calls wait while `cut`, and go through when healed. */
class PartitionableSwarm extends RunnableFakeSwarm {
  cut = false;
  /** Calls held by the cut, by name and the clock's time when sent. */
  held: { call: string; at: number }[] = [];
  private waiting: (() => void)[] = [];
  constructor(private readonly clock: FakeClock) {
    super();
  }
  private async quorum(call: string): Promise<void> {
    if (!this.cut) return;
    this.held.push({ call, at: this.clock.now() });
    await new Promise<void>((r) => this.waiting.push(r));
  }
  heal(): void {
    this.cut = false;
    for (const w of this.waiting.splice(0)) w();
  }
  override async findConfig(name: string): Promise<SwarmConfig | undefined> {
    await this.quorum(`findConfig ${name}`);
    return super.findConfig(name);
  }
  override async updateConfigLabels(config: SwarmConfig, labels: Record<string, string>): Promise<void> {
    await this.quorum(`updateConfigLabels ${config.Spec.Name}`);
    return super.updateConfigLabels(config, labels);
  }
  override async createService(spec: SwarmServiceSpec): Promise<string> {
    await this.quorum(`createService ${spec.Name}`);
    return super.createService(spec);
  }
  override async updateService(id: string, versionIndex: number, spec: SwarmServiceSpec): Promise<void> {
    await this.quorum(`updateService ${spec.Name}`);
    return super.updateService(id, versionIndex, spec);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sc-partition-'));
const web = (image: string) => service('web', `image: ${image}\nreplicas: 0`, '  namespace: unit\n');

describe('controller run: the leader cut off from quorum', () => {
  const clock = new FakeClock(1_000_000);
  const swarm = new PartitionableSwarm(clock);
  let running: RunningLoop | undefined;
  after(async () => {
    swarm.heal();
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const until = (check: () => boolean, what: string) =>
    eventually(check, 10_000, what, {
      intervalMs: 5,
      detail: () => `held: ${JSON.stringify(swarm.held)}; writes: ${JSON.stringify(swarm.writes)}`,
    });
  const image = () =>
    [...swarm.services.values()].find((s) => s.Spec.Name === 'unit_web')?.Spec.TaskTemplate?.ContainerSpec?.Image;

  it('stands down within 80% of the lease, sends no write after that while cut, leads again after the heal and applies what it loaded', async () => {
    const leaseMs = testSettings.leaseDurationMs;
    writeFileSync(join(dir, 'web.yaml'), web('app:1'));
    running = startLoop({
      swarm,
      source: directorySource(dir),
      clock,
      settings: { applySet: 'cut', pollIntervalMs: 2_000 },
    });
    const { loop, logs } = running;
    await until(() => image() === 'app:1', 'the first revision applied');
    assert.equal(loop.isLeader, true);
    // one more lease round, so that the last renewal began at a known time
    const renewed = swarm.writes.filter((w) => w.startsWith('updateConfigLabels')).length;
    let lastRoundStart = clock.now();
    while (swarm.writes.filter((w) => w.startsWith('updateConfigLabels')).length === renewed) {
      lastRoundStart = clock.now();
      await clock.advance(50);
    }
    const writesBefore = swarm.writes.length;

    swarm.cut = true;
    const cutAt = clock.now();
    writeFileSync(join(dir, 'web.yaml'), web('app:2'));
    let stoodDown: number | undefined;
    while (clock.now() < cutAt + 3_000) {
      await clock.advance(50);
      if (stoodDown === undefined && !loop.isLeader) stoodDown = clock.now();
    }
    assert.ok(stoodDown !== undefined, 'it stood down while cut');
    assert.ok(
      stoodDown <= lastRoundStart + leaseMs * holdFraction + 50,
      `stood down ${stoodDown - lastRoundStart} ms after its last renewal began (lease ${leaseMs} ms)`,
    );
    // it says so while the cut lasts: the lease rounds go on although the record reads hang
    await until(() => loop.status.role === 'standby', 'status to say standby');
    assert.ok(
      logs.records().some((r) => r.event === 'standby'),
      'the stand-down is logged during the cut',
    );
    const held = JSON.stringify(swarm.held);
    assert.ok(
      swarm.held.filter((c) => c.call.endsWith('swarm-controller-lease.cut')).length >= 2,
      `lease rounds went on and were held: ${held}`,
    );
    // a write sent while the lease still held may wait in the engine (a manager without quorum
    // commits nothing of it); after the stand-down none is sent at all
    assert.deepEqual(
      swarm.held.filter((c) => !c.call.startsWith('findConfig') && c.at >= stoodDown),
      [],
      `no write sent after the stand-down: ${held}`,
    );
    assert.equal(swarm.writes.length, writesBefore, 'nothing was written while cut');
    assert.equal(image(), 'app:1');

    swarm.heal();
    // (real ticks too: the directory source reads real files, which fake steps alone can
    // outpace on a loaded machine; CI once saw the revision unread after 10 s of fake steps)
    const onClock = { clock, intervalMs: 100, realTickMs: 5 };
    await eventually(
      () => loop.isLeader,
      60_000,
      'it leads again after the heal: no other replica took the lease',
      onClock,
    );
    // the revision it loaded as a standby is applied on taking the lease again
    await eventually(() => image() === 'app:2', 60_000, 'the revision loaded as a standby applied', {
      ...onClock,
      detail: () => JSON.stringify(loop.status.toJSON().syncs),
    });
  });
});
