/**
 * The proxy agent against the real HAProxy binary (no Docker): tiny node backends on
 * 127.0.0.1, the agent and its control API in-process, traffic through HAProxy on loopback.
 * Owns every HAProxy process it starts (stopped in after, SIGKILL on exit). Must not import src/swarm/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tableChecksum } from '../../src/proxy/route-table.js';
import {
  backend,
  call,
  get,
  route,
  spread,
  startProxy,
  table,
  token,
  type Backend,
  type RunningProxy,
} from './proxy-harness.js';

describe('proxy agent with the real HAProxy', () => {
  const backends: Backend[] = [];
  let proxy: RunningProxy | undefined;
  let httpPort = 0;
  let controlPort = 0;
  let refuseNext = false;
  const p = (i: number) => backends[i].port;

  before(async () => {
    for (const id of ['a', 'b', 'c', 'd']) backends.push(await backend(id));
    proxy = await startProxy({
      transformConfig: (text) =>
        refuseNext ? text.replace('defaults\n', 'defaults\n    no-such-directive here\n') : text,
    });
    ({ httpPort, controlPort } = proxy);
  });

  after(async () => {
    await proxy?.stop();
    for (const b of backends) b.server.close();
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
    const bad = await call(controlPort, 'PUT', '/v1/table', {
      generation: 99,
      checksum: 'x',
      routes: [{ name: 'Bad Name' }],
    });
    assert.equal(bad.status, 400);
    assert.ok(
      bad.json.problems.some((m: string) => m.includes('name')),
      bad.body,
    );
    const t = table([route('shop/web', { pathPrefix: '/demo' }, [{ service: 'shop_web', ports: [['t1', p(0)]] }])]);
    const wrong = await call(controlPort, 'PUT', '/v1/table', { ...t, checksum: tableChecksum([]) });
    assert.equal(wrong.status, 400);
    assert.match(wrong.json.error, /checksum mismatch/);
    assert.equal((await call(controlPort, 'GET', '/v1/status')).json.generation, before.generation);
  });

  it('a path route spreads requests over every backend evenly', async () => {
    const t = table([
      route('shop/web', { pathPrefix: '/demo' }, [
        {
          service: 'shop_web',
          ports: [
            ['t1', p(0)],
            ['t2', p(1)],
            ['t3', p(2)],
          ],
        },
      ]),
    ]);
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
    const t1 = table([
      route('shop/web', { pathPrefix: '/demo' }, [
        {
          service: 'shop_web',
          ports: [
            ['t1', p(0)],
            ['t2', p(1)],
            ['t3', p(2)],
            ['t4', p(3)],
          ],
        },
      ]),
    ]);
    const r = await call(controlPort, 'PUT', '/v1/table', t1);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.action, 'runtime');
    t.diagnostic(`membership change through the Runtime API: ${r.json.durationMs} ms`);
    const counts = await spread(httpPort, '/demo', 40);
    assert.deepEqual([...counts.keys()].sort(), ['a', 'b', 'c', 'd']);
    // and removed again: no reload, no traffic to it
    const t2 = table([
      route('shop/web', { pathPrefix: '/demo' }, [
        {
          service: 'shop_web',
          ports: [
            ['t1', p(0)],
            ['t3', p(2)],
          ],
        },
      ]),
    ]);
    assert.equal((await call(controlPort, 'PUT', '/v1/table', t2)).json.action, 'runtime');
    assert.deepEqual([...(await spread(httpPort, '/demo', 20)).keys()].sort(), ['a', 'c']);
    const s = (await call(controlPort, 'GET', '/v1/status')).json;
    assert.equal(s.reloads, reloadsBefore);
    assert.equal(s.generation, t2.generation);
  });

  it('sticky sessions: with the cookie every request reaches the same backend', async () => {
    const t = table([
      route('shop/web', { pathPrefix: '/demo', sticky: { cookie: 'SCSESSION' } }, [
        {
          service: 'shop_web',
          ports: [
            ['t1', p(0)],
            ['t2', p(1)],
            ['t3', p(2)],
          ],
        },
      ]),
    ]);
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
    const host = route('shop/admin', { hosts: ['admin.example.com'] }, [
      { service: 'shop_admin', ports: [['h1', p(3)]] },
    ]);
    const wild = route('shop/tenants', { hosts: ['*.tenants.example.com'], pathPrefix: '/api', stripPrefix: true }, [
      { service: 'shop_api', ports: [['w1', p(2)]] },
    ]);
    const path = route('shop/web', { pathPrefix: '/demo' }, [{ service: 'shop_web', ports: [['t1', p(0)]] }]);
    assert.equal((await call(controlPort, 'PUT', '/v1/table', table([host, wild, path]))).status, 200);
    assert.equal(
      (await get(httpPort, '/demo', { host: `admin.example.com:${httpPort}` })).body,
      'd /demo',
      'the exact host wins over the any-host path route',
    );
    assert.equal((await get(httpPort, '/demo')).body, 'a /demo');
    assert.equal(
      (await get(httpPort, '/api/v1?q=1', { host: 'x.tenants.example.com' })).body,
      'c /v1?q=1',
      'wildcard host with the prefix stripped',
    );
    assert.equal((await get(httpPort, '/api', { host: 'tenants.example.com' })).status, 404);
    assert.equal((await call(controlPort, 'PUT', '/v1/table', table([host, wild]))).status, 200);
    assert.equal((await get(httpPort, '/demo')).status, 404);
    assert.equal((await get(httpPort, '/', { host: 'admin.example.com' })).body, 'd /');
    assert.equal((await get(httpPort, '/api/x', { host: 'a.tenants.example.com' })).body, 'c /x');
  });

  it('a structure change reloads while ~300 requests see zero failures', async (t) => {
    const base = route('shop/web', { pathPrefix: '/demo' }, [
      {
        service: 'shop_web',
        ports: [
          ['t1', p(0)],
          ['t2', p(1)],
        ],
      },
    ]);
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
      const r = await call(
        controlPort,
        'PUT',
        '/v1/table',
        table([route('shop/other', { pathPrefix: '/other' }, [{ service: 'shop_other', ports: [['o1', p(1)]] }])]),
      );
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
