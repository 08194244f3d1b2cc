/**
 * Benchmark at issue 16's size, on a real engine: N services (default 5,000, replicas 0) on 20
 * overlay networks with 200 configs and 200 secrets (service i on network i % 20, with config and
 * secret floor(i / 25)), in one run:
 *   - `docker stack deploy --resolve-image never` of the same services split into stacks as a
 *     user would (default 50 stacks of 100 services, each a compose file declaring its own 4
 *     configs and 4 secrets; the 20 networks are shared, so they are `external`, made first with
 *     `docker network create` inside the timed cold deploy) against `controller apply` of the
 *     same set as manifests: cold, no-op (median of BENCH_ROUNDS, interleaved) with the services
 *     each no-op wrote, and `controller plan` (against the no-op stack deploy: the stack tool has
 *     no plan);
 *   - `controller run` (with the controller image's NODE_OPTIONS, read from the Dockerfile) from a
 *     local git repository holding the same set: first sync, resident memory after it and after
 *     an idle window, CPU of that window (resyncs finding nothing to do, from /proc/PID/stat), and
 *     a commit changing 50 services until the sync reports it converged (webhook).
 * Everything it makes (the stacks, the external networks, the namespaces and their configs and
 * secrets, the controller's own records) is removed at the start and at the end.
 * Run: `flock /run/sc-locks/engine-sid.lock npm run bench:scale` with DOCKER_HOST set (e.g.
 * `eval "$(scripts/local-swarm.sh --engine sid env)"`). BENCH_SERVICES, BENCH_STACKS, BENCH_ROUNDS,
 * BENCH_IDLE_S, BENCH_RESYNC_S override 5000, 50, 3, 60, 15; BENCH_PARTS (default "deploy run")
 * picks the parts; BENCH_NODE_FLAGS adds node flags to every controller process (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`); BENCH_LOG names a file for `controller run`'s log.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { signGithub } from '../src/controller/webhook.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const n = Number(process.env.BENCH_SERVICES ?? 5000);
const nStacks = Number(process.env.BENCH_STACKS ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const idleS = Number(process.env.BENCH_IDLE_S ?? 60);
const resyncS = Number(process.env.BENCH_RESYNC_S ?? 15);
const parts = (process.env.BENCH_PARTS ?? 'deploy run').split(' ');
const extraFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const nNetworks = 20;
const nData = 200;
const perData = Math.max(1, Math.ceil(n / nData));
const set = 'bscale';
const applyNs = 'bsc';
const runNs = 'brun';
const stackPrefix = 'bstk';

if (!process.env.DOCKER_HOST)
  throw new Error(
    'DOCKER_HOST is not set: eval "$(scripts/local-swarm.sh --engine sid env)" first, and hold the engine lock',
  );
const env = { ...process.env };
for (let c = 0; c < nData; c++) env[`BENCH_SECRET_${c}`] = `secret value ${c}`;
execFileSync(join(root, 'scripts/build-test-app.sh'), [], { env, stdio: ['ignore', 'ignore', 'inherit'] });
const cli = join(root, 'dist/src/cli/main.js');
/** The controller image's heap settings, from the Dockerfile's last NODE_OPTIONS. */
const imageFlags = [...readFileSync(join(root, 'Dockerfile'), 'utf8').matchAll(/NODE_OPTIONS="([^"]*)"/g)]
  .pop()![1]
  .split(' ')
  .filter(Boolean);

