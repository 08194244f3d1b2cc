/**
 * Header and cookie matching of a rollout on a real Swarm and HAProxy, under load (issue 17): a
 * routed service whose rollout has `match` and a first step of weight 0 gets its new version as a
 * canary that, in that match phase, only requests with `X-Canary: 1` (or the cookie
 * `canary=always`) reach, while every other request reaches only the stable version; the phase is
 * judged on that traffic, then the weighted steps follow (matching requests still go to the
 * canary) and the version is promoted, with no failed request in either load.
 * Traffic goes only to the proxy's host-mode port at the published address, in bounded loops.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controller, docker, eventually, publishedAddr, removeNamespace } from './harness.js';
import { request, startLoad, type LoadResult } from './load.js';
import { buildImages, startTier, stopTier, type Tier } from './routing-tier.js';

const ns = 'e2e-rm';
const httpPort = 18590;
const base = `http://${publishedAddr}:${httpPort}`;
const canaryHeader = { 'x-canary': '1' };

function appYaml(version: string): string {
  return `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: 2
  endpointMode: dnsrr
  expose: [8080]
  networks: [edge]
  env: {APP_VERSION: "${version}", DELAY_MS: "20"}
  healthcheck: {test: [CMD, /usr/local/bin/node, /app/healthcheck.js], interval: 1s, timeout: 2s, retries: 3}
  updateConfig: {parallelism: 1, order: start-first, monitor: 2s}
  stopGracePeriod: 5s
---
apiVersion: swarm.controller/v1alpha1
kind: Route
metadata: {name: web, namespace: ${ns}}
spec:
  pathPrefix: /rm
  service: web
  port: 8080
  healthCheck: {path: /healthz, interval: 1s}
  rollout:
    match:
      - header: {name: X-Canary, value: "1"}
      - cookie: {name: canary, value: always}
    steps: [{weight: 0, hold: 40s}, {weight: 50, hold: 10s}, {weight: 100, hold: 10s}]
    interval: 2s
    maxExtension: 120s
    startTimeout: 90s
    analysis:
      minRequests: 60
      maxErrorRate: 0.05
      latency: [{quantile: 0.5, maxRatio: 1.5}]
`;
}

interface RolloutRecord {
  phase: string;
  step: number;
  canaryWeight: number;
  matching?: boolean;
  startedAt: number;
  reason: string;
}

/** The rollout record as stored (the docker CLI: a node process per look would load the machine). */
async function record(): Promise<RolloutRecord | undefined> {
  const labels = await docker('config', 'inspect', `sc-rollout.${ns}_web`, '--format', '{{json .Spec.Labels}}').catch(
    () => '',
  );
  if (!labels) return undefined;
  return JSON.parse((JSON.parse(labels) as Record<string, string>)['swarm.controller/rollout-state']) as RolloutRecord;
}

/** Answers of n requests (4 at a time) by version; failed requests fail the test. */
async function probe(n: number, headers: Record<string, string>): Promise<Record<string, number>> {
  const l = startLoad(`${base}/rm/probe`, { total: n, concurrency: 4, headers });
  const r = await l.done;
  assert.equal(r.sent - r.ok, 0, summary(r));
  return r.byVersion;
}

function summary(r: LoadResult): string {
  return `${r.sent} sent, ${r.ok} ok, by version ${JSON.stringify(r.byVersion)}, non-2xx ${JSON.stringify(r.non2xx)}, errors ${JSON.stringify(r.errors)}`;
}

let tier: Tier;

async function removeRecord(): Promise<void> {
  await docker('config', 'rm', `sc-rollout.${ns}_web`).catch(() => '');
}

