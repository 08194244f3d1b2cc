/**
 * Backends that stop, against the real HAProxy: a port with nothing listening (refused), a
 * server that accepts and closes or resets without answering, and a listener that never
 * completes the connect; requests must still be answered by a healthy server. Stops and
 * kills what it starts. Must not import src/swarm/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { socketCommand } from '../../src/proxy/haproxy-process.js';
import { backend, freePort, get, route, startProxy, table, type Backend, type RunningProxy } from './proxy-harness.js';

/** One POST on a fresh connection; its status. */
function post(port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Per-server counters from the Runtime API's `show stat` (CSV), by the server's port. */
async function serverStats(proxy: RunningProxy, backendName: string): Promise<Map<number, Record<string, number>>> {
  const [head = '', ...rows] = (await socketCommand(proxy.haproxy.statsSocket, 'show stat')).trim().split('\n');
  const cols = head.replace(/^# /, '').split(',');
  const out = new Map<number, Record<string, number>>();
  for (const row of rows) {
    const f = row.split(',');
    const stat = Object.fromEntries(cols.map((c, i) => [c, f[i] ?? '']));
    if (stat.pxname !== backendName || stat.svname === 'BACKEND' || stat.status === 'MAINT') continue;
    out.set(Number(stat.addr.split(':')[1]), Object.fromEntries(cols.map((c, i) => [c, Number(f[i])])));
  }
  return out;
}

describe('requests survive backends that stop (real HAProxy)', () => {
  let proxy: RunningProxy;
  let healthy: Backend;
  let dropper: Server;
  let dropperPort = 0;
  let refusedPort = 0;
  let drops = 0;
  const sockets = new Set<Socket>();
  let stopped: ChildProcess | undefined;

  before(async () => {
    healthy = await backend('ok');
    // Reads the request, then closes (even connections) or resets (odd) without a byte of answer.
    dropper = createServer((socket) => {
      const n = drops++;
      socket.once('data', () => (n % 2 ? socket.resetAndDestroy() : socket.destroy()));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', r));
    dropperPort = (dropper.address() as { port: number }).port;
    refusedPort = await freePort();
    proxy = await startProxy();
  });

  after(async () => {
    await proxy?.stop();
    healthy?.server.close();
    dropper?.close();
    for (const s of sockets) s.destroy();
    stopped?.kill('SIGKILL');
  });

  it('300 fresh GETs all answer 200 from the healthy server while the others refuse, close or reset', async (t) => {
    const r = await proxy.push(
      table([
        route('shop/web', {}, [
          {
            service: 'shop_web',
            ports: [
              ['refused', refusedPort],
              ['dropper', dropperPort],
              ['healthy', healthy.port],
            ],
          },
        ]),
      ]),
    );
    assert.equal(r.status, 200, r.body);
    const failures: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) {
      const a = await get(proxy.httpPort, `/r${i}`).catch((err: Error) => ({ status: 0, body: err.message }));
      if (a.status !== 200 || a.body !== `ok /r${i}`) failures.push(`${i}: ${a.status} ${a.body}`);
    }
    const ms = performance.now() - t0;
    const stats = await serverStats(proxy, 'rt_shop:web');
    const [refused, dropped] = [stats.get(refusedPort)!, stats.get(dropperPort)!];
    t.diagnostic(
      `300 GETs in ${Math.round(ms)} ms; sent to the refusing port ${refused.stot} times, to the dropping server ${dropped.stot} times (${drops} connections); retries ${refused.wretr + dropped.wretr}, redispatches ${refused.wredis + dropped.wredis}`,
    );
    assert.deepEqual(failures, []);
    assert.ok(refused.stot >= 50, `the refusing port was tried (${refused.stot} times)`);
    assert.ok(drops >= 50, `the dropping server was tried (${drops} connections)`);
  });

  it('a POST is not sent again after a server closed without answering (502), but is after a refused connect', async () => {
    const r = await proxy.push(
      table([
        route('shop/web', {}, [
          {
            service: 'shop_web',
            ports: [
              ['refused', refusedPort],
              ['dropper', dropperPort],
              ['healthy', healthy.port],
            ],
          },
        ]),
      ]),
    );
    assert.equal(r.status, 200, r.body);
    const dropsBefore = drops;
    const statuses = new Map<number, number>();
    for (let i = 0; i < 30; i++) {
      const status = await post(proxy.httpPort, '/order', 'qty=1');
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    const dropped = drops - dropsBefore;
    assert.deepEqual([...statuses.keys()].sort(), [200, 502], JSON.stringify([...statuses]));
    assert.equal(
      statuses.get(502),
      dropped,
      'each POST reached the dropping server at most once, and each of those answered 502',
    );
  });

  it('a server that never completes the connect costs the connect timeout, then another server answers', async (t) => {
    // A listener whose process is stopped and whose accept queue is full: the kernel drops SYNs.
    stopped = spawn(
      process.execPath,
      [
        '-e',
        "require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () { console.log(this.address().port) })",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const port = await new Promise<number>((resolve) =>
      stopped!.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    stopped.kill('SIGSTOP');
    for (let i = 0; i < 4; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      sockets.add(s);
    }
    await new Promise((r) => setTimeout(r, 200));
    const connectMs = 200;
    const r = await proxy.push(
      table([
        route('shop/web', { timeouts: { connectMs, serverMs: 5000 } }, [
          {
            service: 'shop_web',
            ports: [
              ['silent', port],
              ['healthy', healthy.port],
            ],
          },
        ]),
      ]),
    );
    assert.equal(r.status, 200, r.body);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const a = await get(proxy.httpPort, '/t');
      times.push(performance.now() - t0);
      assert.deepEqual([a.status, a.body], [200, 'ok /t'], `request ${i}`);
    }
    const slow = times.filter((ms) => ms >= connectMs).length;
    t.diagnostic(
      `20 GETs: ${slow} waited for the connect timeout (${connectMs} ms), slowest ${Math.round(Math.max(...times))} ms`,
    );
    assert.ok(slow >= 5, `the silent server was tried (${slow} requests waited for the connect timeout)`);
  });
});
