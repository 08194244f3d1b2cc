/**
 * Faults on the single-node test Swarm (the multi-node ones are in test/cluster/). Each test
 * states the fault and what must hold, and prints the measured recovery time; times are
 * figures for docs/reliability.md, never pass/fail.
 *   1. Another tool updates the same services while the controller applies.
 *   2. The controller is killed (SIGKILL) in the middle of an apply of many changes.
 *   3. The manager's engine is killed and restarted in the middle of an apply.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SwarmAccess } from '../../src/api/swarm-access.js';
import { applyRetries, executePlan } from '../../src/apply/execute-plan.js';
import { loadManifests } from '../../src/manifest/load.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { DockerSwarm } from '../../src/swarm/docker-swarm.js';
import { openEngineGate } from './engine-gate.js';
import {
  controller,
  docker,
  ensureSwarm,
  eventually,
  manifestDir,
  planJson,
  removeNamespace,
  repoRoot,
  rewrite,
} from './harness.js';
import { localEngine } from './harness.js';

const ns = 'e2e-faults';
/** Many changes, so that a fault lands with work done before it and left after it. */
const N = 80;
const cli = join(repoRoot, 'dist/src/cli/main.js');
/** Where the faults land: the engine has just done the K-th create (or update) of the apply. */
const K = 20;
const execFileAsync = promisify(execFile);

function services(n: number, version: string): Record<string, string> {
  let text = `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: net, namespace: ${ns}}
spec: {attachable: true}
`;
  for (let i = 0; i < n; i++) {
    text += `---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: s${String(i).padStart(2, '0')}, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: 0
  endpointMode: dnsrr
  networks: [net]
  env: {APP_VERSION: "${version}"}
`;
  }
  return { 'services.yaml': text };
}

interface Live {
  name: string;
  id: string;
  index: number;
  version: string;
  labels: Record<string, string>;
}

async function live(): Promise<Live[]> {
  const ids = (await docker('service', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${ns}`))
    .split('\n')
    .filter(Boolean);
  if (!ids.length) return [];
  return (JSON.parse(await docker('service', 'inspect', ...ids)) as any[])
    .map((s) => ({
      name: s.Spec.Name,
      id: s.ID,
      index: s.Version.Index,
      version:
        (s.Spec.TaskTemplate.ContainerSpec.Env ?? [])
          .find((e: string) => e.startsWith('APP_VERSION='))
          ?.slice('APP_VERSION='.length) ?? '',
      labels: s.Spec.Labels ?? {},
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Nothing left to do and nothing of this set beyond the manifests. */
async function assertConverged(dir: string, n: number, version: string): Promise<void> {
  const plan = await controller(['plan', '-f', dir, '--set', ns, '-o', 'json']);
  assert.equal(plan.code, 0, `no changes left:\n${plan.stdout}${plan.stderr}`);
  const l = await live();
  assert.equal(l.length, n, 'exactly the declared services: none duplicated, none orphaned');
  assert.equal(new Set(l.map((s) => s.name)).size, n);
  assert.ok(
    l.every((s) => s.version === version),
    `every service on version ${version}`,
  );
  const networks = (await docker('network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${ns}`))
    .split('\n')
    .filter(Boolean);
  assert.equal(networks.length, 1, 'one network, not two');
}

let dir: string;

