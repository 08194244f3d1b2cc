/**
 * Faults in the proxy tier, on the single-node test Swarm:
 *   1. One of two proxy replicas is killed: the other keeps serving every request, and the
 *      replacement holds the current generation soon after it runs (measured).
 *   2. A table HAProxy cannot load (a TLS certificate that is not one): the proxies keep the
 *      last good table, the controller reports the refusal per replica, and the next good
 *      table goes through.
 * The two replicas cannot both publish a host port on one node, so the traffic comes from a
 * client container the test starts on the tier's edge network (never from the host to an
 * overlay address).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { controller, docker, ensureSwarm, eventually, manifestDir, removeNamespace, rewrite } from './harness.js';
import { buildImages, routeStatus, startTier, stopTier, type Tier } from './routing-tier.js';

const ns = 'e2e-pf';
const tierNs = 'e2e-pfedge';
const client = 'e2e-pf-client';

function app(withBadTls: boolean): Record<string, string> {
  return {
    'app.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: edge, namespace: ${ns}}
spec: {external: true, name: ${tierNs}_edge}
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: 2
  endpointMode: dnsrr
  expose: [8080]
  networks: [edge]
  stopGracePeriod: 2s
---
apiVersion: swarm.controller/v1alpha1
kind: Route
metadata: {name: pf, namespace: ${ns}}
spec: {pathPrefix: /pf, service: web, port: 8080}
${
  withBadTls
    ? `---
apiVersion: swarm.controller/v1alpha1
kind: Route
metadata: {name: secure, namespace: ${ns}}
spec: {hosts: [secure.e2e.test], service: web, port: 8080, tls: {secret: ${ns}-bad-cert}}
`
    : ''
}`,
  };
}

/** The proxy tasks' addresses on the edge network, by task ID. */
async function proxyAddresses(): Promise<Map<string, string>> {
  const ids = (await docker('service', 'ps', '-q', '--filter', 'desired-state=running', `${tierNs}_proxy`))
    .split('\n')
    .filter(Boolean);
  const out = new Map<string, string>();
  if (!ids.length) return out;
  for (const t of JSON.parse(await docker('inspect', ...ids)) as any[]) {
    if (t.Status?.State !== 'running') continue;
    const a = (t.NetworksAttachments ?? []).find((n: any) => n.Network?.Spec?.Name === `${tierNs}_edge`)
      ?.Addresses?.[0];
    if (a) out.set(t.ID, a.split('/')[0]);
  }
  return out;
}

/** Runs a bounded request loop inside the client container: `ms` long, one request at a time per target. */
function loadFromClient(
  targets: string[],
  ms: number,
  /** A file the client writes in its container once every target has answered a request (loadStarted waits for it). */
  startedMark?: string,
): Promise<Record<string, { ok: number; bad: number; errors: number }>> {
  const script = `
const http = require('http');
const targets = ${JSON.stringify(targets)};
const end = Date.now() + ${ms};
const mark = ${JSON.stringify(startedMark ?? '')};
const out = {};
const answered = new Set();
const seen = (t, s) => {
  if (!mark || s < 200 || s >= 300 || answered.has(t)) return;
  answered.add(t);
  if (answered.size === targets.length) require('fs').writeFileSync(mark, String(Date.now()));
};
const one = (t) => new Promise((r) => {
  const req = http.get({ host: t, port: 80, path: '/pf/x', agent: false, timeout: 3000 }, (res) => { res.resume(); res.on('end', () => r(res.statusCode)); });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => r(0));
});
Promise.all(targets.map(async (t) => {
  out[t] = { ok: 0, bad: 0, errors: 0 };
  while (Date.now() < end) {
    const s = await one(t);
    seen(t, s);
    if (s >= 200 && s < 300) out[t].ok++; else if (s === 0) out[t].errors++; else out[t].bad++;
  }
})).then(() => process.stdout.write(JSON.stringify(out)));
`;
  return docker('exec', client, '/usr/local/bin/node', '-e', script).then((s) => JSON.parse(s));
}

/** Waits until a load started with `startedMark` has had an answer from every target (the client wrote the mark). */
function loadStarted(startedMark: string): Promise<void> {
  return eventually(
    // (the test app's image has node and nothing else: no cat, no shell)
    async () =>
      (await docker(
        'exec',
        client,
        '/usr/local/bin/node',
        '-e',
        `process.stdout.write(require('fs').existsSync(${JSON.stringify(startedMark)}) ? 'yes' : '')`,
      ).catch(() => '')) === 'yes',
    30_000,
    'the load to be answered by every target',
  );
}

let tier: Tier;
let dir: string;

