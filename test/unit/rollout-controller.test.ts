import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { bucketIndex, latencyBoundsMs } from '../../src/proxy/latency-histogram.js';
import type { ServerTraffic, TrafficStats } from '../../src/proxy/traffic-counters.js';
import { FakeClock } from '../../src/queue/clock.js';
import { defaultThresholds } from '../../src/rollout/analysis.js';
import { RolloutController, type RolloutEvent } from '../../src/rollout/rollout-controller.js';
import { RolloutRecords, type RolloutState } from '../../src/rollout/rollout-record.js';
import { RunnableFakeSwarm as FakeSwarm } from '../helpers/fake-swarm.js';

const log = createLogger({ level: 'silent' });
const route = 'shop/web';

/** The proxy's counters, growing as traffic is "served": per service, requests, errors and a response time. */
class FakeProxy {
  private readonly servers = new Map<string, ServerTraffic>();
  constructor(private readonly epoch = 'e1') {}

  serve(service: string, requests: number, errors: number, ms: number): void {
    const s = this.servers.get(service) ?? {
      service,
      task: `${service}.t1`,
      server: `${service}_1`,
      address: '10.213.0.9:8080',
      inTable: true,
      requests: 0,
      responses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 },
      redispatched: 0,
      responseTime: { count: 0, sumMs: 0, buckets: [] },
      health: { status: 'UP', check: 'L7OK' },
    };
    s.requests += requests;
    s.responses['5xx'] += errors;
    s.responses['2xx'] += requests - errors;
    const b = bucketIndex(ms);
    const at = s.responseTime.buckets.find(([i]) => i === b);
    if (at) at[1] += requests;
    else s.responseTime.buckets.push([b, requests]);
    s.responseTime.count += requests;
    this.servers.set(service, s);
  }

  /** HAProxy's view of the service's server (its health check). */
  health(service: string, status: string, check: string): void {
    this.serve(service, 0, 0, 0);
    this.servers.get(service)!.health = { status, check };
  }

  stats(): TrafficStats {
    return structuredClone({
      epoch: this.epoch,
      startedAt: '',
      sampledAt: '',
      latencyBoundsMs: [...latencyBoundsMs],
      routes: [
        {
          route,
          backend: 'rt_shop:web',
          inTable: true,
          unattributed: {
            requests: 0,
            responses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 },
            redispatched: 0,
          },
          servers: [...this.servers.values()],
        },
      ],
      unrouted: { requests: 0, responses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 } },
      collection: {
        logLines: 0,
        unparsedLines: 0,
        haproxyMessages: 0,
        droppedByKernel: 0,
        droppedByHaproxy: 0,
        statsReads: 0,
        statsErrors: 0,
        lastStatsError: null,
        workers: [],
      },
    } as TrafficStats);
  }
}

/** A rollout recorded at step 2 of 3 (50%) by a leader that is gone, its canary running. */
async function midRollout(swarm: FakeSwarm, clock: FakeClock): Promise<RolloutState> {
  const state: RolloutState = {
    service: 'shop_web',
    canary: 'shop_web-canary',
    route,
    applySet: 'shop',
    key: 'Service/shop/web',
    strategy: 'canary',
    phase: 'progressing',
    step: 1,
    steps: [
      { weight: 10, holdMs: 10_000 },
      { weight: 50, holdMs: 10_000 },
      { weight: 100, holdMs: 10_000 },
    ],
    canaryWeight: 50,
    targetHash: 'h2',
    revision: 'rev2',
    startedAt: clock.now() - 60_000,
    stepStartedAt: clock.now() - 4_000,
    updatedAt: clock.now() - 4_000,
    reason: 'step 2/3 (50%) started',
    writer: 'old-leader',
    thresholds: { ...defaultThresholds, latency: [{ quantile: 0.5, maxRatio: 1.5 }] },
    intervalMs: 2000,
    maxExtensionMs: 60_000,
    startTimeoutMs: 60_000,
    canaryReplicas: 1,
  };
  await new RolloutRecords(swarm, clock).update('shop_web', () => state);
  const id = await swarm.createService({ Name: 'shop_web-canary', Labels: { 'swarm.controller/spec-hash': 'h2' } });
  swarm.tasks.push({ ID: 't1', ServiceID: id, DesiredState: 'running', Status: { State: 'running' } });
  return state;
}

/** A rollout that has just started: step 1, no weight yet, its canary running. */
async function justStarted(swarm: FakeSwarm, clock: FakeClock, extra: Partial<RolloutState> = {}): Promise<void> {
  const state = await midRollout(swarm, clock);
  await new RolloutRecords(swarm, clock).update('shop_web', () => ({
    ...state,
    step: 0,
    canaryWeight: 0,
    startedAt: clock.now(),
    stepStartedAt: clock.now(),
    ...extra,
  }));
}