describe('faults on a single-node Swarm', { timeout: 900_000 }, () => {
  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    dir = await manifestDir(ns, services(12, '1'));
    const r = await controller(['apply', '-f', dir, '--set', ns]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => removeNamespace(ns));

  it('another tool updating the same services during an apply: version conflicts retried, everything converges', async () => {
    await rewrite(dir, services(12, '2'));
    const t0 = Date.now();
    let rogueWrites = 0;
    let applying = true;
    // Another tool (docker service update, four writers) keeps writing to the same services meanwhile.
    const rogue = Promise.all(
      [0, 1, 2, 3].map(async (w) => {
        for (let i = w; applying && i < 400; i += 4) {
          await docker(
            'service',
            'update',
            '--detach',
            '--label-add',
            `other.tool=${i}`,
            `${ns}_s${String(i % 12).padStart(2, '0')}`,
          ).then(
            () => rogueWrites++,
            () => undefined,
          );
        }
      }),
    );
    await eventually(async () => rogueWrites >= 4, 30_000, 'the other tool to be writing');
    const r = await controller(['apply', '-f', dir, '--set', ns, '--concurrency', '1', '--log-format', 'json']);
    applying = false;
    await rogue;
    const seconds = (Date.now() - t0) / 1000;
    const retries = (r.stderr.match(/retry|out of sequence/gi) ?? []).length;
    console.log(
      `concurrent writer: ${rogueWrites} writes by the other tool; apply took ${seconds.toFixed(1)} s, exit ${r.code}, ${retries} retry line(s) in its log`,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(
      (await live()).every((s) => s.version === '2'),
      "none of the apply's changes was lost",
    );
    // The other tool's labels are drift from the manifests: the next apply removes them.
    const repair = await controller(['apply', '-f', dir, '--set', ns]);
    assert.equal(repair.code, 0, repair.stdout + repair.stderr);
    await assertConverged(dir, 12, '2');
    assert.ok((await live()).every((s) => s.labels['other.tool'] === undefined));
  });

  it("a write lands between the controller's read and its update: the engine refuses the stale version, the controller re-reads and retries", async () => {
    // The other test leaves the race to chance (and in practice the controller's re-read makes the
    // window small). Here the other tool's write is made to land in it: before the first update of
    // three services, `docker service update` bumps their version, so the update the controller
    // sends carries a stale version index and the real engine refuses it.
    await rewrite(dir, services(12, '3'));
    const real = await DockerSwarm.connect({ host: ensureSwarm() });
    const raced = new Set<string>();
    const engineErrors: string[] = [];
    const racing: SwarmAccess = Object.create(real) as DockerSwarm;
    racing.updateService = async (id, versionIndex, spec) => {
      if (raced.size < 3 && !raced.has(spec.Name!)) {
        raced.add(spec.Name!);
        await docker('service', 'update', '--detach', '--label-add', 'other.tool=raced', spec.Name!);
      }
      try {
        await real.updateService(id, versionIndex, spec);
      } catch (err) {
        engineErrors.push(`${spec.Name}: ${(err as Error).message}`);
        throw err;
      }
    };
    const loaded = await loadManifests([dir]);
    const plan = buildPlan(loaded.desired, await real.readLiveState(), { applySet: ns });
    assert.equal(plan.changes.length, 12, JSON.stringify(plan.changes.map((c) => c.id)));
    const outcomes = await executePlan(plan, racing, { retry: applyRetries, timeoutMs: 60_000 });
    console.log(
      `write in the window: ${engineErrors.length} version conflict(s) from the engine (${engineErrors.map((e) => e.replace(/\s+/g, ' ')).join('; ')}); attempts: ${outcomes.map((o) => o.attempts).join(',')}`,
    );
    assert.equal(engineErrors.length, 3, 'the engine refused each stale update');
    for (const e of engineErrors) assert.match(e, /out of sequence/);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      Array(12).fill('succeeded'),
    );
    assert.deepEqual(
      outcomes.filter((o) => raced.has(o.change.swarmName)).map((o) => o.attempts),
      [2, 2, 2],
      'each raced update retried once',
    );
    assert.ok(
      (await live()).every((s) => s.version === '3'),
      'every change landed',
    );
    await assertConverged(dir, 12, '3');
  });

  it('SIGKILL in the middle of an apply: the next apply creates only what is missing and converges', async () => {
    await removeNamespace(ns);
    await rewrite(dir, services(N, '3'));
    // The kill lands at an exact point: the engine has created service K, and the controller is
    // killed before it reads the engine's answer (the hardest case: it never learnt of K).
    let child: ChildProcess | undefined;
    let exited: Promise<unknown> = Promise.resolve();
    const gate = await openEngineGate({
      engine: ensureSwarm(),
      match: (method, path) => method === 'POST' && path.startsWith('/services/create'),
      onResponse: async (count) => {
        if (count !== K) return;
        child!.kill('SIGKILL');
        await exited;
        return 'drop';
      },
    });
    try {
      child = spawn(process.execPath, [cli, 'apply', '-f', dir, '--set', ns, '--concurrency', '1'], {
        env: { ...process.env, DOCKER_HOST: gate.host, NO_COLOR: '1' },
        stdio: 'ignore',
      });
      exited = new Promise((r) => child!.once('exit', r));
      await exited;
    } finally {
      await gate.close();
    }
    const before = await live();
    assert.equal(before.length, K, `killed with ${K} of ${N} services created (the last one's answer never read)`);
    const t0 = Date.now();
    const plan = planJson(await controller(['plan', '-f', dir, '--set', ns, '-o', 'json']));
    assert.equal(plan.summary.create, N - K, 'only the missing services are planned (the network was created first)');
    assert.equal(plan.summary.update ?? 0, 0, 'nothing already created is written again');
    const r = await controller(['apply', '-f', dir, '--set', ns]);
    console.log(
      `SIGKILL after ${before.length} of ${N} services (the last one's answer unread): recovered (second apply) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const afterKill = new Map((await live()).map((s) => [s.name, s]));
    for (const s of before) assert.equal(afterKill.get(s.name)?.index, s.index, `${s.name} was not written twice`);
    await assertConverged(dir, N, '3');
  });

  it("the manager's engine killed and restarted in the middle of an apply: a second apply reconnects and converges", async () => {
    await rewrite(dir, services(N, '4'));
    const host = ensureSwarm();
    // (the engine under test: its own pid file and `up`, never another engine's)
    const { engine, stateDir } = localEngine();
    if (!engine || !stateDir) throw new Error(`${host} is not an engine of scripts/local-swarm.sh: cannot restart it`);
    const pidFile = join(stateDir, 'dockerd.pid');
    // The engine dies right after it has made update K, before its answer reaches the controller;
    // the controller's later requests find no engine until it is back.
    let killedAt = 0;
    let engineBack: Promise<number> = Promise.resolve(0);
    const gate = await openEngineGate({
      engine: host,
      match: (method, path) => method === 'POST' && /^\/services\/[^/]+\/update/.test(path),
      onResponse: (count) => {
        if (count !== K) return;
        killedAt = Date.now();
        process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
        engineBack = execFileAsync(join(repoRoot, 'scripts/local-swarm.sh'), ['--engine', engine, 'up']).then(() =>
          Date.now(),
        );
        return 'drop';
      },
    });
    let out = '';
    let firstCode: number;
    try {
      const child = spawn(process.execPath, [cli, 'apply', '-f', dir, '--set', ns, '--concurrency', '1'], {
        env: { ...process.env, DOCKER_HOST: gate.host, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      firstCode = await new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
    } finally {
      await gate.close();
    }
    assert.ok(killedAt > 0, `the engine was killed at update ${K}:\n${out}`);
    const back = await engineBack;
    console.log(
      `engine killed after update ${K} of ${N} and back in ${((back - killedAt) / 1000).toFixed(1)} s; the apply in flight exited ${firstCode}`,
    );
    const r = await controller(['apply', '-f', dir, '--set', ns, '--timeout', '120s']);
    const convergedAt = Date.now();
    console.log(
      `engine restart: converged ${((convergedAt - back) / 1000).toFixed(1)} s after the engine answered again (${((convergedAt - killedAt) / 1000).toFixed(1)} s after the kill)`,
    );
    assert.equal(r.code, 0, `${out}\n---\n${r.stdout}${r.stderr}`);
    await assertConverged(dir, N, '4');
  });
});
