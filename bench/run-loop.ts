/**
 * Benchmark of `controller run` managing N services (default 500, replicas 0) from a local
 * git repository: resident memory, CPU while idle (resyncs that find nothing to do), and the
 * time from a commit to a converged Swarm (webhook-triggered), for a change to 10 services and
 * a change to all of them. Prints a Markdown report. Run: npm run bench:run
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signGithub } from '../src/controller/webhook.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const n = Number(process.env.BENCH_SERVICES ?? 500);
const resyncS = Number(process.env.BENCH_RESYNC_S ?? 15);
const idleS = Number(process.env.BENCH_IDLE_S ?? 60);
const host =
  process.env.DOCKER_HOST ??
  /DOCKER_HOST=(\S+)/.exec(execFileSync(join(root, 'scripts/local-swarm.sh'), ['up'], { encoding: 'utf8' }))![1];
const env = { ...process.env, DOCKER_HOST: host };
execFileSync(join(root, 'scripts/build-test-app.sh'), [], { env, stdio: 'inherit' });
const docker = (...a: string[]) => execFileSync('docker', a, { env, encoding: 'utf8', maxBuffer: 256 << 20 });

const work = mkdtempSync(join(tmpdir(), 'sc-bench-run-'));
const bare = join(work, 'repo.git'),
  clone = join(work, 'clone');
const git = (...a: string[]) =>
  execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...a], { cwd: clone, encoding: 'utf8' });
execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
execFileSync('git', ['clone', '-q', bare, clone]);
git('checkout', '-q', '-b', 'main');
mkdirSync(join(clone, 'bench'));

function write(version: (i: number) => string): string {
  const docs = ['apiVersion: swarm.controller/v1alpha1\nkind: Network\nmetadata: {name: net, namespace: brun}\n'];
  for (let i = 0; i < n; i++)
    docs.push(
      `apiVersion: swarm.controller/v1alpha1\nkind: Service\nmetadata: {name: s${i}, namespace: brun}\nspec:\n  image: swarm-controller/test-app:1\n  replicas: 0\n  networks: [net]\n  env: {V: "${version(i)}"}\n`,
    );
  writeFileSync(join(clone, 'bench', 'services.yaml'), docs.join('---\n'));
  git('add', '-A');
  git('commit', '-qm', 'bench');
  git('push', '-q', 'origin', 'main');
  return git('rev-parse', 'HEAD').trim();
}

function cleanup(): void {
  const ids = docker('service', 'ls', '-q', '--filter', 'label=com.docker.stack.namespace=brun')
    .split('\n')
    .filter(Boolean);
  for (let i = 0; i < ids.length; i += 200) docker('service', 'rm', ...ids.slice(i, i + 200));
  for (let i = 0; i < 40; i++) {
    const nets = docker('network', 'ls', '-q', '--filter', 'label=com.docker.stack.namespace=brun')
      .split('\n')
      .filter(Boolean);
    if (!nets.length) break;
    try {
      docker('network', 'rm', ...nets);
    } catch {
      execFileSync('sleep', ['0.5']);
    }
  }
  for (const c of ['swarm-controller-lease.bench', 'swarm-controller-state.bench']) {
    try {
      docker('config', 'rm', c);
    } catch {
      /* absent */
    }
  }
}

cleanup();
const first = write(() => '1');
writeFileSync(join(work, 'secret'), 'bench-secret');
const port = 18099;
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=2').split(' ').filter(Boolean);
const proc = spawn(
  process.execPath,
  [
    ...nodeFlags,
    join(root, 'dist/src/cli/main.js'),
    'run',
    '--source',
    `${bare}#main:bench`,
    '--set',
    'bench',
    '--interval',
    '10m',
    '--resync',
    `${resyncS}s`,
    '--listen',
    `127.0.0.1:${port}`,
    '--webhook-secret-file',
    join(work, 'secret'),
    '--cache-dir',
    join(work, 'cache'),
    '--concurrency',
    '8',
  ],
  { env, stdio: ['ignore', 'ignore', 'ignore'] },
);
const pid = proc.pid!;
const status = async () =>
  (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
    revision?: string;
    lastSync?: { result: string; revision?: string; durationMs: number };
    counts: Record<string, number>;
  };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t = Date.now();
  while (Date.now() - t < timeoutMs) {
    if (await check().catch(() => false)) return Date.now() - t;
    await sleep(100);
  }
  throw new Error('timed out');
}
const procStat = () => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const rss = () => {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)![1]) / 1024, hwm: Number(/VmHWM:\s+(\d+)/.exec(s)![1]) / 1024 };
};

try {
  const t0 = Date.now();
  await until(async () => {
    const s = await status();
    return s.lastSync?.result === 'success' && s.lastSync.revision === first;
  }, 600_000);
  const coldMs = Date.now() - t0;
  const afterCold = rss();
  // idle: resyncs that find nothing to do
  const cpu0 = procStat();
  await sleep(idleS * 1000);
  const idleCpu = procStat() - cpu0;
  const afterIdle = rss();
  const webhook = async () => {
    const body = Buffer.from('{}');
    await fetch(`http://127.0.0.1:${port}/hooks/sync`, {
      method: 'POST',
      body,
      headers: { 'X-Hub-Signature-256': signGithub(body, 'bench-secret') },
    });
  };
  const rev10 = write((i) => (i < 10 ? '2' : '1'));
  let t = Date.now();
  await webhook();
  await until(async () => {
    const s = await status();
    return s.lastSync?.revision === rev10 && s.lastSync.result === 'success';
  }, 300_000);
  const ten = Date.now() - t;
  const revAll = write(() => '3');
  t = Date.now();
  await webhook();
  await until(async () => {
    const s = await status();
    return s.lastSync?.revision === revAll && s.lastSync.result === 'success';
  }, 600_000);
  const all = Date.now() - t;
  const end = rss();
  const engine = docker('version', '--format', '{{.Server.Version}}').trim();
  console.log(`## controller run with ${n} services (${new Date().toISOString().slice(0, 10)})

Engine ${engine}, single-node Swarm; ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}.
${n} services (replicas 0) and one network from a local git repository; resync every ${resyncS} s; concurrency 8; node flags: ${nodeFlags.join(' ') || 'none'}.

| measure | value | target |
|---|---|---|
| first sync: clone, validate, create ${n + 1} objects, all Ready | ${(coldMs / 1000).toFixed(1)} s | |
| resident memory after the first sync | ${afterCold.rss.toFixed(0)} MB | < 100 MB |
| resident memory after ${idleS} s idle | ${afterIdle.rss.toFixed(0)} MB | < 100 MB |
| resident memory at the end (after the two changes below) | ${end.rss.toFixed(0)} MB (peak ${end.hwm.toFixed(0)} MB) | < 100 MB |
| CPU while idle (${Math.round(idleS / resyncS)} resyncs finding nothing to do) | ${((idleCpu * 1000) / Math.max(1, Math.round(idleS / resyncS))).toFixed(0)} ms per resync, ${((idleCpu / idleS) * 100).toFixed(2)} % of one core on average | |
| commit changing 10 services → Swarm converged (webhook) | ${(ten / 1000).toFixed(2)} s | |
| commit changing all ${n} services → Swarm converged (webhook) | ${(all / 1000).toFixed(2)} s | |
`);
} finally {
  proc.kill('SIGTERM');
  await sleep(2000);
  cleanup();
}