function controller(swarm: FakeSwarm, clock: FakeClock, proxy: FakeProxy, events: RolloutEvent[]) {
  const records = new RolloutRecords(swarm, clock);
  let served: { canary: string; weight: number } | undefined;
  const rc = new RolloutController({
    swarm,
    routes: {
      // The route reconciler serves what the record says, as soon as asked.
      serving: (_r, canary, weight) => served?.canary === canary && served.weight === weight,
      replicaAddresses: () => ['10.213.1.2'],
      refresh: () => {
        void records.read('shop_web').then((r) => {
          served = r ? { canary: r.state.canary, weight: r.state.canaryWeight } : undefined;
        });
      },
    },
    stats: { getStats: async () => ({ ok: true as const, value: proxy.stats() }) },
    clock,
    log,
    applySet: 'shop',
    identity: 'new-leader',
    isLeader: () => true,
    onEvent: (e) => events.push(e),
  });
  return { rc, records, prime: () => rc['o'].routes.refresh() };
}

async function run(clock: FakeClock, proxy: FakeProxy, seconds: number, traffic: (p: FakeProxy) => void) {
  for (let i = 0; i < seconds; i++) {
    traffic(proxy);
    await clock.advance(1000);
    await new Promise((r) => setImmediate(r));
  }
}

