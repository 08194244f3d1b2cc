/**
 * GET /v1/stats against the real HAProxy (no Docker): loopback backends of which one answers
 * 5% of requests with 500, one is slow and one closes connections without answering; traffic
 * through HAProxy on loopback; the agent's counters compared with what the client saw, across
 * a hitless reload and a slot handed to another task, and judged by src/rollout/analysis.ts.
 * Owns every HAProxy process it starts (stopped in after). Must not import src/swarm/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TrafficStats } from '../../src/proxy/traffic-counters.js';
import { defaultThresholds, judgeStep, quantileMs } from '../../src/rollout/analysis.js';
import { windowBetween } from '../../src/rollout/traffic-window.js';
import { HttpAgentClient } from '../../src/routes/agent-client.js';
import {
  backend,
  call,
  get,
  route,
  startProxy,
  table,
  token,
  type Backend,
  type RunningProxy,
} from './proxy-harness.js';

/** A backend that answers after delayMs; `fail(n)` says whether its n-th request (from 1) gets 500. */
function delayed(id: string, delayMs: number, fail: (n: number) => boolean = () => false) {
  let n = 0;
  return backend(id, (_req: IncomingMessage, res: ServerResponse) => {
    const status = fail(++n) ? 500 : 200;
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`${id} ${status}`);
    }, delayMs);
  });
}

/** A backend that takes each request and closes the connection without a byte of answer. */
async function closer(): Promise<Backend & { seen: () => number }> {
  let seen = 0;
  const b = await backend('closer', (req) => {
    seen++;
    req.socket.destroy();
  });
  return { ...b, seen: () => seen };
}

interface Seen {
  /** body id -> status -> count, as the client saw it */
  byServer: Map<string, Map<number, number>>;
  total: number;
  failed: number;
}

