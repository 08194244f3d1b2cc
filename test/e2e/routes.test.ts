/**
 * The proxy tier on a real Swarm: Route manifests applied with the CLI become HAProxy routes
 * in the proxy image, kept in step with the tasks by the controller running in the cluster.
 * Every request goes to the proxy's host-mode port at the published address; the proxy reaches the tasks
 * over the tier's edge overlay.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { controller, docker, eventually, manifestDir, publishedAddr, removeNamespace, rewrite } from './harness.js';
import { request, startLoad } from './load.js';
import { buildImages, proxyAgentStatus, routeStatus, startTier, stopTier, type Tier } from './routing-tier.js';

const ns = 'e2e-routes';
const tierNs = 'e2e-edge';
const httpPort = 18480;
const base = `http://${publishedAddr}:${httpPort}`;

interface AppOptions {
  web: number;
  version?: string;
  apiRoute?: boolean;
  serverTimeout?: string;
}

function app(o: AppOptions): Record<string, string> {
  const svc = (name: string, replicas: number, networks: string, extra = '') => `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: ${replicas}
  endpointMode: dnsrr
  expose: [8080]
  networks: ${networks}
  env: {APP_VERSION: "${name === 'web' ? (o.version ?? '1') : name}"}
  healthcheck: {test: [CMD, /usr/local/bin/node, /app/healthcheck.js], interval: 1s, timeout: 2s, retries: 3}
  updateConfig: {parallelism: 1, order: start-first, monitor: 2s}
  stopGracePeriod: 5s
${extra}---
`;
  const route = (name: string, spec: string) => `apiVersion: swarm.controller/v1alpha1
kind: Route
metadata: {name: ${name}, namespace: ${ns}}
spec:
${spec}
---
`;
  return {
    'networks.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: edge, namespace: ${ns}}
spec: {external: true, name: ${tierNs}_edge}
---
apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: private, namespace: ${ns}}
spec: {attachable: true}
`,
    'services.yaml': svc('web', o.web, '[edge]') + svc('api', 2, '[edge]') + svc('lonely', 1, '[private]'),
    'routes.yaml':
      route(
        'demo',
        `  pathPrefix: /e2e\n  stripPrefix: true\n  service: web\n  port: 8080\n  sticky: {cookie: E2E_SRV}\n  timeouts: {server: ${o.serverTimeout ?? '60s'}}`,
      ) +
      (o.apiRoute === false ? '' : route('api-host', '  hosts: [api.e2e.test]\n  service: api\n  port: 8080')) +
      route('lonely', '  pathPrefix: /lonely\n  service: lonely\n  port: 8080'),
  };
}

let tier: Tier;
let dir: string;

async function apply(o: AppOptions, ...flags: string[]): Promise<void> {
  await rewrite(dir, app(o));
  const r = await controller(['apply', '-f', dir, '--set', ns, '--prune', ...flags]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

/** The distinct tasks answering `n` requests to a path. */
async function tasksServing(
  path: string,
  n: number,
  headers: Record<string, string> = {},
): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const a = await request(base + path, headers).catch(() => undefined);
    if (a?.task) seen.set(a.task, (seen.get(a.task) ?? 0) + 1);
  }
  return seen;
}

const runningTasks = async (service: string) =>
  (await docker('service', 'ps', service, '--filter', 'desired-state=running', '--format', '{{.CurrentState}}'))
    .split('\n')
    .filter((l) => l.startsWith('Running')).length;

