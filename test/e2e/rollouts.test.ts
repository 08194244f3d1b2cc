/**
 * Progressive delivery on a real Swarm and HAProxy, under load (issue 17): the controller of a
 * routing tier (two replicas: a leader and a standby) follows a manifest directory; a routed
 * service with a rollout strategy gets each new version as a canary judged by the proxy's own
 * counters. A good version is promoted with no failed request; a version failing 5% of requests
 * is rolled back, and its failed requests are counted against a plain Swarm rolling update
 * (failureAction rollback) of the same version; a slow version is rolled back on latency alone;
 * the leader is killed mid-rollout and the standby continues at the same step. Every rollout's
 * end reaches the controller's --notifications receivers (a JSON webhook and a Slack-style one,
 * served by a recording service of the test's own on the controller's network) exactly once,
 * the one that ended across the leader's death included.
 * Traffic goes only to the proxy's host-mode ports at the published address, in bounded loops.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controller, docker, eventually, publishedAddr, removeNamespace } from './harness.js';
import { request, startLoad, type LoadControl, type LoadResult } from './load.js';
import { buildImages, startTier, stopTier, tierFilesDir, type Tier } from './routing-tier.js';

const ns = 'e2e-ro';
const httpPort = 18580;
const base = `http://${publishedAddr}:${httpPort}`;
/** Requests counted after each bad version's change, canary and plain alike. */
const comparedRequests = Number(process.env.SC_ROLLOUT_COMPARED ?? 6000);
/**
 * Every version answers after this many ms, the slow one after twice as long: on a shared
 * machine the proxy's response times carry tens of ms of scheduling noise, which a 100 ms
 * service keeps small beside the difference judged.
 */
const baseDelayMs = 100;
/** The recording receiver's host-mode port: what the controller's notifications delivered. */
const hooksPort = 18589;
/**
 * The receiver: the test app's image running a recorder instead of the app. It keeps every POST
 * (path, event header, body) and answers GET with the list; bounded by the test's few messages.
 */
const recorder = [
  "const http = require('http'); const got = [];",
  'http.createServer((q, s) => { let b = "";',
  "q.on('data', (c) => { b += c; });",
  "q.on('end', () => { if (q.method === 'POST') { if (got.length < 1000) got.push({ path: q.url, event: q.headers['x-swarm-controller-event'] || '', body: b }); s.writeHead(200); s.end('ok'); }",
  "else { s.writeHead(200, { 'content-type': 'application/json' }); s.end(JSON.stringify(got)); } }); }).listen(8080);",
].join(' ');
const notificationsYaml = `receivers:
  - {name: hook, type: webhook, url: "http://${ns}_hooks:8080/hook"}
  - {name: chat, type: slack, url: "http://${ns}_hooks:8080/chat", events: [rollout-rolled-back, rollout-aborted]}
`;

interface Version {
  version: string;
  errorRate?: number;
  delayMs?: number;
}

function appYaml(web: Version, plain: Version, bg: Version): string {
  const svc = (name: string, v: Version, update: string) => `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: 2
  endpointMode: dnsrr
  expose: [8080]
  networks: [edge]
  env: {APP_VERSION: "${v.version}", ERROR_RATE: "${v.errorRate ?? 0}", DELAY_MS: "${v.delayMs ?? baseDelayMs}"}
  healthcheck: {test: [CMD, /usr/local/bin/node, /app/healthcheck.js], interval: 1s, timeout: 2s, retries: 3}
  updateConfig: ${update}
  stopGracePeriod: 5s
---
`;
  return (
    svc('web', web, '{parallelism: 1, order: start-first, monitor: 2s}') +
    svc('plain', plain, '{parallelism: 1, order: start-first, monitor: 5s, failureAction: rollback}') +
    svc('bg', bg, '{parallelism: 1, order: start-first, monitor: 2s}') +
    `apiVersion: swarm.controller/v1alpha1
kind: Route
metadata: {name: web, namespace: ${ns}}
spec:
  pathPrefix: /ro
  service: web
  port: 8080
  healthCheck: {path: /healthz, interval: 1s}
  rollout:
    steps: [{weight: 20, hold: 10s}, {weight: 50, hold: 10s}, {weight: 100, hold: 10s}]
    interval: 2s
    maxExtension: 120s
    startTimeout: 90s
    analysis:
      latency: [{quantile: 0.5, maxRatio: 1.5}, {quantile: 0.9, maxRatio: 2}]
---
apiVersion: swarm.controller/v1alpha1
kind: Route
metadata: {name: plain, namespace: ${ns}}
spec:
  pathPrefix: /plain
  service: plain
  port: 8080
---
apiVersion: swarm.controller/v1alpha1
kind: Route
metadata: {name: bg, namespace: ${ns}}
spec:
  pathPrefix: /bg
  service: bg
  port: 8080
  healthCheck: {path: /healthz, interval: 1s}
  rollout: {strategy: blueGreen, switchHold: 10s, interval: 2s, maxExtension: 120s, startTimeout: 90s}
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: hooks, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  command: [/usr/local/bin/node, -e, ${JSON.stringify(recorder)}]
  endpointMode: dnsrr
  networks: [control]
  ports: [{target: 8080, published: ${hooksPort}, mode: host}]
  stopGracePeriod: 2s
`
  );
}

