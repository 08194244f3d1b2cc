/**
 * How the controller's own work grows with the number of services, in-process and without an
 * engine: for each size, `controller plan` and `controller apply` run through main() against
 * the in-memory FakeSwarm of the unit tests (so the figures are the controller's load, read,
 * plan and apply work, plus the fake's bookkeeping), with 20 networks and 200 configs and 200
 * secrets as in issue 16; then the pure buildPlan alone on the live state the apply left,
 * unchanged, with every service changed, every config's content changed, and with --prune after
 * every service moved to new networks and dropped its config. Per-service times that grow with the size show
 * what is superlinear. Prints a Markdown report.
 * Run: npm run bench:plan (BENCH_SIZES overrides "1000 2500 5000 10000"; add node flags such
 * as --cpu-prof before the script to profile).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import type { CommandIo } from '../src/cli/commands.js';
import { loadManifests } from '../src/manifest/load.js';
import { buildPlan } from '../src/plan/build-plan.js';
import { FakeSwarm } from '../test/helpers/fake-swarm.js';

const sizes = (process.env.BENCH_SIZES ?? '1000 2500 5000 10000').split(' ').filter(Boolean).map(Number);
const nNetworks = 20;
const nData = 200;
const ns = 'scale';

/**
 * The manifests as files of at most 1,000 documents (a file may hold 10,000); `version` changes
 * every config's content; `moved` puts every service on new networks and drops the configs, so
 * with --prune the old networks and every config go once the services let go of them.
 */
function manifests(n: number, version = 1, moved = false): string[] {
  const docs: string[] = [];
  const head = (kind: string, name: string) =>
    `apiVersion: swarm.controller/v1alpha1\nkind: ${kind}\nmetadata: {name: ${name}, namespace: ${ns}}\n`;
  const net = moved ? 'moved' : 'net';
  for (let i = 0; i < nNetworks; i++) docs.push(`${head('Network', `${net}${i}`)}spec: {}\n`);
  if (!moved)
    for (let i = 0; i < nData; i++)
      docs.push(`${head('Config', `conf${i}`)}spec: {data: "setting ${i} v${version}"}\n`);
  for (let i = 0; i < nData; i++) docs.push(`${head('Secret', `secret${i}`)}spec: {env: BENCH_SECRET_${i}}\n`);
  for (let i = 0; i < n; i++)
    docs.push(
      `${head('Service', `s${i}`)}spec:\n  image: swarm-controller/test-app:1\n  replicas: 0\n  networks: [${net}${i % nNetworks}]\n` +
        `  env: {INDEX: "${i}"}\n${moved ? '' : `  configs: [{name: conf${i % nData}, target: /etc/app.conf}]\n`}  secrets: [secret${i % nData}]\n`,
    );
  const files: string[] = [];
  for (let i = 0; i < docs.length; i += 1000) files.push(docs.slice(i, i + 1000).join('---\n'));
  return files;
}
function writeManifests(dir: string, files: string[]): void {
  mkdirSync(dir);
  files.forEach((text, i) => writeFileSync(join(dir, `part${i}.yaml`), text));
}
for (let i = 0; i < nData; i++) process.env[`BENCH_SECRET_${i}`] = `secret value ${i}`;

async function cli(args: string[], swarm: FakeSwarm): Promise<{ code: number; ms: number; err: string }> {
  let err = '';
  const io: CommandIo = {
    out: () => undefined,
    err: (s) => void (err += s),
    connect: async () => Object.assign(swarm, { describe: () => 'the fake Swarm' }),
  };
  const t0 = performance.now();
  const code = await main(args, io);
  return { code, ms: performance.now() - t0, err };
}

