/**
 * Header and cookie matching (a rollout's canary first) against the real HAProxy and agent, no
 * Docker: a matching request reaches only the canary's servers, any other request follows the
 * weights (here all to stable), for a route found by the host map, a wildcard rule and the path
 * map alike; values are matched literally whatever characters they hold; a canary without a
 * server sends matching requests to stable, not a 503; the agent counts the match backend's
 * requests as the canary task's. Owns every HAProxy process and server it starts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backend, call, route, spread, startProxy, table, type Backend, type RunningProxy } from './proxy-harness.js';
import type { Route, RouteMatchRule } from '../../src/proxy/route-table.js';
import type { TrafficStats } from '../../src/proxy/traffic-counters.js';

describe('header and cookie matching with the real HAProxy', () => {
  const servers = new Map<string, Backend>();
  let proxy: RunningProxy;
  const evil = `it's #1, $HOME \\ "q" -x`;
  const rules: RouteMatchRule[] = [
    { kind: 'header', name: 'X-Canary', value: '1' },
    { kind: 'header', name: 'X-User', regex: '^(alice|bob)@example\\.com$' },
    { kind: 'cookie', name: 'canary', value: 'always' },
    { kind: 'header', name: 'X-Evil', value: evil },
  ];
  const withMatch = (name: string, over: Partial<Route>, canaryServers = true): Route => ({
    ...route(name, over, [
      { service: 'app', weight: 100, ports: [['stable', servers.get('stable')!.port]] },
      { service: 'app-canary', weight: 0, ports: canaryServers ? [['canary', servers.get('canary')!.port]] : [] },
    ]),
    match: { service: 'app-canary', rules },
  });

  before(async () => {
    for (const id of ['stable', 'canary']) servers.set(id, await backend(id));
    proxy = await startProxy();
    const answer = await proxy.push(
      table([
        withMatch('t/hosted', { hosts: ['a.example.com'] }),
        withMatch('t/wild', { hosts: ['*.w.example.com'] }),
        withMatch('t/pathed', { pathPrefix: '/p' }),
        withMatch('t/empty', { pathPrefix: '/empty' }, false),
      ]),
    );
    assert.equal(answer.status, 200, answer.body);
  });

  after(async () => {
    await proxy?.stop();
    for (const b of servers.values()) b.server.close();
  });

  const reach = (path: string, headers: Record<string, string>) => spread(proxy.httpPort, path, 8, headers);
  const only = (m: Map<string, number>) => [...m.keys()].join(',');

  for (const [label, path, host] of [
    ['exact host', '/', 'a.example.com'],
    ['wildcard host', '/', 'x.w.example.com'],
    ['path map', '/p/x', 'other.example.com'],
  ] as const) {
    it(`${label}: matching requests reach only the canary, the others only stable`, async () => {
      assert.equal(only(await reach(path, { host })), 'stable');
      assert.equal(only(await reach(path, { host, 'x-canary': '1' })), 'canary');
      assert.equal(only(await reach(path, { host, 'x-canary': '2' })), 'stable');
      assert.equal(only(await reach(path, { host, 'x-user': 'bob@example.com' })), 'canary');
      assert.equal(only(await reach(path, { host, 'x-user': 'bob@exampleXcom' })), 'stable');
      assert.equal(only(await reach(path, { host, cookie: 'a=b; canary=always' })), 'canary');
      assert.equal(only(await reach(path, { host, cookie: 'canary=never' })), 'stable');
    });
  }

  it('a value with quotes, "#", "$", "\\" and spaces is matched literally (no config injection)', async () => {
    assert.equal(only(await reach('/p', { 'x-evil': evil })), 'canary');
    assert.equal(only(await reach('/p', { 'x-evil': "it's" })), 'stable');
  });

  it('a canary without a server sends matching requests to stable, not a 503', async () => {
    assert.equal(only(await reach('/empty', { 'x-canary': '1' })), 'stable');
  });

  it("the agent counts the match backend's requests as the canary task's, none unattributed", async () => {
    await reach('/p', { 'x-canary': '1' });
    // The log lines arrive just after the answers: read until the canary has them (bounded).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await call(proxy.controlPort, 'GET', '/v1/stats');
      assert.equal(r.status, 200, r.body);
      const stats = r.json as TrafficStats;
      const pathed = stats.routes.find((x) => x.route === 't/pathed');
      const canary = pathed?.servers.find((x) => x.task === 'canary');
      if (pathed && canary && canary.requests >= 8) {
        assert.equal(pathed.unattributed.requests, 0, JSON.stringify(pathed));
        break;
      }
      if (Date.now() > deadline) assert.fail(`the canary task counted too few requests: ${JSON.stringify(pathed)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  });
});