interface Delivered {
  path: string;
  event: string;
  body: {
    event: string;
    severity: string;
    app: string;
    revision?: string;
    summary: string;
    rollout?: { service: string; route: string; strategy: string; step: number; steps: number };
  } & { text?: string };
}

/** What the recording receiver got so far. */
async function delivered(): Promise<Delivered[]> {
  const a = await request(`http://${publishedAddr}:${hooksPort}/`);
  return (JSON.parse(a.body) as { path: string; event: string; body: string }[]).map((x) => ({
    ...x,
    body: JSON.parse(x.body) as Delivered['body'],
  }));
}

/** Waits for the webhook's message of a rollout's end: its event, service and revision. */
async function notified(event: string, service: string, revision: string): Promise<Delivered> {
  let found: Delivered | undefined;
  await eventually(
    async () => {
      found = (await delivered().catch(() => [])).find(
        (d) =>
          d.path === '/hook' &&
          d.event === event &&
          d.body.rollout?.service === `${ns}_${service}` &&
          d.body.revision === revision,
      );
      return !!found;
    },
    60_000,
    `the ${event} notification of ${service} at ${revision.slice(0, 12)}`,
  );
  return found!;
}

interface RolloutRecord {
  phase: string;
  step: number;
  canaryWeight: number;
  startedAt: number;
  stepStartedAt: number;
  reason: string;
  writer: string;
  revision: string;
}

/** The rollout record as stored (read with the docker CLI: polling with a node process per look would load the machine). */
async function record(service = 'web'): Promise<RolloutRecord | undefined> {
  const labels = await docker(
    'config',
    'inspect',
    `sc-rollout.${ns}_${service}`,
    '--format',
    '{{json .Spec.Labels}}',
  ).catch(() => '');
  if (!labels) return undefined;
  return JSON.parse((JSON.parse(labels) as Record<string, string>)['swarm.controller/rollout-state']) as RolloutRecord;
}

/** Every state a rollout started after `since` goes through, polled, until it ends. */
async function follow(
  since: number,
  onState?: (r: RolloutRecord) => Promise<void>,
  service = 'web',
): Promise<RolloutRecord[]> {
  const seen: RolloutRecord[] = [];
  await eventually(
    async () => {
      const r = await record(service);
      if (!r || r.startedAt < since) return false;
      const last = seen[seen.length - 1];
      if (!last || last.phase !== r.phase || last.step !== r.step || last.canaryWeight !== r.canaryWeight) seen.push(r);
      await onState?.(r);
      return r.phase === 'succeeded' || r.phase === 'rolled-back';
    },
    420_000,
    'the rollout to finish',
  );
  return seen;
}

let tier: Tier;
/** The proxy's container at the start: under the load of every scenario, its health check must hold. */
let proxyId = '';

async function proxyContainer(): Promise<string> {
  return (await docker('ps', '-q', '--no-trunc', '--filter', `label=com.docker.swarm.service.name=${ns}_proxy`)).trim();
}

async function sameProxy(): Promise<void> {
  assert.equal(await proxyContainer(), proxyId, 'the proxy task was replaced (its health check failed under load)');
}
let current = {
  web: { version: 'v1' } as Version,
  plain: { version: 'v1' } as Version,
  bg: { version: 'v1' } as Version,
};

function deploy(web: Version, plain: Version = current.plain, bg: Version = current.bg): number {
  current = { web, plain, bg };
  writeFileSync(join(tier.dir, 'app.yaml'), appYaml(web, plain, bg));
  return Date.now();
}