describe('routes through the proxy tier on a real Swarm', { timeout: 1_200_000 }, () => {
  before(async () => {
    buildImages();
    await removeNamespace(ns);
    tier = await startTier({ ns: tierNs, httpPort, httpsPort: 18483 });
    dir = await manifestDir(ns, app({ web: 5 }));
    const r = await controller(['apply', '-f', dir, '--set', ns, '--wait', '--timeout', '120s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    await removeNamespace(ns);
    await stopTier(tierNs);
  });

  it('spreads 1,000 requests on a path route over all 5 replicas, each within 15% of an even share', async () => {
    await eventually(async () => (await tasksServing('/e2e/x', 25)).size === 5, 60_000, 'all 5 tasks behind /e2e');
    const load = startLoad(`${base}/e2e/hello`, { total: 1000, concurrency: 4 });
    const r = await load.done;
    assert.equal(r.ok, 1000, JSON.stringify(r.samples));
    const counts = Object.values(r.byTask);
    assert.equal(counts.length, 5, JSON.stringify(r.byTask));
    for (const c of counts)
      assert.ok(c >= 170 && c <= 230, `each task should serve 200 +- 15%: ${JSON.stringify(r.byTask)}`);
    console.log(`1,000 requests over 5 tasks: ${JSON.stringify(Object.values(r.byTask))}`);
  });

  it('strips the prefix: the task sees the path after /e2e', async () => {
    const a = await request(`${base}/e2e/items?x=1`);
    assert.equal(a.status, 200);
    assert.equal(JSON.parse(a.body).url, '/items?x=1');
  });

  it('keeps a session on one task with the cookie, spreads without it', async () => {
    const first = await request(`${base}/e2e/`);
    const cookie = String(first.headers['set-cookie'] ?? '').split(';')[0];
    assert.match(cookie, /^E2E_SRV=/);
    const sticky = await tasksServing('/e2e/', 100, { cookie });
    assert.deepEqual([...sticky.values()], [100], `100 of 100 on one task: ${JSON.stringify([...sticky])}`);
    assert.equal([...sticky.keys()][0], first.task);
    const spread = await tasksServing('/e2e/', 20);
    assert.ok(spread.size >= 4, `without the cookie requests spread: ${JSON.stringify([...spread])}`);
  });

  it('serves a host route and a path route side by side; an unknown path is 404', async () => {
    const byHost = await request(`${base}/anything`, { host: 'api.e2e.test' });
    assert.equal(byHost.status, 200);
    assert.equal(JSON.parse(byHost.body).version, 'api');
    const byPath = await request(`${base}/e2e/anything`, { host: 'other.example' });
    assert.equal(JSON.parse(byPath.body).version, '1');
    assert.equal((await request(`${base}/nothing-here`)).status, 404);
  });

  it('reports a broken route and leaves it out, while the others keep serving', async () => {
    const s = await routeStatus(tier);
    const broken = s.broken.find((b) => b.route === `${ns}/lonely`);
    assert.ok(broken, `the lonely route is reported: ${JSON.stringify(s.broken)}`);
    assert.match(broken.problem, /network/);
    assert.equal((await request(`${base}/lonely/x`)).status, 404);
    assert.equal((await request(`${base}/e2e/x`)).status, 200);
    assert.ok(
      s.replicas.every((r) => r.inSync && r.generation === s.generation),
      JSON.stringify(s.replicas),
    );
  });

  it('removing a route answers 404 for its requests only', async () => {
    await apply({ web: 5, apiRoute: false });
    await eventually(
      async () => (await request(`${base}/anything`, { host: 'api.e2e.test' })).status === 404,
      30_000,
      'the api-host route to go',
    );
    assert.equal((await request(`${base}/e2e/x`, { host: 'api.e2e.test' })).status, 200);
  });

  it('scale 1 to 3: the new tasks serve through the proxy with no other action', async () => {
    await apply({ web: 1, apiRoute: false }, '--wait', '--timeout', '120s');
    await eventually(async () => (await tasksServing('/e2e/x', 10)).size === 1, 30_000, 'one task behind /e2e');
    const t = Date.now();
    await apply({ web: 3, apiRoute: false });
    await eventually(async () => (await tasksServing('/e2e/x', 12)).size === 3, 60_000, 'three tasks behind /e2e');
    console.log(
      `scale 1 -> 3: all 3 tasks serving through the proxy ${((Date.now() - t) / 1000).toFixed(1)} s after the apply`,
    );
  });

  it('under load: scale 5 -> 1 -> 5, a start-first update and a reload, with no error answer and no socket error', async () => {
    await apply({ web: 5, apiRoute: false }, '--wait', '--timeout', '120s');
    const load = startLoad(`${base}/e2e/load`, { total: 200_000, concurrency: 8 });
    const t = Date.now();
    const step = async (what: string, o: AppOptions) => {
      await apply(o, '--wait', '--timeout', '180s');
      console.log(`  ${((Date.now() - t) / 1000).toFixed(1)} s: ${what} (${load.progress().sent} requests so far)`);
    };
    const atStart = await proxyAgentStatus(tier);
    await step('scaled to 1', { web: 1, apiRoute: false });
    await eventually(async () => (await runningTasks(`${ns}_web`)) === 1, 60_000, 'one web task');
    await step('scaled to 5', { web: 5, apiRoute: false });
    await step('start-first rolling update to version 2', { web: 5, version: '2', apiRoute: false });
    const beforeRouteChange = await proxyAgentStatus(tier);
    console.log(
      `  scaling and the rolling update: ${beforeRouteChange.runtimeUpdates - atStart.runtimeUpdates} Runtime API updates, ${beforeRouteChange.reloads - atStart.reloads} reloads`,
    );
    assert.ok(beforeRouteChange.runtimeUpdates > atStart.runtimeUpdates, 'task changes went through the Runtime API');
    await step('route change (server timeout), a reload', {
      web: 5,
      version: '2',
      apiRoute: false,
      serverTimeout: '61s',
    });
    await eventually(
      async () => (await routeStatus(tier)).replicas.every((r) => r.inSync),
      30_000,
      'the reload to be acknowledged',
    );
    assert.ok((await proxyAgentStatus(tier)).reloads > beforeRouteChange.reloads, 'the route change reloaded HAProxy');
    await eventually(async () => load.progress().sent >= 20_000, 600_000, 'at least 20,000 requests');
    load.stop();
    const r = await load.done;
    const seconds = (Date.now() - t) / 1000;
    console.log(
      `load: ${r.sent} requests in ${seconds.toFixed(1)} s (${(r.sent / seconds).toFixed(0)}/s), ${r.ok} 2xx, non-2xx ${JSON.stringify(r.non2xx)}, errors ${JSON.stringify(r.errors)}, ${Object.keys(r.byTask).length} tasks served`,
    );
    assert.ok(r.sent >= 20_000);
    assert.deepEqual(r.non2xx, {}, JSON.stringify(r.samples));
    assert.deepEqual(r.errors, {}, JSON.stringify(r.samples));
    assert.equal(r.ok, r.sent);
    assert.equal(JSON.parse((await request(`${base}/e2e/x`)).body).version, '2');
  });
});