describe('the rollout controller', () => {
  it('continues a rollout a gone leader left at step 2 at that step, and promotes it after the last', async () => {
    const swarm = new FakeSwarm();
    const clock = new FakeClock(1_000_000);
    const proxy = new FakeProxy();
    const events: RolloutEvent[] = [];
    await midRollout(swarm, clock);
    const { rc, records, prime } = controller(swarm, clock, proxy, events);
    prime();
    rc.start();
    const seen: string[] = [];
    for (let i = 0; i < 80; i++) {
      await run(clock, proxy, 1, (p) => {
        p.serve('shop_web', 40, 0, 20);
        p.serve('shop_web-canary', 40, 0, 20);
      });
      const s = (await records.read('shop_web'))!.state;
      const mark = `${s.phase}@${s.canaryWeight} step ${s.step + 1} by ${s.writer}`;
      if (seen[seen.length - 1] !== mark) seen.push(mark);
      if (s.phase === 'promoting') break;
    }
    rc.stop();
    assert.deepEqual(seen.slice(0, 1), ['progressing@50 step 2 by old-leader']);
    assert.ok(seen.includes('progressing@100 step 3 by new-leader'), seen.join(' > '));
    assert.equal(seen[seen.length - 1], 'promoting@100 step 3 by new-leader', seen.join(' > '));
    assert.ok(!seen.some((m) => m.includes('step 1 ')), `never back to step 1: ${seen.join(' > ')}`);
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.weight}`),
      ['rollout-step 100'],
    );
  });

  it("judges a step only once the proxies passed the canary tasks' health check: what a cold task did is not held against it", async () => {
    const swarm = new FakeSwarm();
    const clock = new FakeClock(1_000_000);
    const proxy = new FakeProxy();
    const state = await midRollout(swarm, clock);
    await new RolloutRecords(swarm, clock).update('shop_web', (c) => ({ ...c!.state, stepStartedAt: clock.now() }));
    proxy.health('shop_web-canary', 'UP', 'INI');
    const { rc, records, prime } = controller(swarm, clock, proxy, []);
    prime();
    rc.start();
    // cold: a quarter of its requests fail (an unreachable new task), for 8 s
    await run(clock, proxy, 8, (p) => {
      p.serve('shop_web', 40, 0, 20);
      p.serve('shop_web-canary', 40, 10, 20);
    });
    const cold = (await records.read('shop_web'))!.state;
    assert.deepEqual([cold.phase, cold.step], ['progressing', state.step]);
    assert.match(cold.reason, /step 2\/3 \(50%\): warming up: waiting for the proxies' health check/);
    proxy.health('shop_web-canary', 'UP', 'L7OK');
    let s = cold;
    for (let i = 0; i < 40 && s.step === state.step && s.phase === 'progressing'; i++) {
      await run(clock, proxy, 1, (p) => {
        p.serve('shop_web', 40, 0, 20);
        p.serve('shop_web-canary', 40, 0, 20);
      });
      s = (await records.read('shop_web'))!.state;
    }
    rc.stop();
    assert.deepEqual([s.phase, s.step, s.canaryWeight], ['progressing', state.step + 1, 50], s.reason);
    assert.match(s.reason, /step 2\/3 \(50%\) passed: /);
  });

  it('moves no traffic onto the canary before every proxy holds each of its tasks and has checked it', async () => {
    const swarm = new FakeSwarm();
    const clock = new FakeClock(1_000_000);
    const proxy = new FakeProxy();
    // the canary runs, the baseline already taken (none)
    await justStarted(swarm, clock, { baseline: null });
    const { rc, records, prime } = controller(swarm, clock, proxy, []);
    prime();
    rc.start();
    // the proxy's table does not hold the canary's task yet
    await run(clock, proxy, 5, (p) => p.serve('shop_web', 40, 0, 20));
    let s = (await records.read('shop_web'))!.state;
    assert.deepEqual([s.step, s.canaryWeight], [0, 0]);
    assert.match(s.reason, /waiting for every proxy's health check of the canary's tasks before the first step/);
    // it holds it, counted up by HAProxy but not checked yet ("INI")
    proxy.health('shop_web-canary', 'UP', 'INI');
    await run(clock, proxy, 5, (p) => p.serve('shop_web', 40, 0, 20));
    s = (await records.read('shop_web'))!.state;
    assert.deepEqual([s.step, s.canaryWeight], [0, 0], s.reason);
    proxy.health('shop_web-canary', 'UP', 'L7OK');
    for (let i = 0; i < 10 && s.canaryWeight === 0; i++) {
      await run(clock, proxy, 1, (p) => p.serve('shop_web', 40, 0, 20));
      s = (await records.read('shop_web'))!.state;
    }
    rc.stop();
    assert.deepEqual([s.step, s.canaryWeight], [0, 10], s.reason);
  });

  it("rolls back when the proxies' health check of the canary does not pass within startTimeout", async () => {
    const swarm = new FakeSwarm();
    const clock = new FakeClock(1_000_000);
    const proxy = new FakeProxy();
    await midRollout(swarm, clock);
    proxy.health('shop_web-canary', 'DOWN', 'L4CON');
    const { rc, records, prime } = controller(swarm, clock, proxy, []);
    prime();
    rc.start();
    await run(clock, proxy, 70, (p) => p.serve('shop_web', 40, 0, 20));
    rc.stop();
    const s = (await records.read('shop_web'))!.state;
    assert.equal(s.phase, 'rolled-back');
    assert.match(
      s.reason,
      /health check of the canary's tasks did not pass within 60s: shop_web-canary.t1 \(DOWN L4CON\)/,
    );
  });

  it('rolls a canary failing 10% of requests back: all traffic to stable, then the canary removed', async () => {
    const swarm = new FakeSwarm();
    const clock = new FakeClock(1_000_000);
    const proxy = new FakeProxy();
    const events: RolloutEvent[] = [];
    await midRollout(swarm, clock);
    const { rc, records, prime } = controller(swarm, clock, proxy, events);
    prime();
    rc.start();
    await run(clock, proxy, 30, (p) => {
      p.serve('shop_web', 40, 0, 20);
      p.serve('shop_web-canary', 40, 4, 20);
    });
    rc.stop();
    const s = (await records.read('shop_web'))!.state;
    assert.equal(s.phase, 'rolled-back');
    assert.equal(s.canaryWeight, 0);
    assert.match(s.reason, /step 2\/3 \(50%\) failed: error-rate/);
    assert.equal(await swarm.getService('shop_web-canary'), undefined);
    assert.deepEqual(
      events.map((e) => e.type),
      ['rollout-rolled-back'],
    );
    assert.ok(
      swarm.writes.indexOf('removeService shop_web-canary') >= 0,
      `the canary removed: ${swarm.writes.join(', ')}`,
    );
  });

  it('rolls back a canary twice as slow on latency alone', async () => {
    const swarm = new FakeSwarm();
    const clock = new FakeClock(1_000_000);
    const proxy = new FakeProxy();
    await midRollout(swarm, clock);
    const { rc, records, prime } = controller(swarm, clock, proxy, []);
    prime();
    rc.start();
    await run(clock, proxy, 30, (p) => {
      p.serve('shop_web', 40, 0, 100);
      p.serve('shop_web-canary', 40, 0, 200);
    });
    rc.stop();
    const s = (await records.read('shop_web'))!.state;
    assert.equal(s.phase, 'rolled-back');
    assert.match(s.reason, /failed: latency-p50/);
    assert.doesNotMatch(s.reason, /error-rate/);
  });

  it('takes a baseline of the stable version before the first step, keeps it in the record, and rolls back a doubled canary under a shared delay larger than the service time', async () => {
    const swarm = new FakeSwarm();
    const clock = new FakeClock(1_000_000);
    const proxy = new FakeProxy();
    // no baseline yet
    await justStarted(swarm, clock);
    const first = controller(swarm, clock, proxy, []);
    first.prime();
    first.rc.start();
    // the machine is quiet: stable answers in 100 ms
    let s = (await first.records.read('shop_web'))!.state;
    for (let i = 0; i < 30 && s.baseline === undefined; i++) {
      await run(clock, proxy, 1, (p) => p.serve('shop_web', 40, 0, 100));
      s = (await first.records.read('shop_web'))!.state;
    }
    first.rc.stop();
    assert.ok(s.baseline, 'a baseline was taken');
    assert.equal(s.canaryWeight, 0, 'the baseline is taken before the first step');
    assert.ok(Math.abs(s.baseline.p50Ms! - 100) < 10, `baseline p50 ${s.baseline.p50Ms}`);
    assert.match(s.reason, /^baseline of shop_web before the first step: p50 /);
    // a new leader continues with the baseline the record holds; now the machine is loaded:
    // 150 ms of delay on every request (more than the service time), the canary does 2 x 100 ms
    const second = controller(swarm, clock, proxy, []);
    second.prime();
    second.rc.start();
    await run(clock, proxy, 40, (p) => {
      p.serve('shop_web', 40, 0, 100 + 150);
      p.serve('shop_web-canary', 40, 0, 200 + 150);
    });
    second.rc.stop();
    s = (await second.records.read('shop_web'))!.state;
    // without the baseline, 350 ms against 250 ms is 1.4x: within 1.5x, it would pass
    assert.equal(s.phase, 'rolled-back', s.reason);
    assert.match(s.reason, /step 1\/3 \(10%\) failed: latency-p50: .*baseline/);
    assert.equal(s.judgement?.verdict, 'fail');
    const p50 = s.judgement?.checks.find((c) => c.name === 'latency-p50');
    assert.ok(p50 && p50.sharedDelayMs! > 100, JSON.stringify(p50));
  });

  it('acts on controller rollout abort at its next look', async () => {
    const swarm = new FakeSwarm();
    const clock = new FakeClock(1_000_000);
    const proxy = new FakeProxy();
    await midRollout(swarm, clock);
    const events: RolloutEvent[] = [];
    const { rc, records, prime } = controller(swarm, clock, proxy, events);
    await records.request('shop_web', 'abort');
    prime();
    rc.start();
    await run(clock, proxy, 6, () => undefined);
    rc.stop();
    const r = (await records.read('shop_web'))!;
    assert.equal(r.state.phase, 'rolled-back');
    assert.equal(r.request, '');
    assert.match(r.state.reason, /aborted with controller rollout abort at step 2\/3 \(50%\)/);
    // Told as an abort, not as a failed check: its own notification.
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.service} step ${e.step + 1}/${e.steps}`),
      ['rollout-aborted shop_web step 2/3'],
    );
  });

  it('tells the end of a rollout once when two replicas act on it: only the one whose write of the end succeeded', async () => {
    const swarm = new FakeSwarm();
    const clock = new FakeClock(1_000_000);
    const proxy = new FakeProxy();
    await midRollout(swarm, clock);
    await new RolloutRecords(swarm, clock).update('shop_web', (c) => ({
      ...c!.state,
      phase: 'rolling-back',
      canaryWeight: 0,
      // Past the drain time's bound: the next look ends it.
      stepStartedAt: clock.now() - 61_000,
      reason: 'step 2/3 (50%) failed: error-rate',
    }));
    await swarm.removeService((await swarm.getService('shop_web-canary'))!.ID);
    const events: RolloutEvent[] = [];
    const a = controller(swarm, clock, proxy, events);
    const b = controller(swarm, clock, proxy, events);
    // Both read the record before either wrote the end (a leader change in between).
    const seenByBoth = (await a.records.read('shop_web'))!;
    const look = (rc: RolloutController) =>
      (rc as unknown as { advance(r: typeof seenByBoth): Promise<void> }).advance(seenByBoth);
    await look(a.rc);
    await look(b.rc);
    assert.equal((await a.records.read('shop_web'))!.state.phase, 'rolled-back');
    assert.deepEqual(
      events.map((e) => e.type),
      ['rollout-rolled-back'],
    );
    // A leader started later (a restart, a new leader) finds the rollout ended and tells nothing again.
    const c = controller(swarm, clock, proxy, events);
    c.prime();
    c.rc.start();
    await run(clock, proxy, 5, () => undefined);
    c.rc.stop();
    assert.equal(events.length, 1);
  });
});
