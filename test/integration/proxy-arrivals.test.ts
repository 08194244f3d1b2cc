/**
 * Servers arriving through the Runtime API, against the real HAProxy binary (no Docker): a
 * server added beside one that stays takes traffic only once it has passed its health check
 * (src/proxy/slots.ts, runtimeCommands); one arriving where no server stays serves at once.
 * Owns the HAProxy process it starts. Must not import src/swarm/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { socketCommand } from '../../src/proxy/haproxy-process.js';
import { parseServerStats } from '../../src/proxy/haproxy-stats.js';
import { eventually } from '../helpers/eventually.js';
import { backend, get, route, startProxy, table, type Backend, type RunningProxy } from './proxy-harness.js';

describe('servers arriving in a checked route (real HAProxy)', () => {
  let proxy: RunningProxy;
  let a: Backend;
  let b: Backend;
  let c: Backend;
  /** b answers 503 to everything (warming up), its health check slowly, until this turns true. */
  let bReady = false;
  const checked = { healthCheck: { path: '/healthz', intervalMs: 1000 }, pathPrefix: '/' };

  before(async () => {
    a = await backend('a');
    c = await backend('c');
    b = await backend('b', (req, res) => {
      const answer = () => {
        res.writeHead(bReady ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(`b ${req.url}`);
      };
      // A slow check (an app starting under load): HAProxy would count b up until it answers.
      if (req.url === '/healthz' && !bReady) setTimeout(answer, 400);
      else answer();
    });
    proxy = await startProxy();
  });

  after(async () => {
    await proxy?.stop();
    for (const x of [a, b, c]) x?.server.close();
  });

  const states = async () =>
    new Map(
      parseServerStats(await socketCommand(join(proxy.stateDir, 'haproxy.sock'), 'show stat'))
        .filter((r) => r.backend === 'rt_shop:web')
        .map((r) => [r.address, r.status]),
    );
  const at = (x: Backend) => `127.0.0.1:${x.port}`;

  it('a server added beside a serving one gets no request before it passes its check', async () => {
    const t1 = table([route('shop/web', checked, [{ service: 'shop_web', ports: [['t1', a.port]] }])]);
    assert.equal((await proxy.push(t1)).status, 200);
    await eventually(async () => (await get(proxy.httpPort, '/x')).status === 200, 10_000, 'a serves');
    await eventually(async () => (await states()).get(at(a)) === 'UP', 10_000, 'a checked up');

    const t2 = table([
      route('shop/web', checked, [
        {
          service: 'shop_web',
          ports: [
            ['t1', a.port],
            ['t2', b.port],
          ],
        },
      ]),
    ]);
    const r = await proxy.push(t2);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.action, 'runtime');
    const right = await states();
    assert.match(right.get(at(b)) ?? '', /^DOWN/, `b right after the push: ${right.get(at(b))}`);
    for (let i = 0; i < 30; i++) {
      const g = await get(proxy.httpPort, '/x');
      assert.equal(g.status, 200, `request ${i}: ${g.status} ${g.body}`);
      assert.match(g.body, /^a /);
    }
    bReady = true;
    await eventually(async () => (await states()).get(at(b)) === 'UP', 10_000, 'b up after passing its check twice');
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add((await get(proxy.httpPort, '/x')).body.split(' ')[0]);
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  });

  it('a server arriving where no server stays serves at once', async () => {
    const t3 = table([route('shop/web', checked, [{ service: 'shop_web', ports: [['t3', c.port]] }])]);
    const r = await proxy.push(t3);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.action, 'runtime');
    assert.equal((await states()).get(at(c)), 'UP');
    const g = await get(proxy.httpPort, '/x');
    assert.equal(g.status, 200);
    assert.match(g.body, /^c /);
  });
});