describe('proxy tier faults', { timeout: 600_000 }, () => {
  before(async () => {
    buildImages();
    await removeNamespace(ns);
    await docker('rm', '-f', client).catch(() => '');
    await docker('secret', 'rm', `${ns}-bad-cert`).catch(() => '');
    execFileSync('docker', ['secret', 'create', `${ns}-bad-cert`, '-'], {
      input: 'this is not a certificate\n',
      env: { ...process.env, DOCKER_HOST: ensureSwarm() },
    });
    tier = await startTier({
      ns: tierNs,
      httpPort: 0,
      httpsPort: 0,
      proxyReplicas: 2,
      proxySecrets: [`${ns}-bad-cert`],
    });
    dir = await manifestDir(ns, app(false));
    const r = await controller(['apply', '-f', dir, '--set', ns, '--wait', '--timeout', '120s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await docker('run', '-d', '--name', client, '--network', `${tierNs}_edge`, 'swarm-controller/test-app:1');
    await eventually(
      async () => {
        const s = await routeStatus(tier);
        return (
          s.replicas.length === 2 && s.replicas.every((x) => x.inSync) && s.served?.[0]?.backends[0]?.servers === 2
        );
      },
      90_000,
      'both proxies to serve the route',
    );
  });
  after(async () => {
    await docker('rm', '-f', client).catch(() => '');
    await removeNamespace(ns);
    await stopTier(tierNs);
    await docker('secret', 'rm', `${ns}-bad-cert`).catch(() => '');
  });

  it('a proxy replica killed: the other keeps serving every request; the replacement catches up', async () => {
    const before = await proxyAddresses();
    assert.equal(before.size, 2);
    const [victimTask, victimIp] = [...before.entries()][0];
    const survivorIp = [...before.values()][1];
    const load = loadFromClient([survivorIp], 12_000, '/tmp/load-started-kill');
    await loadStarted('/tmp/load-started-kill'); // the survivor answers before the kill
    const container = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.task.id=${victimTask}`)).trim();
    const killedAt = Date.now();
    await docker('kill', container);
    let replacement: string | undefined;
    await eventually(
      async () => {
        const now = await proxyAddresses();
        replacement = [...now.keys()].find((t) => !before.has(t));
        return !!replacement;
      },
      60_000,
      'Swarm to start a replacement proxy',
    );
    const runningAt = Date.parse(JSON.parse(await docker('inspect', replacement!))[0].Status.Timestamp);
    await eventually(
      async () => (await routeStatus(tier)).replicas.some((x) => x.task === replacement && x.inSync),
      30_000,
      'the replacement to hold the current generation',
    );
    const inSyncAt = Date.now();
    const result = await load;
    console.log(
      `proxy replica killed: the survivor answered ${result[survivorIp].ok} requests, ${result[survivorIp].bad} non-2xx, ${result[survivorIp].errors} errors; the replacement ran ${((runningAt - killedAt) / 1000).toFixed(1)} s after the kill and held the current generation ${((inSyncAt - runningAt) / 1000).toFixed(2)} s after it was running (${((inSyncAt - killedAt) / 1000).toFixed(1)} s after the kill; polled every 0.3 s)`,
    );
    assert.ok(result[survivorIp].ok > 0);
    assert.equal(result[survivorIp].bad, 0, 'no error answer from the surviving proxy');
    assert.equal(result[survivorIp].errors, 0, 'no socket error at the surviving proxy');
    const after = await proxyAddresses();
    const check = await loadFromClient([after.get(replacement!)!], 1000);
    assert.ok(Object.values(check)[0].ok > 0 && Object.values(check)[0].bad === 0, 'the replacement serves the route');
    void victimIp;
  });

  it('a table HAProxy cannot load is refused: the last good one keeps serving, the refusal is reported, the next good table goes through', async () => {
    const generationBefore = (await routeStatus(tier)).generation;
    await rewrite(dir, app(true));
    const r = await controller(['apply', '-f', dir, '--set', ns]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await eventually(
      async () => (await routeStatus(tier)).replicas.every((x) => /refused/.test(x.lastError ?? '')),
      30_000,
      'the refusal to be reported for every replica',
    );
    const s = await routeStatus(tier);
    assert.ok(s.generation > generationBefore);
    assert.ok(
      s.replicas.every((x) => !x.inSync && x.generation === generationBefore),
      'the proxies still hold the last good generation',
    );
    console.log(`refused table reported: ${s.replicas[0].lastError}`);
    const addresses = [...(await proxyAddresses()).values()];
    const during = await loadFromClient(addresses, 2000);
    for (const a of addresses)
      assert.ok(during[a].ok > 0 && during[a].bad === 0 && during[a].errors === 0, `proxy ${a} keeps serving /pf`);
    await rewrite(dir, app(false));
    const fixed = await controller(['apply', '-f', dir, '--set', ns, '--prune']);
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
    await eventually(
      async () => (await routeStatus(tier)).replicas.every((x) => x.inSync && x.lastError === null),
      30_000,
      'the next good table to be held by every replica',
    );
  });
});
