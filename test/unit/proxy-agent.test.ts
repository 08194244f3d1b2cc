/**
 * The proxy agent against the real HAProxy binary (no Docker): tiny node backends on
 * 127.0.0.1, the agent and its control API in-process, traffic through HAProxy on loopback.
 * Owns every HAProxy process it starts (stopped in after, SIGKILL on exit). Must not import src/swarm/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { ProxyAgent } from '../../src/proxy/agent.js';
import { startControlServer } from '../../src/proxy/control-server.js';
import { HaproxyProcess } from '../../src/proxy/haproxy-process.js';
import { tableChecksum, type Route, type RouteTable } from '../../src/proxy/route-table.js';

const haproxyBinary = process.env.HAPROXY ?? '/usr/sbin/haproxy';
const token = 'test-token-123';

function requireHaproxy(): void {
  try {
    execFileSync(haproxyBinary, ['-v'], { stdio: 'pipe' });
  } catch {
    throw new Error(`HAProxy is not installed at ${haproxyBinary}: run scripts/install-deps.sh (apt-get install haproxy) or set HAPROXY`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function backend(id: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${id} ${req.url}`);
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

interface Answer { status: number; body: string; headers: Record<string, string | string[] | undefined> }

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function call(port: number, method: string, path: string, body?: unknown, auth: string | null = `Bearer ${token}`): Promise<Answer & { json: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth) headers.authorization = auth;
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function route(name: string, over: Partial<Route>, services: { service: string; weight?: number; ports: [string, number][] }[]): Route {
  return {
    name,
    hosts: [],
    pathPrefix: '/',
    stripPrefix: false,
    sticky: null,
    balance: 'roundrobin',
    healthCheck: null,
    timeouts: { connectMs: 2000, serverMs: 10000 },
    redirectToHttps: false,
    tls: null,
    ...over,
    backends: services.map((s) => ({ service: s.service, weight: s.weight ?? 10, servers: s.ports.map(([id, port]) => ({ id, address: '127.0.0.1', port })) })),
  };
}

let generation = 0;
function table(routes: Route[]): RouteTable {
  return { generation: ++generation, checksum: tableChecksum(routes), routes };
}

async function spread(port: number, path: string, n: number, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const a = await get(port, path, headers);
    assert.equal(a.status, 200, `request ${i} to ${path}: ${a.status} ${a.body}`);
    const id = a.body.split(' ')[0]!;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('proxy agent with the real HAProxy', () => {
  const backends: { server: Server; port: number }[] = [];
  let stateDir = '';
  let haproxy: HaproxyProcess | undefined;
  let agent: ProxyAgent;
  let control: Server | undefined;
  let httpPort = 0;
  let controlPort = 0;
  let refuseNext = false;
  const log = createLogger({ level: 'warn' });
  const p = (i: number) => backends[i]!.port;

  before(async () => {
    requireHaproxy();
    stateDir = mkdtempSync(join(tmpdir(), 'sc-proxy-test-'));
    for (const id of ['a', 'b', 'c', 'd']) backends.push(await backend(id));
    httpPort = await freePort();
    haproxy = new HaproxyProcess({ binary: haproxyBinary, stateDir, log });
    agent = new ProxyAgent({
      haproxy,
      httpBind: `127.0.0.1:${httpPort}`,
      stateDir,
      log,
      transformConfig: (text) => (refuseNext ? text.replace('defaults\n', 'defaults\n    no-such-directive here\n') : text),
    });
    await agent.start();
    control = await startControlServer(0, '127.0.0.1', agent, token, log);
    controlPort = (control.address() as AddressInfo).port;
  });

  after(async () => {
    control?.close();
    control?.closeAllConnections();
    await haproxy?.stop(2000);
    for (const b of backends) b.server.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('starts with generation 0: healthy, and every request answers 404', async () => {
    assert.equal((await call(controlPort, 'GET', '/healthz', undefined, null)).status, 200);
    const s = await call(controlPort, 'GET', '/v1/status');
    assert.equal(s.json.generation, 0);
    assert.equal((await get(httpPort, '/anything')).status, 404);
  });

  it('refuses the control API without the right token (401)', async () => {
    assert.equal((await call(controlPort, 'GET', '/v1/status', undefined, null)).status, 401);
    assert.equal((await call(controlPort, 'GET', '/v1/status', undefined, 'Bearer wrong')).status, 401);
    assert.equal((await call(controlPort, 'PUT', '/v1/table', table([]), 'Bearer nope')).status, 401);
    assert.equal((await call(controlPort, 'PUT', '/v1/table', table([]), `Basic ${token}`)).status, 401);
  });

  it('refuses an invalid table or a wrong checksum with 400 and changes nothing', async () => {
    const before = (await call(controlPort, 'GET', '/v1/status')).json;
    const bad = await call(controlPort, 'PUT', '/v1/table', { generation: 99, checksum: 'x', routes: [{ name: 'Bad Name' }] });
    assert.equal(bad.status, 400);
    assert.ok(bad.json.problems.some((m: string) => m.includes('name')), bad.body);
    const t = table([route('shop/web', { pathPrefix: '/demo' }, [{ service: 'shop_web', ports: [['t1', p(0)]] }])]);
    const wrong = await call(controlPort, 'PUT', '/v1/table', { ...t, checksum: tableChecksum([]) });
    assert.equal(wrong.status, 400);
    assert.match(wrong.json.error, /checksum mismatch/);
    assert.equal((await call(controlPort, 'GET', '/v1/status')).json.generation, before.generation);
  });

  it('a path route spreads requests over every backend evenly', async () => {
    const t = table([route('shop/web', { pathPrefix: '/demo' }, [{ service: 'shop_web', ports: [['t1', p(0)], ['t2', p(1)], ['t3', p(2)]] }])]);
    const r = await call(controlPort, 'PUT', '/v1/table', t);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.action, 'reload');
    const counts = await spread(httpPort, '/demo/x', 90);
    assert.deepEqual([...counts.keys()].sort(), ['a', 'b', 'c']);
    for (const n of counts.values()) assert.ok(n >= 25 && n <= 35, `uneven: ${JSON.stringify([...counts])}`);
    assert.equal((await get(httpPort, '/other')).status, 404);
    assert.equal((await get(httpPort, '/demox')).status, 404);
    const s = (await call(controlPort, 'GET', '/v1/status')).json;
    assert.equal(s.generation, t.generation);
    assert.equal(s.checksum, t.checksum);
  });

  it('a server added within capacity gets traffic with no reload', async (t) => {
    const reloadsBefore = (await call(controlPort, 'GET', '/v1/status')).json.reloads;
    const t1 = table([route('shop/web', { pathPrefix: '/demo' }, [{ service: 'shop_web', ports: [['t1', p(0)], ['t2', p(1)], ['t3', p(2)], ['t4', p(3)]] }])]);
    const r = await call(controlPort, 'PUT', '/v1/table', t1);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.action, 'runtime');
    t.diagnostic(`membership change through the Runtime API: ${r.json.durationMs} ms`);
    const counts = await spread(httpPort, '/demo', 40);
    assert.deepEqual([...counts.keys()].sort(), ['a', 'b', 'c', 'd']);
    // and removed again: no reload, no traffic to it
    const t2 = table([route('shop/web', { pathPrefix: '/demo' }, [{ service: 'shop_web', ports: [['t1', p(0)], ['t3', p(2)]] }])]);
    assert.equal((await call(controlPort, 'PUT', '/v1/table', t2)).json.action, 'runtime');
    assert.deepEqual([...(await spread(httpPort, '/demo', 20)).keys()].sort(), ['a', 'c']);
    const s = (await call(controlPort, 'GET', '/v1/status')).json;
    assert.equal(s.reloads, reloadsBefore);
    assert.equal(s.generation, t2.generation);
  });

  it('sticky sessions: with the cookie every request reaches the same backend', async () => {
    const t = table([route('shop/web', { pathPrefix: '/demo', sticky: { cookie: 'SCSESSION' } }, [{ service: 'shop_web', ports: [['t1', p(0)], ['t2', p(1)], ['t3', p(2)]] }])]);
    assert.equal((await call(controlPort, 'PUT', '/v1/table', t)).status, 200);
    const first = await get(httpPort, '/demo');
    const setCookie = String(first.headers['set-cookie'] ?? '');
    const m = /SCSESSION=([^;]+)/.exec(setCookie);
    assert.ok(m, `no SCSESSION cookie in ${setCookie}`);
    const counts = await spread(httpPort, '/demo', 20, { cookie: `SCSESSION=${m[1]}` });
    assert.deepEqual([...counts], [[first.body.split(' ')[0], 20]]);
    assert.equal((await spread(httpPort, '/demo', 30)).size, 3, 'without the cookie, requests spread');
  });

  it('host and path routes side by side; removing one answers 404 for its path only', async () => {
    const host = route('shop/admin', { hosts: ['admin.example.com'] }, [{ service: 'shop_admin', ports: [['h1', p(3)]] }]);
    const wild = route('shop/tenants', { hosts: ['*.tenants.example.com'], pathPrefix: '/api', stripPrefix: true }, [{ service: 'shop_api', ports: [['w1', p(2)]] }]);
    const path = route('shop/web', { pathPrefix: '/demo' }, [{ service: 'shop_web', ports: [['t1', p(0)]] }]);
    assert.equal((await call(controlPort, 'PUT', '/v1/table', table([host, wild, path]))).status, 200);
    assert.equal((await get(httpPort, '/demo', { host: `admin.example.com:${httpPort}` })).body, 'd /demo', 'the exact host wins over the any-host path route');
    assert.equal((await get(httpPort, '/demo')).body, 'a /demo');
    assert.equal((await get(httpPort, '/api/v1?q=1', { host: 'x.tenants.example.com' })).body, 'c /v1?q=1', 'wildcard host with the prefix stripped');
    assert.equal((await get(httpPort, '/api', { host: 'tenants.example.com' })).status, 404);
    assert.equal((await call(controlPort, 'PUT', '/v1/table', table([host, wild]))).status, 200);
    assert.equal((await get(httpPort, '/demo')).status, 404);
    assert.equal((await get(httpPort, '/', { host: 'admin.example.com' })).body, 'd /');
    assert.equal((await get(httpPort, '/api/x', { host: 'a.tenants.example.com' })).body, 'c /x');
  });

  it('a structure change reloads while ~300 requests see zero failures', async (t) => {
    const base = route('shop/web', { pathPrefix: '/demo' }, [{ service: 'shop_web', ports: [['t1', p(0)], ['t2', p(1)]] }]);
    assert.equal((await call(controlPort, 'PUT', '/v1/table', table([base]))).status, 200);
    const reloadsBefore = (await call(controlPort, 'GET', '/v1/status')).json.reloads;
    let failures = 0;
    let done = 0;
    let stop = false;
    const load = (async () => {
      while (!stop && done < 300) {
        const a = await get(httpPort, '/demo').catch(() => ({ status: 0, body: '', headers: {} }));
        if (a.status !== 200) failures++;
        done++;
      }
    })();
    for (const balance of ['leastconn', 'random', 'roundrobin'] as const) {
      await new Promise((r) => setTimeout(r, 60));
      const r = await call(controlPort, 'PUT', '/v1/table', table([{ ...base, balance }]));
      assert.equal(r.json.action, 'reload', r.body);
      t.diagnostic(`structure change with a reload: ${r.json.durationMs} ms (push to new worker serving)`);
    }
    while (done < 300) await new Promise((r) => setTimeout(r, 10));
    stop = true;
    await load;
    assert.equal(failures, 0, `${failures} of ${done} requests failed across reloads`);
    t.diagnostic(`${done} requests across 3 reloads, ${failures} failed`);
    assert.equal((await call(controlPort, 'GET', '/v1/status')).json.reloads, reloadsBefore + 3);
  });

  it('a table HAProxy refuses gets 422; the last good generation keeps serving', async () => {
    const good = (await call(controlPort, 'GET', '/v1/status')).json;
    refuseNext = true;
    try {
      const r = await call(controlPort, 'PUT', '/v1/table', table([route('shop/other', { pathPrefix: '/other' }, [{ service: 'shop_other', ports: [['o1', p(1)]] }])]));
      assert.equal(r.status, 422, r.body);
      assert.ok(r.json.problems.join('\n').includes('no-such-directive'), r.body);
    } finally {
      refuseNext = false;
    }
    const s = (await call(controlPort, 'GET', '/v1/status')).json;
    assert.equal(s.generation, good.generation);
    assert.match(s.lastError, /refused by haproxy -c/);
    assert.equal((await get(httpPort, '/demo')).status, 200);
  });
});
