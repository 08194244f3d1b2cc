/**
 * Which route a request reaches, against the real HAProxy (no Docker): the frontend's host and
 * path maps (map_beg, longest prefix) and the wildcard rules between them, with the precedence
 * the renderer promises: exact host, then wildcard host, then any host; the longer path prefix
 * first; "/demo" matches "/demo" and "/demo/x", never "/demox". Also a table of 1,000 routes.
 * Owns every HAProxy process it starts. Must not import src/swarm/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backend, get, route, startProxy, table, type Backend, type RunningProxy } from './proxy-harness.js';

describe('routing by host and path with the real HAProxy', () => {
  const backends = new Map<string, Backend>();
  let proxy: RunningProxy;
  /** The id of the backend that answers (each route has its own), or the status when none does. */
  const reach = async (path: string, host?: string) => {
    const a = await get(proxy.httpPort, path, host ? { host } : {});
    return a.status === 200 ? a.body.split(' ')[0] : String(a.status);
  };

  before(async () => {
    for (const id of ['root', 'api', 'v2', 'wild', 'wilddeep', 'narrow', 'demo', 'any'])
      backends.set(id, await backend(id));
    proxy = await startProxy();
    const r = (name: string, over: Parameters<typeof route>[1]) =>
      route(`t/${name}`, over, [{ service: `t_${name}`, ports: [[name, backends.get(name)!.port]] }]);
    const answer = await proxy.push(
      table([
        r('root', { hosts: ['a.example.com'] }),
        r('api', { hosts: ['a.example.com'], pathPrefix: '/api' }),
        r('v2', { hosts: ['a.example.com'], pathPrefix: '/api/v2' }),
        r('wild', { hosts: ['*.example.com'] }),
        r('wilddeep', { hosts: ['*.example.com'], pathPrefix: '/deep' }),
        r('narrow', { hosts: ['*.b.example.com'] }),
        r('demo', { pathPrefix: '/demo' }),
        r('any', {}),
      ]),
    );
    assert.equal(answer.status, 200, answer.body);
  });

  after(async () => {
    await proxy?.stop();
    for (const b of backends.values()) b.server.close();
  });

  it('an exact host takes the longest of its path prefixes, matched on whole segments', async () => {
    assert.equal(await reach('/', 'a.example.com'), 'root');
    assert.equal(await reach('/api', 'a.example.com'), 'api');
    assert.equal(await reach('/api/x?q=1', 'a.example.com'), 'api');
    assert.equal(await reach('/apix', 'a.example.com'), 'root');
    assert.equal(await reach('/api/v2', 'a.example.com'), 'v2');
    assert.equal(await reach('/api/v2/users', 'a.example.com'), 'v2');
    assert.equal(await reach('/api/v20', 'a.example.com'), 'api');
    assert.equal(await reach('/demo', 'a.example.com'), 'root', 'the exact host wins over an any-host path');
  });

  it('the Host header matches without its port and in any case', async () => {
    assert.equal(await reach('/api', 'A.Example.COM:8080'), 'api');
  });

  it('a Host header that is not a host name is not looked up in the host map', async () => {
    // Were it looked up, "a.example.com/api" + "/x/" would match the key "a.example.com/api/".
    assert.equal(await reach('/x', 'a.example.com/api'), 'any');
  });

  it('wildcard hosts come after exact ones: the longer path, then the longer suffix', async () => {
    assert.equal(await reach('/', 'x.example.com'), 'wild');
    assert.equal(await reach('/deep/1', 'x.example.com'), 'wilddeep');
    assert.equal(await reach('/', 'x.b.example.com'), 'narrow');
    assert.equal(await reach('/deep', 'x.b.example.com'), 'wilddeep', 'the longer path prefix first');
    assert.equal(await reach('/', 'example.com'), 'any', '*.example.com does not match example.com');
  });

  it('routes without hosts match by the longest path prefix; without a Host header too', async () => {
    assert.equal(await reach('/demo', 'other.test'), 'demo');
    assert.equal(await reach('/demo/a', 'other.test'), 'demo');
    assert.equal(await reach('/demox', 'other.test'), 'any');
    assert.equal(await reach('/demo%20x/y', 'other.test'), 'any');
    assert.equal(await reach('/demo/', undefined), 'demo');
  });
});

describe('a table of 1,000 routes with the real HAProxy', () => {
  let proxy: RunningProxy;
  let b: Backend;

  before(async () => {
    b = await backend('b', (req, res) => res.end(`b ${req.url}`));
    proxy = await startProxy();
  });

  after(async () => {
    await proxy?.stop();
    b?.server.close();
  });

  it('every fifth host, path and host-less path route reaches its own service', async () => {
    const routes = Array.from({ length: 1000 }, (_, i) =>
      route(
        `big/r${i}`,
        i % 2 ? { hosts: [`s${i % 200}.example.com`], pathPrefix: `/r${i}` } : { pathPrefix: `/r${i}` },
        [{ service: `big_s${i % 200}`, ports: [[`t${i}`, b.port]] }],
      ),
    );
    const answer = await proxy.push(table(routes));
    assert.equal(answer.status, 200, answer.body);
    for (let i = 0; i < 1000; i += 5) {
      const host = i % 2 ? `s${i % 200}.example.com` : 'nohost.test';
      const a = await get(proxy.httpPort, `/r${i}/x`, { host });
      assert.equal(`${a.status} ${a.body}`, `200 b /r${i}/x`, `route ${i}`);
    }
    assert.equal((await get(proxy.httpPort, '/r1/x', { host: 's2.example.com' })).status, 404);
  });
});