const docker = (...a: string[]) =>
  execFileSync('docker', a, { env, encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
const lines = (s: string) => s.split('\n').filter(Boolean);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function timed(cmd: string, args: string[], okCodes = [0]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t;
  if (!okCodes.includes(r.status ?? -1))
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`);
  return ms;
}

/** Service name -> version index, for the services whose namespace label starts with `prefix`. */
function versions(filter: string): Map<string, number> {
  const out = new Map<string, number>();
  const ids = lines(docker('service', 'ls', '-q', '--filter', `label=${filter}`));
  for (let i = 0; i < ids.length; i += 500)
    for (const svc of JSON.parse(docker('service', 'inspect', ...ids.slice(i, i + 500))) as {
      Spec: { Name: string };
      Version: { Index: number };
    }[])
      out.set(svc.Spec.Name, svc.Version.Index);
  return out;
}
const written = (before: Map<string, number>, after: Map<string, number>) =>
  [...after].filter(([name, v]) => before.get(name) !== v).length;

/** Removes in batches; objects still in use are retried a few times. */
function removeAll(kind: 'service' | 'network' | 'config' | 'secret', ids: string[]): void {
  for (let attempt = 0; attempt < 40 && ids.length; attempt++) {
    for (let i = 0; i < ids.length; i += 200) spawnSync('docker', [kind, 'rm', ...ids.slice(i, i + 200)], { env });
    const left = new Set(lines(docker(kind, 'ls', '-q')));
    ids = ids.filter((id) => left.has(id));
    if (ids.length) execFileSync('sleep', ['0.5']);
  }
  if (ids.length) throw new Error(`could not remove ${ids.length} ${kind}s`);
}
const byNamespace = (kind: string, ns: string) =>
  lines(docker(kind, 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${ns}`));

function cleanup(): void {
  const stackNs = Array.from({ length: nStacks }, (_, k) => `${stackPrefix}${k}`);
  const namespaces = [applyNs, runNs, ...stackNs];
  removeAll(
    'service',
    namespaces.flatMap((ns) => byNamespace('service', ns)),
  );
  for (const kind of ['config', 'secret'] as const)
    removeAll(
      kind,
      namespaces.flatMap((ns) => byNamespace(kind, ns)),
    );
  removeAll('network', [
    ...namespaces.flatMap((ns) => byNamespace('network', ns)),
    ...lines(docker('network', 'ls', '-q', '--filter', 'label=swarm-controller.bench=scale')),
  ]);
  const records = lines(docker('config', 'ls', '--format', '{{.ID}} {{.Name}}', '--filter', 'name=swarm-controller-'))
    .map((l) => l.split(' '))
    .filter(([, name]) => name.includes(`.${set}`))
    .map(([id]) => id);
  removeAll('config', records);
}

const work = mkdtempSync(join(tmpdir(), 'sc-bench-scale-'));

/** Compose files, one per stack of consecutive services. */
function writeStacks(dir: string): string[] {
  mkdirSync(join(dir, 'data'), { recursive: true });
  for (let c = 0; c < nData; c++) {
    writeFileSync(join(dir, 'data', `conf${c}.txt`), `setting ${c} v1\n`);
    writeFileSync(join(dir, 'data', `secret${c}.txt`), `secret value ${c}`);
  }
  const files: string[] = [];
  const per = Math.ceil(n / nStacks);
  for (let k = 0; k < nStacks; k++) {
    const svc: string[] = [];
    const confs = new Set<number>();
    for (let i = k * per; i < Math.min(n, (k + 1) * per); i++) {
      const c = Math.floor(i / perData);
      confs.add(c);
      svc.push(
        `  s${i}:`,
        '    image: swarm-controller/test-app:1',
        '    deploy: {replicas: 0}',
        `    environment: {INDEX: "${i}"}`,
        `    networks: [net${i % nNetworks}]`,
        `    configs: [{source: conf${c}, target: /etc/app.conf}]`,
        `    secrets: [secret${c}]`,
      );
    }
    const text = [
      'version: "3.8"',
      'services:',
      ...svc,
      'networks:',
      ...Array.from({ length: nNetworks }, (_, j) => `  net${j}: {external: true, name: ${stackPrefix}_net${j}}`),
      'configs:',
      ...[...confs].map((c) => `  conf${c}: {file: ./data/conf${c}.txt}`),
      'secrets:',
      ...[...confs].map((c) => `  secret${c}: {file: ./data/secret${c}.txt}`),
    ];
    const file = join(dir, `stack${k}.yml`);
    writeFileSync(file, text.join('\n') + '\n');
    files.push(file);
  }
  return files;
}

/** Manifests of the same set, in files of at most 1,000 documents; `changed(i)` bumps service i. */
function writeManifests(dir: string, ns: string, changed: (i: number) => boolean = () => false): void {
  mkdirSync(dir, { recursive: true });
  const head = (kind: string, name: string) =>
    `apiVersion: swarm.controller/v1alpha1\nkind: ${kind}\nmetadata: {name: ${name}, namespace: ${ns}}\n`;
  const docs: string[] = [];
  for (let j = 0; j < nNetworks; j++) docs.push(`${head('Network', `net${j}`)}spec: {}\n`);
  for (let c = 0; c < nData; c++) docs.push(`${head('Config', `conf${c}`)}spec: {data: "setting ${c} v1\\n"}\n`);
  for (let c = 0; c < nData; c++) docs.push(`${head('Secret', `secret${c}`)}spec: {env: BENCH_SECRET_${c}}\n`);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / perData);
    docs.push(
      `${head('Service', `s${i}`)}spec:\n  image: swarm-controller/test-app:1\n  replicas: 0\n  networks: [net${i % nNetworks}]\n` +
        `  env: {INDEX: "${i}"${changed(i) ? ', CHANGED: "1"' : ''}}\n  configs: [{name: conf${c}, target: /etc/app.conf}]\n  secrets: [secret${c}]\n`,
    );
  }
  for (let i = 0, f = 0; i < docs.length; i += 1000, f++)
    writeFileSync(join(dir, `part${String(f).padStart(2, '0')}.yaml`), docs.slice(i, i + 1000).join('---\n'));
}