describe('header and cookie matching of a rollout on a real Swarm', { timeout: 1_200_000 }, () => {
  before(async () => {
    buildImages();
    await removeNamespace(ns);
    await removeRecord();
    tier = await startTier({ ns, httpPort, httpsPort: 18593, controllerReplicas: 1 });
    writeFileSync(join(tier.dir, 'app.yaml'), appYaml('v1'));
    await eventually(
      async () => (await request(`${base}/rm/x`).catch(() => undefined))?.version === 'v1',
      180_000,
      'v1 behind /rm',
    );
  });
  after(async () => {
    await stopTier(ns);
    await removeRecord();
  });

  it('sends only matching requests to the canary in the match phase, then weights, with no failed request', async () => {
    const plain = startLoad(`${base}/rm/plain`, { total: 2_000_000, concurrency: 4 });
    const matched = startLoad(`${base}/rm/matched`, { total: 2_000_000, concurrency: 4, headers: canaryHeader });
    const t0 = Date.now();
    writeFileSync(join(tier.dir, 'app.yaml'), appYaml('v2'));
    const seen: string[] = [];
    let matchPhase:
      | {
          withHeader: Record<string, number>;
          withCookie: Record<string, number>;
          without: Record<string, number>;
          status: string;
        }
      | undefined;
    let weighted: Record<string, number> | undefined;
    await eventually(
      async () => {
        const r = await record();
        if (!r || r.startedAt < t0) return false;
        const label = `${r.phase}@${r.canaryWeight}${r.matching ? '+match' : ''}`;
        if (seen[seen.length - 1] !== label) seen.push(label);
        if (!matchPhase && r.phase === 'progressing' && r.step === 0 && r.matching) {
          // Served once a matching request reaches v2 (every proxy replica has the table).
          await eventually(
            async () => (await request(`${base}/rm/x`, canaryHeader).catch(() => undefined))?.version === 'v2',
            30_000,
            'a matching request answered by the canary',
          );
          const [withHeader, withCookie, without] = await Promise.all([
            probe(150, canaryHeader),
            probe(40, { cookie: 'session=abc; canary=always' }),
            probe(150, {}),
          ]);
          const status = (await controller(['rollout', 'status', `${ns}/web`])).stdout;
          const still = await record();
          matchPhase = { withHeader, withCookie, without, status };
          console.log(`match phase (still step ${(still?.step ?? -1) + 1}): ${JSON.stringify(matchPhase)}`);
          assert.equal(still?.step, 0, 'the probes ran within the match phase');
        }
        if (!weighted && r.phase === 'progressing' && r.canaryWeight === 50) {
          weighted = await probe(100, canaryHeader);
          console.log(`50% step, matching requests: ${JSON.stringify(weighted)}`);
        }
        return r.phase === 'succeeded' || r.phase === 'rolled-back';
      },
      600_000,
      'the rollout to finish',
    );
    plain.stop();
    matched.stop();
    const [p, m] = [await plain.done, await matched.done];
    const last = await record();
    console.log(`match rollout: ${((Date.now() - t0) / 1000).toFixed(0)} s; ${seen.join(' > ')}; ${last?.reason}`);
    console.log(`load without the header: ${summary(p)}`);
    console.log(`load with the header: ${summary(m)}`);
    assert.equal(last?.phase, 'succeeded', last?.reason);
    assert.ok(matchPhase, `the match phase was seen: ${seen.join(' > ')}`);
    assert.deepEqual(matchPhase.withHeader, { v2: 150 });
    assert.deepEqual(matchPhase.withCookie, { v2: 40 });
    assert.deepEqual(matchPhase.without, { v1: 150 });
    assert.match(matchPhase.status, /step 1\/3 \(match only\)/);
    assert.deepEqual(weighted, { v2: 100 }, 'matching requests stay on the canary beside the weights');
    assert.ok(seen.includes('progressing@50+match') && seen.includes('progressing@100+match'), seen.join(' > '));
    assert.equal(p.sent - p.ok, 0, summary(p));
    assert.equal(m.sent - m.ok, 0, summary(m));
    assert.ok(
      (await request(`${base}/rm/x`)).version === 'v2' &&
        (await request(`${base}/rm/x`, canaryHeader)).version === 'v2',
    );
  });
});