/** n GETs, `concurrency` at a time, each on a fresh connection; `midway` runs once half were sent. */
async function traffic(port: number, n: number, concurrency: number, midway?: () => Promise<void>): Promise<Seen> {
  const seen: Seen = { byServer: new Map(), total: 0, failed: 0 };
  let next = 0;
  let pause: Promise<void> | undefined;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      if (i === Math.floor(n / 2) && midway) pause = midway();
      const a = await get(port, '/web').catch(() => undefined);
      seen.total++;
      if (!a || (a.status !== 200 && a.status !== 500)) {
        seen.failed++;
        continue;
      }
      const id = a.body.split(' ')[0];
      const m = seen.byServer.get(id) ?? new Map<number, number>();
      seen.byServer.set(id, m);
      m.set(a.status, (m.get(a.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pause;
  return seen;
}

async function stats(proxy: RunningProxy): Promise<TrafficStats> {
  const r = await call(proxy.controlPort, 'GET', '/v1/stats');
  assert.equal(r.status, 200, r.body);
  return r.json as TrafficStats;
}

/** Reads /v1/stats until the route has counted `requests` (the log lines arrive just after the answers). */
async function statsWhen(proxy: RunningProxy, requests: number): Promise<TrafficStats> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const s = await stats(proxy);
    const counted = s.routes
      .flatMap((r) => r.servers.map((x) => x.requests).concat(r.unattributed.requests))
      .reduce((a, b) => a + b, 0);
    if (counted >= requests) return s;
    if (Date.now() > deadline) assert.fail(`the agent counted ${counted} of ${requests} requests within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const task = (s: TrafficStats, id: string) => {
  const t = s.routes.flatMap((r) => r.servers).find((x) => x.task === id);
  assert.ok(t, `task ${id} is not in /v1/stats`);
  return t;
};

describe('traffic statistics (GET /v1/stats) with the real HAProxy', () => {
  let proxy: RunningProxy;
  const backends: Backend[] = [];

  before(async () => {
    proxy = await startProxy();
  });

  after(async () => {
    await proxy?.stop();
    for (const b of backends) b.server.close();
  });

  it("needs the bearer token; the controller's client reads it", async () => {
    assert.equal((await call(proxy.controlPort, 'GET', '/v1/stats', undefined, null)).status, 401);
    assert.equal((await call(proxy.controlPort, 'PUT', '/v1/stats', {})).status, 405);
    const viaClient = await new HttpAgentClient(proxy.controlPort, token).getStats('127.0.0.1');
    assert.ok(viaClient.ok, JSON.stringify(viaClient));
    assert.equal(viaClient.value.epoch, (await stats(proxy)).epoch);
    assert.equal((await new HttpAgentClient(proxy.controlPort, 'wrong').getStats('127.0.0.1')).ok, false);
  });

  it('counts what the client saw per task, exactly, across a hitless reload; the judge fails the flaky and the slow canary', async (t) => {
    const [s1, s2] = [await delayed('s1', 10), await delayed('s2', 10)];
    const flaky = await delayed('flaky', 10, (n) => n % 20 === 0);
    const slow = await delayed('slow', 25);
    backends.push(s1, s2, flaky, slow);
    const web = (balance: 'roundrobin' | 'leastconn') =>
      route('shop/web', { pathPrefix: '/web', balance }, [
        {
          service: 'shop_web',
          ports: [
            ['s1', s1.port],
            ['s2', s2.port],
          ],
        },
        { service: 'shop_flaky', ports: [['flaky', flaky.port]] },
        { service: 'shop_slow', ports: [['slow', slow.port]] },
      ]);
    assert.equal((await proxy.push(table([web('roundrobin')]))).status, 200);
    const start = await stats(proxy);
    const reloadsBefore = (await proxy.status()).reloads;
    let atReload: TrafficStats | undefined;
    const n = 800;
    const seen = await traffic(proxy.httpPort, n, 4, async () => {
      atReload = await stats(proxy);
      const r = await proxy.push(table([web('leastconn')]));
      assert.equal(r.json.action, 'reload', r.body);
    });
    assert.equal(seen.failed, 0, 'no request failed across the reload');
    assert.equal((await proxy.status()).reloads, reloadsBefore + 1);
    const end = await statsWhen(proxy, start.routes[0].servers.reduce((a, x) => a + x.requests, 0) + n);
    assert.equal(end.epoch, start.epoch);

    for (const id of ['s1', 's2', 'flaky', 'slow']) {
      const client = seen.byServer.get(id) ?? new Map<number, number>();
      const agent = task(end, id);
      const before = task(start, id);
      const ok = client.get(200) ?? 0;
      const errors = client.get(500) ?? 0;
      assert.deepEqual(
        {
          requests: agent.requests - before.requests,
          '2xx': agent.responses['2xx'] - before.responses['2xx'],
          '5xx': agent.responses['5xx'] - before.responses['5xx'],
        },
        { requests: ok + errors, '2xx': ok, '5xx': errors },
        `task ${id}: the agent's counts against the client's`,
      );
      // never backwards: every counter at the end is at least what it was at the reload
      const mid = task(atReload!, id);
      assert.ok(agent.requests >= mid.requests && agent.responseTime.count >= mid.responseTime.count);
    }
    assert.ok((seen.byServer.get('flaky')?.get(500) ?? 0) >= 5, 'the flaky server failed some requests');

    const pick = (service: string) => (_r: unknown, s: { service: string }) => s.service === service;
    const stable = windowBetween(start, end, pick('shop_web'));
    const flakyWindow = windowBetween(start, end, pick('shop_flaky'));
    const slowWindow = windowBetween(start, end, pick('shop_slow'));
    const f = judgeStep(flakyWindow, stable, defaultThresholds);
    const s = judgeStep(slowWindow, stable, defaultThresholds);
    t.diagnostic(`flaky canary: ${f.verdict}: ${f.reason}`);
    t.diagnostic(`slow canary: ${s.verdict}: ${s.reason}`);
    t.diagnostic(
      `p50: stable ${quantileMs(stable, 0.5)} ms, slow ${quantileMs(slowWindow, 0.5)} ms; flaky errors ${f.canary.errors}/${f.canary.requests}`,
    );
    assert.equal(f.verdict, 'fail');
    assert.ok(f.checks.some((c) => c.name.startsWith('error-rate') && c.verdict === 'fail'));
    assert.equal(s.verdict, 'fail');
    assert.deepEqual(
      s.checks.filter((c) => c.verdict === 'fail').map((c) => c.name),
      ['latency-p50'],
      'the slow canary fails on latency alone',
    );
    // one stable server judged against the other is never failed
    const s2Window = windowBetween(start, end, (_r, x) => x.task === 's2');
    const s1Window = windowBetween(start, end, (_r, x) => x.task === 's1');
    assert.notEqual(judgeStep(s2Window, s1Window).verdict, 'fail');
  });

  it('attempts a server failed and HAProxy sent elsewhere are counted for that task, also after its slot changed hands', async () => {
    const ok = await delayed('ok', 0);
    const [bad1, bad2] = [await closer(), await closer()];
    backends.push(ok, bad1, bad2);
    const web = (badTask: string, badPort: number) =>
      route('shop/web', { pathPrefix: '/web' }, [
        { service: 'shop_web', ports: [['ok', ok.port]] },
        { service: 'shop_bad', ports: [[badTask, badPort]] },
      ]);
    assert.equal((await proxy.push(table([web('bad1', bad1.port)]))).json.action, 'reload');
    const first = await traffic(proxy.httpPort, 100, 1);
    assert.equal(first.failed, 0);
    assert.deepEqual([...first.byServer.keys()], ['ok'], 'the client never saw the closing server');
    // the closing task is replaced: the same slot (shop_bad_1), another address, no reload
    const change = await proxy.push(table([web('bad2', bad2.port)]));
    assert.equal(change.json.action, 'runtime', change.body);
    const second = await traffic(proxy.httpPort, 100, 1);
    assert.equal(second.failed, 0);
    const s = await stats(proxy);
    const [t1, t2] = [task(s, 'bad1'), task(s, 'bad2')];
    assert.ok(bad1.seen() > 0 && bad2.seen() > 0, 'both closing servers were tried');
    assert.deepEqual(
      [t1.server, t1.inTable, t1.requests, t1.redispatched],
      ['shop_bad_1', false, 0, bad1.seen()],
      'bad1: every attempt it closed',
    );
    assert.deepEqual(
      [t2.server, t2.inTable, t2.requests, t2.redispatched],
      ['shop_bad_1', true, 0, bad2.seen()],
      'bad2: its own attempts only',
    );
    // as a canary, the closing service is judged on what the clients got from it (nothing), its
    // failed attempts reported apart: it can never pass
    const w = windowBetween(undefined, s, (_r, x) => x.service === 'shop_bad');
    assert.deepEqual([w.requests, w.errors, w.redispatched], [0, 0, bad1.seen() + bad2.seen()]);
    const verdict = judgeStep(
      w,
      windowBetween(undefined, s, (_r, x) => x.task === 'ok'),
    );
    assert.equal(verdict.verdict, 'inconclusive');
    assert.equal(verdict.canary.redispatched, bad1.seen() + bad2.seen());
  });
});
