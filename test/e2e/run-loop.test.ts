import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signGithub } from '../../src/controller/webhook.js';
import {
  controller,
  docker,
  ensureSwarm,
  eventually,
  inspectService,
  removeControllerRecords,
  removeNamespace,
  repoRoot,
} from './harness.js';

const ns = 'e2e-run';
const secret = 'e2e-webhook-secret';
const work = mkdtempSync(join(tmpdir(), 'sc-run-'));
const bare = join(work, 'repo.git');
const clone = join(work, 'clone');
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.com', ...args], { cwd, encoding: 'utf8' });

function manifest(o: { replicas?: number; env?: string; broken?: boolean } = {}): string {
  return `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: app, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: ${o.broken ? '"many"' : (o.replicas ?? 1)}
  endpointMode: dnsrr
  env: {APP_VERSION: "1", API_TOKEN: "run-secret-4711"${o.env ?? ''}}
  stopGracePeriod: 1s
  updateConfig: {monitor: 1s}
`;
}

function commit(text: string, message: string): string {
  writeFileSync(join(clone, 'deploy', 'app.yaml'), text);
  git(clone, 'add', '-A');
  git(clone, 'commit', '-qm', message);
  git(clone, 'push', '-q', 'origin', 'main');
  return git(clone, 'rev-parse', 'HEAD').trim();
}

interface Running {
  proc: ChildProcess;
  port: number;
  logs: string[];
  exit: Promise<number>;
}
const running: Running[] = [];

function startController(identity: string, port: number, extra: string[] = []): Running {
  const proc = spawn(
    process.execPath,
    [
      join(repoRoot, 'dist/src/cli/main.js'),
      'run',
      '--source',
      `${bare}#main:deploy`,
      '--set',
      ns,
      '--no-routes',
      '--interval',
      '10s',
      '--resync',
      '4s',
      '--lease-duration',
      '4s',
      '--listen',
      `127.0.0.1:${port}`,
      '--identity',
      identity,
      '--webhook-secret-file',
      join(work, 'secret'),
      '--cache-dir',
      join(work, `cache-${identity}`),
      ...extra,
    ],
    { env: { ...process.env, DOCKER_HOST: ensureSwarm() } },
  );
  const logs: string[] = [];
  proc.stderr.on('data', (d) => logs.push(...String(d).split('\n').filter(Boolean)));
  proc.stdout.on('data', (d) => logs.push(...String(d).split('\n').filter(Boolean)));
  const exit = new Promise<number>((r) => proc.on('exit', (code, signal) => r(code ?? (signal ? 128 : -1))));
  const r = { proc, port, logs, exit };
  running.push(r);
  return r;
}

async function status(port: number): Promise<any> {
  return (await fetch(`http://127.0.0.1:${port}/status`)).json();
}

const replicasOf = async () => (await inspectService(`${ns}_app`)).Spec.Mode.Replicated.Replicas as number;
const envOf = async () => (await inspectService(`${ns}_app`)).Spec.TaskTemplate.ContainerSpec.Env as string[];
const seconds = (t: number) => `${((Date.now() - t) / 1000).toFixed(2)} s`;

