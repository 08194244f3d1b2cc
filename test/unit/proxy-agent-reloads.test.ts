/**
 * The proxy agent's decisions on a fake clock, with HAProxy replaced by a recorder (no process):
 * a structure change reloads at most once per minReloadIntervalMs, pushes in between share that
 * reload, a membership change goes through the Runtime API without one, and the traffic
 * counters keep the same time. The real HAProxy doing the same is
 * test/integration/proxy-agent.test.ts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ProxyAgent } from '../../src/proxy/agent.js';
import { HaproxyProcess, type WorkerStats } from '../../src/proxy/haproxy-process.js';
import { FakeClock } from '../../src/queue/clock.js';
import { eventually } from '../helpers/eventually.js';
import { route, table } from '../helpers/route-tables.js';

const log = pino({ level: 'silent' });

/** Records what the agent asks of HAProxy, and when; accepts every configuration. */
class RecordingHaproxy extends HaproxyProcess {
  reloads: number[] = [];
  runtimeCommands: string[][] = [];
  private up = false;
  constructor(private readonly fakeClock: FakeClock) {
    super({ binary: '/nonexistent/haproxy', stateDir: '/nonexistent', log, clock: fakeClock });
  }
  override get running(): boolean {
    return this.up;
  }
  override async check(): Promise<undefined> {
    return undefined;
  }
  override async start(): Promise<void> {
    this.up = true;
  }
  override async reload(): Promise<void> {
    this.reloads.push(this.fakeClock.now());
  }
  override async runtime(commands: string[]): Promise<void> {
    this.runtimeCommands.push(commands);
  }
  override async stop(): Promise<void> {
    this.up = false;
  }
  /** No workers to read: the traffic counters are the integration tests' (proxy-stats.test.ts). */
  override async workerStats(): Promise<WorkerStats[]> {
    return [];
  }
}

const dirs: string[] = [];
const agents: ProxyAgent[] = [];
after(async () => {
  for (const a of agents) await a.stop();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function agentOnFakeClock() {
  const clock = new FakeClock(1_000_000);
  const haproxy = new RecordingHaproxy(clock);
  const stateDir = mkdtempSync(join(tmpdir(), 'sc-agent-unit-'));
  dirs.push(stateDir);
  const agent = new ProxyAgent({
    haproxy,
    httpBind: '127.0.0.1:1',
    httpsBind: '127.0.0.1:2',
    stateDir,
    secretsDir: join(stateDir, 'secrets'),
    log,
    minReloadIntervalMs: 200,
    clock,
  });
  agents.push(agent);
  await agent.start();
  return { clock, haproxy, agent, stateDir };
}

/** The agent wrote and checked the files (real I/O) and now waits, on the fake clock, to reload. */
const reloadScheduled = (agent: ProxyAgent) =>
  eventually(() => agent.status().reloadPending, 5000, 'a reload to be scheduled', { intervalMs: 1 });

const one = (id: string, port: number) =>
  route('shop/demo', { pathPrefix: '/demo' }, [{ service: 'web', ports: [[id, port]] }]);

describe('proxy agent on a fake clock', () => {
  it('reloads at most once per minReloadIntervalMs; pushes before the reload share it', async () => {
    const { clock, haproxy, agent } = await agentOnFakeClock();
    const started = clock.now();
    const first = agent.apply(table([one('t1', 8001)]));
    const second = agent.apply(
      table([one('t1', 8001), route('shop/api', { pathPrefix: '/api' }, [{ service: 'api', ports: [['t9', 8009]] }])]),
    );
    await reloadScheduled(agent);
    await clock.advance(199);
    assert.deepEqual(haproxy.reloads, [], 'no reload within 200 ms of the start');
    await clock.advance(1);
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual(haproxy.reloads, [started + 200], 'one reload for both pushes, when the limit allowed it');
    assert.deepEqual([a.action, b.action], ['reload', 'reload']);
    assert.equal(agent.status().generation, b.generation, 'the later table is served');

    await clock.advance(50);
    const third = agent.apply(table([one('t1', 8001)]));
    await reloadScheduled(agent);
    await clock.advance(149);
    assert.equal(haproxy.reloads.length, 1, 'the next reload waits for the interval since the last');
    await clock.advance(1);
    await third;
    assert.deepEqual(haproxy.reloads, [started + 200, started + 400]);
    assert.equal(agent.status().reloads, 2);
  });

  it('changes membership through the Runtime API without a reload', async () => {
    const { clock, haproxy, agent } = await agentOnFakeClock();
    const first = agent.apply(table([one('t1', 8001)]));
    await reloadScheduled(agent);
    await clock.advance(200);
    await first;
    const moved = await agent.apply(table([one('t2', 8002)]));
    assert.equal(moved.action, 'runtime');
    assert.equal(haproxy.reloads.length, 1);
    assert.ok(
      haproxy.runtimeCommands.flat().some((c) => c.includes('8002')),
      JSON.stringify(haproxy.runtimeCommands),
    );
    assert.equal(agent.status().runtimeUpdates, 1);
    assert.equal(agent.status().appliedAt, new Date(clock.now()).toISOString(), 'stamped by the injected clock');
  });

  it('writes haproxy.cfg for Runtime API pushes only before the next reload, which then starts with their servers', async () => {
    const { clock, haproxy, agent, stateDir } = await agentOnFakeClock();
    const config = () => readFileSync(join(stateDir, 'haproxy.cfg'), 'utf8');
    const atReload: string[] = [];
    haproxy.reload = async () => void atReload.push(config());
    const api = route('shop/api', { pathPrefix: '/api' }, [{ service: 'api', ports: [['t9', 8009]] }]);
    const first = agent.apply(table([one('t1', 8001)]));
    await reloadScheduled(agent);
    await clock.advance(200);
    await first;
    assert.equal((await agent.apply(table([one('t2', 8002)]))).action, 'runtime');
    assert.match(config(), /127\.0\.0\.1:8001 /, 'not rewritten for a Runtime API push');

    const structure = agent.apply(table([one('t2', 8002), api]));
    await reloadScheduled(agent);
    const moved = agent.apply(table([one('t3', 8003), api]));
    await eventually(() => haproxy.runtimeCommands.flat().some((c) => c.includes('8003')), 5000, 'the move', {
      intervalMs: 1,
    });
    await clock.advance(200);
    assert.deepEqual(
      (await Promise.all([structure, moved])).map((r) => r.action),
      ['reload', 'runtime'],
    );
    assert.equal(atReload.length, 2);
    assert.match(atReload[1], /127\.0\.0\.1:8003 /, 'the reload reads the server the Runtime API push set');
    assert.doesNotMatch(atReload[1], /:8002 /);
  });

  it("keeps the traffic counters' time on the injected clock", async () => {
    const { clock, agent } = await agentOnFakeClock();
    const startedAt = new Date(clock.now()).toISOString();
    await clock.advance(5_000);
    const stats = await agent.stats();
    assert.equal(stats.startedAt, startedAt);
    assert.equal(stats.sampledAt, new Date(clock.now()).toISOString());
  });
});