interface Figure {
  label: string;
  value: string;
  load: string;
}
const figures: { deploy: Figure[]; run: Figure[] } = { deploy: [], run: [] };
const engine = docker('version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})').trim();

async function deployPart(): Promise<void> {
  const stacks = writeStacks(join(work, 'stacks'));
  const mdir = join(work, 'manifests');
  writeManifests(mdir, applyNs);
  const stackDeploy = () => {
    let ms = 0;
    stacks.forEach((file, k) => {
      ms += timed('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', file, `${stackPrefix}${k}`]);
    });
    return ms;
  };
  const ctl = (cmd: string, okCodes = [0]) =>
    timed(
      process.execPath,
      [
        ...extraFlags,
        cli,
        cmd,
        '-f',
        mdir,
        '--set',
        set,
        '--resolve-image',
        'never',
        ...(cmd === 'apply' ? ['--concurrency', '8'] : []),
      ],
      okCodes,
    );
  const stackLabel = `com.docker.stack.namespace`;
  const stackVersions = () => {
    const all = versions(stackLabel);
    return new Map([...all].filter(([name]) => name.startsWith(stackPrefix)));
  };

  let load = loadavg();
  const netStart = performance.now();
  for (let j = 0; j < nNetworks; j++)
    docker('network', 'create', '-d', 'overlay', '--label', 'swarm-controller.bench=scale', `${stackPrefix}_net${j}`);
  const stackCold = performance.now() - netStart + stackDeploy();
  const stackColdLoad = `${load} → ${loadavg()}`;
  load = loadavg();
  const scCold = ctl('apply');
  const scColdLoad = `${load} → ${loadavg()}`;
  const stackNoop: number[] = [];
  const scNoop: number[] = [];
  const scPlan: number[] = [];
  let stackWrites = 0;
  let scWrites = 0;
  const loads: string[] = [];
  for (let r = 0; r < rounds; r++) {
    loads.push(loadavg());
    const b1 = stackVersions();
    stackNoop.push(stackDeploy());
    stackWrites = written(b1, stackVersions());
    const b2 = versions(`com.docker.stack.namespace=${applyNs}`);
    scNoop.push(ctl('apply'));
    scWrites = written(b2, versions(`com.docker.stack.namespace=${applyNs}`));
    scPlan.push(ctl('plan'));
  }
  loads.push(loadavg());
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  const row = (label: string, stack: number, sc: number, l: string) =>
    figures.deploy.push({ label, value: `| ${s(stack)} | ${s(sc)} | ${ratio(sc, stack)}`, load: l });
  row(`cold deploy of ${n} services`, stackCold, scCold, `${stackColdLoad}; ${scColdLoad}`);
  row(`no-op re-deploy (median of ${rounds})`, median(stackNoop), median(scNoop), loads.join(', '));
  row(`\`controller plan\` against the no-op stack deploy`, median(stackNoop), median(scPlan), loads.join(', '));
  figures.deploy.push({ label: 'services written by a no-op', value: `| ${stackWrites} | ${scWrites} |`, load: '' });
}