async function versionsServing(path: string, n = 40): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const a = await request(base + path).catch(() => undefined);
    if (a?.status === 200) seen.add((JSON.parse(a.body) as { version: string }).version);
  }
  return seen;
}

function failed(r: LoadResult): number {
  return r.sent - r.ok;
}

function summary(r: LoadResult): string {
  return `${r.sent} sent, ${r.ok} ok, non-2xx ${JSON.stringify(r.non2xx)}, errors ${JSON.stringify(r.errors)}`;
}

const load = (path: string, total = 2_000_000): LoadControl => startLoad(base + path, { total, concurrency: 8 });

async function removeRecords(): Promise<void> {
  const ids = (await docker('config', 'ls', '--format', '{{.ID}} {{.Name}}'))
    .split('\n')
    .filter((l) => l.includes(` sc-rollout.${ns}_`))
    .map((l) => l.split(' ')[0]);
  if (ids.length) await docker('config', 'rm', ...ids);
}

describe('progressive rollouts judged by the proxy tier on a real Swarm', { timeout: 3_000_000 }, () => {
  before(async () => {
    buildImages();
    await removeNamespace(ns);
    await removeRecords();
    tier = await startTier({
      ns,
      httpPort,
      httpsPort: 18583,
      controllerReplicas: 2,
      controllerFiles: { 'notifications.yaml': notificationsYaml },
      runArgs: ['--notifications', `${tierFilesDir}/notifications.yaml`],
    });
    deploy({ version: 'v1' }, { version: 'v1' }, { version: 'v1' });
    await eventually(
      async () =>
        (await versionsServing('/ro/x', 10)).has('v1') &&
        (await versionsServing('/plain/x', 10)).has('v1') &&
        (await versionsServing('/bg/x', 10)).has('v1') &&
        Array.isArray(await delivered().catch(() => undefined)),
      180_000,
      'v1 behind /ro, /plain and /bg, and the recording receiver up',
    );
    proxyId = await proxyContainer();
    assert.ok(proxyId && !proxyId.includes('\n'), `one proxy container: ${proxyId}`);
  });
  after(async () => {
    await stopTier(ns);
    await removeRecords();
  });

  it('promotes a good version through every step with no failed request', async () => {
    const l = load('/ro/good');
    const t0 = deploy({ version: 'v2' });
    const seen = await follow(t0);
    await eventually(
      async () => {
        const v = await versionsServing('/ro/x', 20);
        return v.size === 1 && v.has('v2');
      },
      60_000,
      'only v2 answering',
    );
    l.stop();
    const r = await l.done;
    const path = seen.map((s) => `${s.phase}@${s.canaryWeight}`).join(' > ');
    console.log(`good version: ${summary(r)}; ${((Date.now() - t0) / 1000).toFixed(0)} s; ${path}`);
    assert.equal(seen[seen.length - 1].phase, 'succeeded', path);
    for (const w of [20, 50, 100])
      assert.ok(
        seen.some((s) => s.phase === 'progressing' && s.canaryWeight === w),
        `step ${w}% seen: ${path}`,
      );
    assert.ok(
      seen.some((s) => s.phase === 'promoting'),
      path,
    );
    assert.equal(failed(r), 0, summary(r) + JSON.stringify(r.samples));
    assert.equal(
      (await docker('service', 'ls', '--format', '{{.Name}}')).split('\n').includes(`${ns}_web-canary`),
      false,
    );
    const status = await controller(['rollout', 'status', `${ns}/web`]);
    console.log(status.stdout);
    assert.match(status.stdout, /e2e-ro_web {2}succeeded/);
    const n = await notified('rollout-promoted', 'web', seen[seen.length - 1].revision);
    assert.equal(n.body.severity, 'info');
    assert.deepEqual(n.body.rollout, {
      service: `${ns}_web`,
      route: `${ns}/web`,
      strategy: 'canary',
      step: 3,
      steps: 3,
    });
    await sameProxy();
  });

  it('rolls back a version failing 5% of requests, failing far fewer than a plain Swarm rolling update', async () => {
    // The canary: counted from the change over the same number of requests as the plain update below.
    const l = load('/ro/bad', comparedRequests);
    const t0 = deploy({ version: 'v3-bad', errorRate: 0.05 });
    const seen = await follow(t0);
    const rolledBackAfter = l.progress().sent;
    const r = await l.done;
    const last = seen[seen.length - 1];
    console.log(`bad version, canary: ${summary(r)}; rolled back after ${rolledBackAfter} requests: ${last.reason}`);
    assert.equal(last.phase, 'rolled-back', last.reason);
    assert.match(last.reason, /error-rate/);
    const n = await notified('rollout-rolled-back', 'web', last.revision);
    assert.equal(n.body.severity, 'error');
    assert.match(n.body.summary, /rolled back: .*error-rate/);
    // The chat receiver asked for rollbacks: the same news in Slack's shape.
    await eventually(
      async () =>
        (await delivered()).some((d) => d.path === '/chat' && /Rollout rolled back/.test(JSON.stringify(d.body))),
      60_000,
      'the chat message of the rollback',
    );
    const v = await versionsServing('/ro/x', 20);
    assert.deepEqual([...v], ['v2']);
    // The plain Swarm update of the same bad version: it passes its health checks, so Swarm rolls it out.
    const p = load('/plain/bad', comparedRequests);
    deploy(current.web, { version: 'v3-bad', errorRate: 0.05 });
    const pr = await p.done;
    const svc = JSON.parse(await docker('service', 'inspect', `${ns}_plain`))[0] as {
      UpdateStatus?: { State?: string };
    };
    console.log(
      `bad version, plain Swarm update (failureAction rollback): ${summary(pr)}; update state ${svc.UpdateStatus?.State}`,
    );
    assert.ok(
      failed(r) < failed(pr),
      `canary failed ${failed(r)} of ${r.sent}; plain failed ${failed(pr)} of ${pr.sent}`,
    );
    console.log(
      `FIGURE bad-version failed requests over ${comparedRequests}: canary ${failed(r)}, plain Swarm ${failed(pr)}`,
    );
    await sameProxy();
  });

  it('rolls back a version twice as slow on latency alone', async () => {
    const l = load('/ro/slow');
    const t0 = deploy({ version: 'v4-slow', delayMs: 2 * baseDelayMs });
    const seen = await follow(t0);
    l.stop();
    const r = await l.done;
    const last = seen[seen.length - 1];
    console.log(`slow version: ${summary(r)}; ${last.reason}`);
    assert.equal(last.phase, 'rolled-back', last.reason);
    assert.match(last.reason, /latency-p\d+/);
    assert.doesNotMatch(last.reason, /error-rate/);
    assert.match((await notified('rollout-rolled-back', 'web', last.revision)).body.summary, /latency-p\d+/);
    assert.equal(failed(r), 0, summary(r));
    // the record as get and describe show it: the baseline taken before the first step, the failed check
    const described = await controller(['describe', 'service', `${ns}/web`]);
    console.log(described.stdout.slice(described.stdout.indexOf('Rollout (')));
    assert.match(described.stdout, /Rollout \(record sc-rollout\.e2e-ro_web\):\n {2}Phase:\s+rolled-back\n/);
    assert.match(described.stdout, /Baseline:\s+p50 [\d.]+ ms, p99 [\d.]+ ms over \d+ stable requests/);
    assert.match(described.stdout, /Judgement:\s+fail at step 1\/3/);
    assert.match(described.stdout, /latency-p50\s+fail\s+[\d.]+ ms\s+[\d.]+ ms\s+[\d.]+ ms\n/);
    const routes = await controller(['get', 'routes']);
    assert.match(routes.stdout, /^NAME .* ROLLOUT$/m);
    assert.match(routes.stdout, new RegExp(`^${ns}/web .* rolled back at step 1/3 \\S+ ago$`, 'm'), routes.stdout);
    await sameProxy();
  });

  it('continues at the same step when the leader is killed mid-rollout', async () => {
    const l = load('/ro/failover');
    const t0 = deploy({ version: 'v5' });
    let killed: { writer: string; step: number; at: number; startedAt: number } | undefined;
    let resumed: RolloutRecord | undefined;
    const seen = await follow(t0, async (r) => {
      if (!killed && r.phase === 'progressing' && r.step >= 1 && r.canaryWeight > 0) {
        const host = r.writer.replace(/-\d+$/, '');
        const ids = (
          await docker('ps', '-q', '--no-trunc', '--filter', `label=com.docker.swarm.service.name=${ns}_controller`)
        )
          .split('\n')
          .filter(Boolean);
        const id = ids.find((i) => i.startsWith(host));
        assert.ok(id, `the leader ${r.writer} among the controller containers ${ids.join(', ')}`);
        await docker('kill', id);
        killed = { writer: r.writer, step: r.step, at: Date.now(), startedAt: r.startedAt };
        console.log(`killed the leader ${r.writer} at step ${r.step + 1} (${r.canaryWeight}%)`);
      } else if (killed && !resumed && r.writer !== killed.writer) {
        resumed = r;
        console.log(
          `the new leader ${r.writer} wrote ${((Date.now() - killed.at) / 1000).toFixed(1)} s later: ${r.phase}, step ${r.step + 1}, ${r.canaryWeight}%`,
        );
      }
    });
    l.stop();
    const r = await l.done;
    const path = seen.map((s) => `${s.phase}@${s.canaryWeight} by ${s.writer}`).join(' > ');
    console.log(`failover: ${path}`);
    assert.ok(killed && resumed, `the leader was killed and another replica wrote the record: ${path}`);
    assert.equal(resumed.startedAt, killed.startedAt, 'the same rollout, not a new one');
    assert.ok(resumed.step >= killed.step, `resumed at step ${resumed.step + 1}, killed at ${killed.step + 1}`);
    assert.equal(seen[seen.length - 1].phase, 'succeeded');
    // Told by the replica that wrote the end: the new leader.
    await notified('rollout-promoted', 'web', seen[seen.length - 1].revision);
    console.log(`failover: ${summary(r)}`);
    assert.equal(failed(r), 0, summary(r));
    await sameProxy();
  });

  it('switches a good version blue-green at once, judges it with the old one kept up, and promotes it', async () => {
    const l = load('/bg/good');
    const t0 = deploy(current.web, current.plain, { version: 'v2-green' });
    let oldKept = false;
    const seen = await follow(
      t0,
      async (r) => {
        if (!oldKept && r.phase === 'progressing' && r.canaryWeight === 100)
          oldKept = (await docker('service', 'ls', '--format', '{{.Name}} {{.Replicas}}'))
            .split('\n')
            .includes(`${ns}_bg 2/2`);
      },
      'bg',
    );
    await eventually(
      async () => {
        const v = await versionsServing('/bg/x', 20);
        return v.size === 1 && v.has('v2-green');
      },
      60_000,
      'only v2-green answering',
    );
    l.stop();
    const r = await l.done;
    const path = seen.map((x) => `${x.phase}@${x.canaryWeight}`).join(' > ');
    console.log(`blue-green: ${summary(r)}; ${((Date.now() - t0) / 1000).toFixed(0)} s; ${path}`);
    assert.equal(seen[seen.length - 1].phase, 'succeeded', path);
    assert.ok(!seen.some((x) => x.phase === 'progressing' && x.canaryWeight > 0 && x.canaryWeight < 100), path);
    assert.ok(oldKept, `the old version kept running (2/2) while the new one had all traffic: ${path}`);
    const n = await notified('rollout-promoted', 'bg', seen[seen.length - 1].revision);
    assert.equal(n.body.rollout?.strategy, 'blueGreen');
    assert.equal(failed(r), 0, summary(r));
    await sameProxy();
  });

  it('sent each rollout end once, to each receiver that wanted it, across the leader change', async () => {
    // Checked after every scenario ran (minutes of resyncs, a leader change): no end was told twice.
    const got = await delivered();
    const ends = got.map(
      (d) => `${d.path} ${d.event || 'chat'} ${d.body.rollout?.service ?? ''} ${d.body.revision ?? d.body.text ?? ''}`,
    );
    console.log(`notifications received:\n${ends.join('\n')}`);
    const hooks = got.filter((d) => d.path === '/hook');
    assert.deepEqual(
      hooks.map((d) => `${d.event} ${d.body.rollout?.service}`).sort(),
      [
        `rollout-promoted ${ns}_bg`,
        `rollout-promoted ${ns}_web`,
        `rollout-promoted ${ns}_web`,
        `rollout-rolled-back ${ns}_web`,
        `rollout-rolled-back ${ns}_web`,
      ],
      ends.join('\n'),
    );
    assert.equal(new Set(hooks.map((d) => `${d.event} ${d.body.revision}`)).size, hooks.length, ends.join('\n'));
    assert.equal(got.filter((d) => d.path === '/chat').length, 2, ends.join('\n'));
  });
});