describe('controller run follows a git repository', { timeout: 600_000 }, () => {
  let a: Running;
  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    await docker('config', 'rm', `swarm-controller-lease.${ns}`).catch(() => '');
    await docker('config', 'rm', `swarm-controller-state.${ns}`).catch(() => '');
    writeFileSync(join(work, 'secret'), secret);
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    execFileSync('git', ['clone', '-q', bare, clone]);
    mkdirSync(join(clone, 'deploy'));
    git(clone, 'checkout', '-q', '-b', 'main');
    commit(manifest(), 'first revision');
    a = startController('a', 18090);
  });
  after(async () => {
    for (const r of running) r.proc.kill('SIGKILL');
    await removeNamespace(ns);
    // the apply set's lease and state records (scripts/test.sh would let them be, but tidy up)
    await removeControllerRecords(ns);
  });

  it('applies the first revision and becomes ready, recording the revision', async () => {
    await eventually(
      async () => (await fetch('http://127.0.0.1:18090/readyz').catch(() => undefined))?.status === 200,
      60_000,
      '/readyz',
    );
    await eventually(
      async () => (await docker('service', 'ls', '--format', '{{.Name}}')).includes(`${ns}_app`),
      30_000,
      'the service',
    );
    const head = git(clone, 'rev-parse', 'HEAD').trim();
    const s = await status(18090);
    assert.equal(s.role, 'leader');
    assert.equal(s.revision, head);
    assert.equal((await inspectService(`${ns}_app`)).Spec.Labels['swarm.controller/revision'], head);
  });

  it('converges on a new commit by polling, without a webhook', async () => {
    const t = Date.now();
    const two = commit(manifest({ replicas: 2 }), 'two replicas');
    await eventually(async () => (await replicasOf()) === 2, 30_000, 'replicas 2');
    console.log(`commit to applied by polling: ${seconds(t)} (poll interval 10 s)`);
    // The sync is recorded once its objects have settled, a moment after the replicas changed.
    type Sync = { revision?: string; trigger: string; result: string };
    const syncOf = async () => ((await status(18090)).syncs as Sync[]).find((x) => x.revision === two);
    await eventually(async () => (await syncOf()) !== undefined, 30_000, 'the sync of the new commit recorded');
    const applied = (await syncOf())!;
    assert.deepEqual([applied.trigger, applied.result], ['poll', 'success'], JSON.stringify(applied));
  });

  it('converges at once on a signed webhook, and refuses an unsigned one', async () => {
    const body = Buffer.from('{"ref":"refs/heads/main"}');
    const unsigned = await fetch('http://127.0.0.1:18090/hooks/sync', { method: 'POST', body });
    assert.equal(unsigned.status, 401);
    const wrong = await fetch('http://127.0.0.1:18090/hooks/sync', {
      method: 'POST',
      body,
      headers: { 'X-Hub-Signature-256': signGithub(body, 'not-the-secret') },
    });
    assert.equal(wrong.status, 401);
    commit(manifest({ replicas: 3 }), 'three replicas');
    const t = Date.now();
    const ok = await fetch('http://127.0.0.1:18090/hooks/sync', {
      method: 'POST',
      body,
      headers: { 'X-Hub-Signature-256': signGithub(body, secret) },
    });
    assert.equal(ok.status, 202);
    await eventually(async () => (await replicasOf()) === 3, 10_000, 'replicas 3');
    console.log(`commit to applied by webhook: ${seconds(t)}`);
  });

  it('repairs an out-of-band change, and counts it as a drift repair', async () => {
    await docker('service', 'update', '--detach', '--env-add', 'DRIFT=1', `${ns}_app`);
    const t = Date.now();
    await eventually(async () => !(await envOf()).includes('DRIFT=1'), 30_000, 'drift repaired');
    console.log(`drift repaired after ${seconds(t)} (resync interval 4 s; a Swarm event may come first)`);
    const metrics = await (await fetch('http://127.0.0.1:18090/metrics')).text();
    assert.match(metrics, /swarm_controller_drift_repairs_total\{kind="Service",mode="repaired"\} [1-9]/);
  });

  it('refuses a broken revision: nothing changes, the sync shows as invalid', async () => {
    const labelsBefore = (await inspectService(`${ns}_app`)).Spec.Labels;
    const bad = commit(manifest({ broken: true }), 'broken');
    const body = Buffer.from('{}');
    await fetch('http://127.0.0.1:18090/hooks/sync', {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${secret}` },
    });
    await eventually(
      async () => (await status(18090)).lastSync?.revision === bad,
      15_000,
      'the broken revision to be seen',
    );
    const s = await status(18090);
    assert.equal(s.lastSync.result, 'invalid');
    assert.match(s.lastSync.detail, /app\.yaml:6:3: error SC2005/);
    assert.notEqual(s.revision, bad, 'the last good revision stays');
    assert.deepEqual(
      (await inspectService(`${ns}_app`)).Spec.Labels,
      labelsBefore,
      'the service was not rewritten (same spec hash and revision)',
    );
    const text = await controller(['status', '--url', 'http://127.0.0.1:18090']);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /last sync: invalid/);
    assert.match(
      await (await fetch('http://127.0.0.1:18090/metrics')).text(),
      /swarm_controller_sync_total\{result="invalid"\} [1-9]/,
    );
  });

  it('does nothing while suspended, and catches up on resume', async () => {
    const r = await controller(['suspend', '--set', ns, '--reason', 'maintenance']);
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await status(18090)).suspended === true, 15_000, 'suspended in status');
    const one = commit(manifest({ replicas: 1 }), 'back to one');
    const body = Buffer.from('{}');
    await fetch('http://127.0.0.1:18090/hooks/sync', {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${secret}` },
    });
    // The sync of the new revision is recorded as loaded and not applied.
    await eventually(
      async () => {
        const last = (await status(18090)).lastSync;
        return last?.revision === one && last.detail === 'loaded; not applied while suspended';
      },
      15_000,
      'the sync of the new revision recorded as not applied',
    );
    assert.equal(await replicasOf(), 3, 'not applied while suspended');
    assert.equal((await fetch('http://127.0.0.1:18090/healthz')).status, 200, 'still serving while suspended');
    assert.equal((await controller(['resume', '--set', ns])).code, 0);
    await eventually(async () => (await replicasOf()) === 1, 30_000, 'applied after resume');
  });

  it('with two replicas one leads; killing it hands over within the lease time', async () => {
    const b = startController('b', 18091);
    await eventually(async () => (await status(18091).catch(() => ({}))).role === 'standby', 20_000, 'b standing by');
    assert.equal((await status(18091)).leader, 'a');
    // a webhook that reaches the standby is passed on to the leader
    commit(manifest({ replicas: 3 }), 'three, via the standby');
    const body = Buffer.from('{}');
    const t0 = Date.now();
    const viaStandby = await fetch('http://127.0.0.1:18091/hooks/sync', {
      method: 'POST',
      body,
      headers: { 'X-Hub-Signature-256': signGithub(body, secret) },
    });
    assert.equal(viaStandby.status, 202);
    await eventually(
      async () => (await replicasOf()) === 3,
      20_000,
      'the leader to sync on a webhook sent to the standby',
    );
    console.log(`commit to applied by a webhook sent to the standby: ${seconds(t0)}`);
    const specs = async () => {
      const s = await inspectService(`${ns}_app`);
      return JSON.stringify({ spec: s.Spec, previous: (s as { PreviousSpec?: unknown }).PreviousSpec });
    };
    const written = await specs();
    a.proc.kill('SIGKILL');
    const t = Date.now();
    await eventually(async () => (await status(18091)).role === 'leader', 30_000, 'b leading');
    console.log(`leader handover after SIGKILL: ${seconds(t)} (lease 4 s)`);
    await eventually(
      async () =>
        (await status(18091)).lastSync?.trigger === 'startup' && (await status(18091)).lastSync?.result === 'success',
      30_000,
      'b to finish its first sync as leader',
    );
    assert.equal(await specs(), written, 'the new leader repeats no action: the service was not written again');
    commit(manifest({ replicas: 2 }), 'two again');
    await eventually(async () => (await replicasOf()) === 2, 30_000, 'b applies');
    assert.doesNotMatch(JSON.stringify(await status(18091)), /run-secret-4711/, 'no secret value in status');
    b.proc.kill('SIGTERM');
    assert.equal(await b.exit, 0, 'SIGTERM exits 0');
    assert.match(b.logs.join('\n'), /stopped; lease released/);
    const logs = [...a.logs, ...b.logs];
    assert.ok(
      logs.some((l) => /"reconcileId":"Service\/e2e-run\/app#/.test(l)),
      'log lines carry a reconcile id',
    );
    assert.doesNotMatch(logs.join('\n'), /run-secret-4711/, 'no secret value in any log line');
  });
});