async function runPart(): Promise<void> {
  const bare = join(work, 'repo.git');
  const clone = join(work, 'clone');
  const git = (...a: string[]) =>
    execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...a], { cwd: clone, encoding: 'utf8' });
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  execFileSync('git', ['clone', '-q', bare, clone], { stdio: 'ignore' });
  git('checkout', '-q', '-b', 'main');
  const commit = (changed?: (i: number) => boolean) => {
    rmSync(join(clone, 'bench'), { recursive: true, force: true });
    writeManifests(join(clone, 'bench'), runNs, changed);
    git('add', '-A');
    git('commit', '-qm', 'bench');
    git('push', '-q', 'origin', 'main');
    return git('rev-parse', 'HEAD').trim();
  };
  const first = commit();
  writeFileSync(join(work, 'secret'), 'bench-secret');
  const port = 18097;
  const flags = [...imageFlags, ...extraFlags];
  const proc = spawn(
    process.execPath,
    [
      ...flags,
      cli,
      'run',
      '--source',
      `${bare}#main:bench`,
      '--set',
      set,
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
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    if (process.env.BENCH_LOG) appendFileSync(process.env.BENCH_LOG, d);
  });
  const exited = new Promise<never>((_, reject) =>
    proc.on('exit', (code) => reject(new Error(`controller run exited ${code}: ${stderr}`))),
  );
  const pid = proc.pid!;
  const status = async () =>
    (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
      lastSync?: { result: string; revision?: string; durationMs: number };
    };
  const synced = async (rev: string, timeoutMs: number) => {
    const t = Date.now();
    const wait = (async () => {
      // The status document of thousands of objects is large: read it only when the cheap metric
      // of the last successful sync moves, so that polling does not load the controller measured.
      let seen: string | undefined = '';
      while (Date.now() - t < timeoutMs) {
        const metrics = await fetch(`http://127.0.0.1:${port}/metrics`)
          .then((r) => r.text())
          .catch(() => '');
        const last = metrics.match(/^swarm_controller_(?:sync_total|last_sync_timestamp_seconds)\b.*$/gm)?.join('\n');
        if (last !== seen) {
          const st = await status().catch(() => undefined);
          if (st?.lastSync?.revision === rev && st.lastSync.result === 'success') return Date.now() - t;
          if (st) seen = last;
        }
        await sleep(100);
      }
      throw new Error(`no successful sync of ${rev} within ${timeoutMs} ms: ${stderr}`);
    })();
    return Promise.race([wait, exited]);
  };
  const cpuS = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  const mem = () => {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    return `${(Number(/VmRSS:\s+(\d+)/.exec(st)![1]) / 1024).toFixed(0)} MB (peak ${(Number(/VmHWM:\s+(\d+)/.exec(st)![1]) / 1024).toFixed(0)} MB)`;
  };
  try {
    let load = loadavg();
    const coldMs = await synced(first, 1_800_000);
    figures.run.push({
      label: `first sync: clone, validate, create ${n + nNetworks + 2 * nData} objects`,
      value: s(coldMs),
      load: `${load} → ${loadavg()}`,
    });
    figures.run.push({ label: 'resident memory after the first sync', value: mem(), load: loadavg() });
    // Idle: let the first sync's garbage go, then measure a window of resyncs that find nothing.
    await sleep(5000);
    load = loadavg();
    const cpu0 = cpuS();
    const t0 = performance.now();
    await Promise.race([sleep(idleS * 1000), exited]);
    const cpu = cpuS() - cpu0;
    const wall = (performance.now() - t0) / 1000;
    const resyncs = Math.max(1, Math.round(idleS / resyncS));
    figures.run.push({
      label: `CPU while idle (${idleS} s, a resync every ${resyncS} s)`,
      value: `${((cpu / wall) * 100).toFixed(2)} % of a core; ${((cpu * 1000) / resyncs).toFixed(0)} ms per resync`,
      load: `${load} → ${loadavg()}`,
    });
    figures.run.push({ label: `resident memory after ${idleS} s idle`, value: mem(), load: loadavg() });
    const rev50 = commit((i) => i < 50);
    load = loadavg();
    const body = Buffer.from('{}');
    const t1 = Date.now();
    await fetch(`http://127.0.0.1:${port}/hooks/sync`, {
      method: 'POST',
      body,
      headers: { 'X-Hub-Signature-256': signGithub(body, 'bench-secret') },
    });
    await synced(rev50, 600_000);
    figures.run.push({
      label: 'commit changing 50 services → converged (webhook)',
      value: s(Date.now() - t1),
      load: `${load} → ${loadavg()}`,
    });
    figures.run.push({ label: 'resident memory at the end', value: mem(), load: loadavg() });
  } finally {
    proc.kill('SIGTERM');
    await Promise.race([new Promise((r) => proc.on('exit', r)), sleep(10_000)]);
  }
}

const table = (rows: Figure[]) => rows.map((f) => `| ${f.label} ${f.value} | ${f.load} |`).join('\n');
/** Prints what was measured so far (a part that fails keeps the figures of those before it). */
function report(): void {
  console.log(`## ${n} services on engine ${engine} (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)

${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; single-node Swarm.
${n} services (replicas 0), ${nNetworks} networks, ${nData} configs, ${nData} secrets; stack deploy as ${nStacks} stacks of ${Math.ceil(n / nStacks)}.
${
  figures.deploy.length
    ? `
| measure | docker stack deploy --resolve-image never | controller | ratio (controller / stack deploy) | load average (1, 5, 15 min) |
|---|---|---|---|---|
${table(figures.deploy)}
`
    : ''
}${
    figures.run.length
      ? `
\`controller run\`, node flags ${[...imageFlags, ...extraFlags].join(' ')}:

| measure | value | load average |
|---|---|---|
${figures.run.map((f) => `| ${f.label} | ${f.value} | ${f.load} |`).join('\n')}
`
      : ''
  }`);
}

try {
  cleanup();
  if (parts.includes('deploy')) {
    await deployPart();
    cleanup();
  }
  if (parts.includes('run')) await runPart();
} finally {
  report();
  cleanup();
  rmSync(work, { recursive: true, force: true });
}