interface Row {
  n: number;
  loadMs: number;
  coldApplyMs: number;
  noopPlanMs: number;
  noopApplyMs: number;
  pureNoopMs: number;
  pureAllMs: number;
  pureConfigsMs: number;
  purePruneMs: number;
  heapMb: number;
}
const rows: Row[] = [];
const work = mkdtempSync(join(tmpdir(), 'sc-bench-plan-'));
try {
  for (const n of sizes) {
    const dir = join(work, String(n));
    writeManifests(dir, manifests(n));
    writeManifests(`${dir}-v2`, manifests(n, 2));
    writeManifests(`${dir}-moved`, manifests(n, 1, true));
    const swarm = new FakeSwarm();
    let t0 = performance.now();
    const loaded = await loadManifests([dir]);
    const loadMs = performance.now() - t0;
    if (loaded.diagnostics.some((d) => d.severity === 'error'))
      throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
    const flags = ['-f', dir, '--resolve-image', 'never', '--set', 'bench'];
    const cold = await cli(['apply', ...flags], swarm);
    if (cold.code !== 0) throw new Error(`cold apply exited ${cold.code}: ${cold.err.slice(-2000)}`);
    const plan = await cli(['plan', ...flags], swarm);
    if (plan.code !== 0) throw new Error(`plan after apply exited ${plan.code} (changes left?): ${plan.err}`);
    const writes = swarm.writes.length;
    const noop = await cli(['apply', ...flags], swarm);
    if (noop.code !== 0 || swarm.writes.length !== writes) throw new Error('the no-op apply wrote');
    const live = await swarm.readLiveState();
    const options = { applySet: 'bench' };
    const pure = (state: typeof live, want: number) => {
      const t = performance.now();
      const p = buildPlan(loaded.desired, state, options);
      const ms = performance.now() - t;
      if (p.changes.length !== want) throw new Error(`expected ${want} changes, got ${p.changes.length}`);
      return ms;
    };
    const changed = {
      ...live,
      services: live.services.map((s) => ({ ...s, Spec: { ...s.Spec, Mode: { Replicated: { Replicas: 3 } } } })),
    };
    const configsChanged = await loadManifests([`${dir}-v2`]);
    const moved = await loadManifests([`${dir}-moved`]);
    const median = (f: () => number) => [f(), f(), f()].sort((a, b) => a - b)[1];
    t0 = performance.now();
    rows.push({
      n,
      loadMs,
      coldApplyMs: cold.ms,
      noopPlanMs: plan.ms,
      noopApplyMs: noop.ms,
      pureNoopMs: median(() => pure(live, 0)),
      pureAllMs: median(() => pure(changed, n)),
      pureConfigsMs: median(() => {
        const t = performance.now();
        const p = buildPlan(configsChanged.desired, live, options);
        const ms = performance.now() - t;
        if (p.changes.filter((c) => c.kind === 'Config').length !== nData)
          throw new Error(`expected ${nData} config changes, got ${p.changes.length} changes`);
        return ms;
      }),
      purePruneMs: median(() => {
        const t = performance.now();
        const p = buildPlan(moved.desired, live, { ...options, prune: true, force: true });
        const ms = performance.now() - t;
        const deleted = p.changes.filter((c) => c.action === 'delete').length;
        if (deleted !== nNetworks + nData || p.blockers.length)
          throw new Error(
            `expected ${nNetworks + nData} deletions and no blockers, got ${deleted}: ${p.blockers[0]?.message}`,
          );
        return ms;
      }),
      heapMb: process.memoryUsage().heapUsed / 2 ** 20,
    });
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-v2`, { recursive: true, force: true });
    rmSync(`${dir}-moved`, { recursive: true, force: true });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const per = (ms: number, n: number) =>
  `${ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)} ms (${((ms * 1000) / n).toFixed(0)} µs/svc)`;
console.log(`## The controller's work by size, in-process (${new Date().toISOString().slice(0, 10)})

${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; load average ${(await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.
${nNetworks} networks, ${nData} configs, ${nData} secrets, N services (replicas 0, one network, a config and a secret each); the FakeSwarm of the unit tests.

| services | load and validate | \`apply\`, cold | \`plan\`, nothing to do | \`apply\`, nothing to do | buildPlan, nothing to change | buildPlan, every service changed | buildPlan, every config's content changed | buildPlan, prune: networks moved, configs dropped | heap used after |
|---|---|---|---|---|---|---|---|---|---|
${rows
  .map(
    (r) =>
      `| ${r.n} | ${per(r.loadMs, r.n)} | ${per(r.coldApplyMs, r.n)} | ${per(r.noopPlanMs, r.n)} | ${per(r.noopApplyMs, r.n)} | ${per(r.pureNoopMs, r.n)} | ${per(r.pureAllMs, r.n)} | ${per(r.pureConfigsMs, r.n)} | ${per(r.purePruneMs, r.n)} | ${r.heapMb.toFixed(0)} MB |`,
  )
  .join('\n')}
`);
