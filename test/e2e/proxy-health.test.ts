/**
 * The route tier's status shows the servers as the proxies see them, over a real HAProxy: a
 * route with a health check and two backends, one whose tasks answer /healthz with 500
 * (the test app's UNHEALTHY=1; Swarm keeps them running, no Swarm healthcheck), one healthy.
 * The proxy's own health check marks the sick task DOWN; the leader reads it from the replica
 * (GET /v1/stats) and the status it writes into the Swarm says `down` for that server and `up`
 * for the other, as `controller get routes -o json|wide` and `describe route` show it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { controller, eventually, manifestDir, removeNamespace } from './harness.js';
import { buildImages, startTier, stopTier } from './routing-tier.js';

const ns = 'e2e-health';
const tierNs = 'e2e-health-edge';

const svc = (name: string, env: string) => `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: 1
  endpointMode: dnsrr
  expose: [8080]
  networks: [edge]
  env: {APP_VERSION: ${name}${env}}
  stopGracePeriod: 1s
---
`;
const app = {
  'app.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: edge, namespace: ${ns}}
spec: {external: true, name: ${tierNs}_edge}
---
${svc('good', '')}${svc('sick', ', UNHEALTHY: "1"')}apiVersion: swarm.controller/v1alpha1
kind: Route
metadata: {name: site, namespace: ${ns}}
spec:
  pathPrefix: /health-e2e
  backends:
    - {service: good, port: 8080, weight: 1}
    - {service: sick, port: 8080, weight: 1}
  healthCheck: {path: /healthz, interval: 1s}
`,
};

interface Server {
  task: string;
  address: string;
  health?: string;
  proxies?: { replica: string; health: string; state?: string; weight?: number }[];
}
interface RouteItem {
  route: string;
  proxy: string;
  backends: { service: string; servers: Server[] }[];
}

/**
 * The route as this test's tier has it in the status in the Swarm (`controller get routes -o
 * json` reads the Swarm, and lists a route once for each route tier that runs there).
 */
async function siteInSwarmStatus(): Promise<RouteItem | undefined> {
  const r = await controller(['get', 'routes', '-o', 'json']);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { items: RouteItem[] }).items.find(
    (x) => x.route === `${ns}/site` && x.proxy === `${tierNs}_proxy`,
  );
}

describe('servers as the proxies see them', { timeout: 600_000 }, () => {
  before(async () => {
    buildImages();
    await removeNamespace(ns);
    await startTier({ ns: tierNs, httpPort: 0, httpsPort: 0 });
  });
  after(async () => {
    await removeNamespace(ns);
    await stopTier(tierNs);
  });

  it("a backend the proxy's health check marks down is down in the status in the Swarm; the healthy one up", async () => {
    const dir = await manifestDir(ns, app);
    const r = await controller(['apply', '-f', dir, '--set', ns, '--wait', '--timeout', '120s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    let last: RouteItem | undefined;
    const backend = (name: string) => last?.backends.find((b) => b.service === `${ns}_${name}`);
    const health = (name: string) => backend(name)?.servers[0]?.health;
    await eventually(
      async () => {
        last = await siteInSwarmStatus();
        return health('sick') === 'down' && health('good') === 'up';
      },
      120_000,
      'the sick server down and the good one up in the status in the Swarm',
      { detail: () => JSON.stringify(last) },
    );
    const sick = backend('sick')!.servers[0];
    const good = backend('good')!.servers[0];
    assert.equal(sick.proxies!.length, 1, 'one proxy replica');
    assert.match(sick.proxies![0].state!, /^DOWN/, "HAProxy's own word for it");
    assert.equal(good.proxies![0].state, 'UP');
    assert.equal(typeof good.proxies![0].weight, 'number');
    console.log(`as the proxy sees them: sick ${JSON.stringify(sick.proxies)}; good ${JSON.stringify(good.proxies)}`);

    const wide = await controller(['get', 'routes', '-o', 'wide']);
    const line = wide.stdout.split('\n').find((l) => l.startsWith(`${ns}/site`) && l.includes(`${tierNs}_proxy`))!;
    assert.match(line, /1 up, 1 down|1 down, 1 up/);
    assert.match(wide.stdout, /hold the current table/);
    const described = await controller(['describe', 'route', `${ns}/site`]);
    assert.equal(described.code, 0, described.stderr);
    assert.match(
      described.stdout,
      new RegExp(`${ns}_sick\\s+\\d+\\s+${sick.address.replace(/\./g, '\\.')}:8080\\s+\\S+\\s+down\\s+\\S+=DOWN`),
    );
    assert.match(
      described.stdout,
      /Proxy replicas:\n\s+TASK\s+ADDRESS\s+GENERATION\s+TABLE\s+PROBLEM\n\s+\S+\s+\S+\s+\d+\s+current\s+-/,
    );
  });
});
