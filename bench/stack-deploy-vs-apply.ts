/**
 * Benchmark: swarm-controller against `docker stack deploy --resolve-image never`, in one
 * run on the same engine, with the same N services (replicas 0) on one overlay network:
 *   - cold deploy time;
 *   - no-op re-deploy time and the number of objects written (version index changes);
 *   - in-process plan time for 1,000 services.
 * Prints a Markdown report. Run: npm run bench (starts the local Swarm when DOCKER_HOST is unset).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { buildPlan } from '../src/plan/build-plan.js';
import { buildNetworkCreate, buildServiceSpec } from '../src/plan/swarm-spec.js';
import { buildDesiredState } from '../src/manifest/load.js';
import { parseDocuments } from '../src/manifest/yaml-documents.js';
import type { LiveState } from '../src/api/swarm-types.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const n = Number(process.env.BENCH_SERVICES ?? 500);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
// The Node that runs the controller's processes (BENCH_NODE: e.g. the image's Node, which keeps a
// compile cache); the benchmark itself runs on this one.
const controllerNode = process.env.BENCH_NODE ?? process.execPath;
// BENCH_BASELINE=/path/to/other/dist/src/cli/main.js: another build of the controller (e.g. main's,
// copied with its node_modules), timed in the same rounds, so a change's gain is measured under the
// same load.
const baselineCli = process.env.BENCH_BASELINE;
const controllerNodeVersion = execFileSync(controllerNode, ['--version'], { encoding: 'utf8' }).trim();

function dockerHost(): string {
  if (process.env.DOCKER_HOST) return process.env.DOCKER_HOST;
  const out = execFileSync(join(root, 'scripts/local-swarm.sh'), ['up'], { encoding: 'utf8' });
  return /DOCKER_HOST=(\S+)/.exec(out)![1];
}
const env = { ...process.env, DOCKER_HOST: dockerHost() };
execFileSync(join(root, 'scripts/build-test-app.sh'), [], { env, stdio: 'inherit' });

function docker(...args: string[]): string {
  return execFileSync('docker', args, { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

function timed(cmd: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - t;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}\n${r.stdout.slice(-2000)}`);
  return ms;
}

/** Service name -> version index, for the services of one namespace. */
function versions(namespace: string): Map<string, number> {
  const ids = docker('service', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${namespace}`)
    .split('\n')
    .filter(Boolean);
  const out = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 200) {
    for (const s of JSON.parse(docker('service', 'inspect', ...ids.slice(i, i + 200))) as {
      Spec: { Name: string };
      Version: { Index: number };
    }[])
      out.set(s.Spec.Name, s.Version.Index);
  }
  return out;
}

function writes(before: Map<string, number>, after: Map<string, number>): number {
  let changed = 0;
  for (const [name, v] of after) if (before.get(name) !== v) changed++;
  return changed;
}

function cleanup(): void {
  spawnSync('docker', ['stack', 'rm', 'bstack'], { env });
  const ids = docker('service', 'ls', '-q', '--filter', 'label=com.docker.stack.namespace=bsc')
    .split('\n')
    .filter(Boolean);
  for (let i = 0; i < ids.length; i += 200) spawnSync('docker', ['service', 'rm', ...ids.slice(i, i + 200)], { env });
  for (let i = 0; i < 40; i++) {
    const nets = docker('network', 'ls', '-q', '--filter', 'label=com.docker.stack.namespace=bsc')
      .split('\n')
      .filter(Boolean)
      .concat(
        docker('network', 'ls', '-q', '--filter', 'label=com.docker.stack.namespace=bstack')
          .split('\n')
          .filter(Boolean),
      );
    if (nets.length === 0) return;
    spawnSync('docker', ['network', 'rm', ...nets], { env });
    execFileSync('sleep', ['0.5']);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];
const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const dir = mkdtempSync(join(tmpdir(), 'sc-bench-'));
const compose = ['version: "3.8"', 'services:'];
for (let i = 0; i < n; i++)
  compose.push(`  s${i}:`, '    image: swarm-controller/test-app:1', '    deploy: {replicas: 0}');
writeFileSync(join(dir, 'compose.yml'), compose.join('\n') + '\n');

function manifests(count: number, namespace: string): string {
  const docs = [
    `apiVersion: swarm.controller/v1alpha1\nkind: Network\nmetadata: {name: default, namespace: ${namespace}}\n`,
  ];
  for (let i = 0; i < count; i++)
    docs.push(
      `apiVersion: swarm.controller/v1alpha1\nkind: Service\nmetadata: {name: s${i}, namespace: ${namespace}}\nspec:\n  image: swarm-controller/test-app:1\n  replicas: 0\n  networks: [default]\n`,
    );
  return docs.join('---\n');
}
const mdir = join(dir, 'bench');
mkdirSync(mdir);
writeFileSync(join(mdir, 'services.yaml'), manifests(n, 'bsc'));
const cli = join(root, 'dist/src/cli/main.js');

cleanup();
const stackCold = timed('docker', [
  'stack',
  'deploy',
  '--resolve-image',
  'never',
  '-c',
  join(dir, 'compose.yml'),
  'bstack',
]);
// --resolve-image never on both sides: the same work (no registry asked).
const scCold = timed(controllerNode, [
  cli,
  'apply',
  '-f',
  mdir,
  '--resolve-image',
  'never',
  '--concurrency',
  process.env.BENCH_CONCURRENCY ?? '8',
]);
const stackNoop: number[] = [],
  scNoop: number[] = [],
  baseNoop: number[] = [];
const loads: number[] = [];
let stackWrites = 0,
  scWrites = 0;
for (let r = 0; r < rounds; r++) {
  loads.push(loadavg()[0]);
  const b1 = versions('bstack');
  stackNoop.push(
    timed('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', join(dir, 'compose.yml'), 'bstack']),
  );
  stackWrites = writes(b1, versions('bstack'));
  // The baseline (when given) runs before this build in odd rounds and after it in even ones.
  const baseline = () => {
    if (baselineCli)
      baseNoop.push(timed(controllerNode, [baselineCli, 'apply', '-f', mdir, '--resolve-image', 'never']));
  };
  if (r % 2) baseline();
  const b2 = versions('bsc');
  scNoop.push(timed(controllerNode, [cli, 'apply', '-f', mdir, '--resolve-image', 'never']));
  scWrites = writes(b2, versions('bsc'));
  if (r % 2 === 0) baseline();
}
cleanup();

// In-process plan for 1,000 services that already match the Swarm (the usual case) and
// for 1,000 that all changed.
const text = manifests(1000, 'plan');
const parsed = parseDocuments({ path: 'bench.yaml', text });
const loaded = buildDesiredState(parsed.documents, parsed.diagnostics);
const ids = new Map([['plan_default', 'net0']]);
const net = buildNetworkCreate(loaded.desired.networks[0], 'bench');
const live: LiveState = {
  networks: [
    {
      Id: 'net0',
      Name: net.Name,
      Driver: net.Driver,
      Labels: net.Labels,
      Options: net.Options,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.213.50.0/24', Gateway: '10.213.50.1' }] },
    },
  ],
  services: loaded.desired.services.map((s, i) => ({
    ID: `s${i}`,
    Version: { Index: i + 1 },
    Spec: buildServiceSpec(s, { applySet: 'bench', networkIds: ids }),
  })),
  routeConfigs: [],
  configs: [],
  secrets: [],
};
const changed: LiveState = {
  ...live,
  services: live.services.map((s) => ({ ...s, Spec: { ...s.Spec, Mode: { Replicated: { Replicas: 3 } } } })),
};
const planNoop: number[] = [],
  planAll: number[] = [];
for (let i = 0; i < 30; i++) {
  let t = performance.now();
  const p = buildPlan(loaded.desired, live, { applySet: 'bench' });
  planNoop.push(performance.now() - t);
  if (p.changes.length !== 0) throw new Error(`expected no change, got ${p.changes.length} changes`);
  t = performance.now();
  const q = buildPlan(loaded.desired, changed, { applySet: 'bench' });
  planAll.push(performance.now() - t);
  if (q.changes.length !== 1000) throw new Error(`expected 1000 changes, got ${q.changes.length}`);
}
const loadStart = performance.now();
const again = parseDocuments({ path: 'bench.yaml', text });
buildDesiredState(again.documents, again.diagnostics);
const loadMs = performance.now() - loadStart;

// Start-up: what loading the engine client costs (dockerode alone loads gRPC and protobuf for
// BuildKit sessions and docker-modem's ssh2 transport; the engine client defers both,
// src/swarm/deferred-modules.ts), each in a fresh process, median of 10.
const importMs = (module: string) =>
  median(
    Array.from({ length: 10 }, () =>
      Number(
        execFileSync(
          controllerNode,
          [
            '--input-type=module',
            '-e',
            `const t = performance.now(); await import(${JSON.stringify(module)}); console.log(performance.now() - t);`,
          ],
          { cwd: root, encoding: 'utf8' },
        ).trim(),
      ),
    ),
  );
const modemMs = importMs('docker-modem');
const dockerodeMs = importMs('dockerode');
const clientMs = importMs(join(root, 'dist/src/swarm/docker-swarm.js'));
const versionOnly = median(Array.from({ length: 10 }, () => timed(controllerNode, [cli, '--version'])));

const engine = docker('version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})').trim();
console.log(`## Results (${new Date().toISOString().slice(0, 10)})

Engine ${engine}, single-node Swarm; ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB; controller on Node ${controllerNodeVersion}.
${n} services (replicas 0) on one overlay network; no-op figures are the median of ${rounds} runs.
Load average (1 min) at the start of each no-op round: min ${Math.min(...loads).toFixed(1)}, median ${median(loads).toFixed(1)}, max ${Math.max(...loads).toFixed(1)}.

| measure | docker stack deploy --resolve-image never | swarm-controller apply | ratio (controller / stack deploy) |
|---|---|---|---|
| cold deploy of ${n} services | ${f(stackCold)} | ${f(scCold)} | ${(scCold / stackCold).toFixed(2)} |
| no-op re-deploy, time | ${f(median(stackNoop))} | ${f(median(scNoop))} | ${(median(scNoop) / median(stackNoop)).toFixed(2)} |
| no-op re-deploy, services written | ${stackWrites} | ${scWrites} | |
${baselineCli ? `| no-op re-deploy, time, baseline build (${baselineCli}) | | ${f(median(baseNoop))} | ${(median(baseNoop) / median(stackNoop)).toFixed(2)} |\n` : ''}
| in-process, 1,000 services | median | p95 |
|---|---|---|
| buildPlan, nothing to change | ${median(planNoop).toFixed(1)} ms | ${p95(planNoop).toFixed(1)} ms |
| buildPlan, every service changed | ${median(planAll).toFixed(1)} ms | ${p95(planAll).toFixed(1)} ms |
| load and validate the 1,001 manifests (not part of the plan figure) | ${loadMs.toFixed(0)} ms | |

| start-up (fresh process, median of 10) | time |
|---|---|
| import docker-modem (the transport alone) | ${modemMs.toFixed(0)} ms |
| import dockerode as published (transport, ssh2, gRPC and protobuf) | ${dockerodeMs.toFixed(0)} ms |
| import the engine client (src/swarm/docker-swarm.ts: dockerode without the deferred modules, endpoint, registry logins) | ${clientMs.toFixed(0)} ms |
| \`controller --version\` (loads no engine client) | ${f(versionOnly)} |
`);
