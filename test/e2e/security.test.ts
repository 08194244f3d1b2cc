/**
 * Security and hostile input against a real Swarm, with the real controller command:
 * 1. the whole hostile-input corpus in one `apply`: exit 1, nothing in the Swarm changes;
 * 2. secret values (secret-looking env names, --mask-env names, a Swarm secret, a drifted
 *    value) appear in no output of plan, apply and controller run (logs, /status, /metrics);
 * 3. objects the controller does not own, however alike in name or labels, are never changed
 *    or deleted by plan, apply, apply --prune or controller run, and the plan names them.
 * Namespaces start with e2e-sec; each test removes what it made.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bigManifest, committedCases, corpusDir, generate } from '../helpers/hostile-corpus.js';
import {
  controller,
  docker,
  ensureSwarm,
  eventually,
  inspectService,
  manifestDir,
  planJson,
  removeNamespace,
  repoRoot,
  rewrite,
  swarmVersions,
} from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'sc-e2e-sec-'));

/**
 * Every service, network, config and secret with its ID and version: equal snapshots mean
 * nothing was written. Leader leases and status records are left out: a controller already
 * running in the Swarm (the self-hosting test's, a demo's) renews its lease every few seconds and
 * rewrites its status when it changes and every minute.
 */
async function snapshot(): Promise<Record<string, string>> {
  const out = await swarmVersions();
  for (const kind of ['config', 'secret']) {
    const ids = (await docker(kind, 'ls', '-q')).split('\n').filter(Boolean);
    if (!ids.length) continue;
    for (const o of JSON.parse(await docker(kind, 'inspect', ...ids))) {
      if (!/^swarm-controller-(lease|status|routes)\./.test(String(o.Spec.Name)))
        out[`${kind}/${o.Spec.Name}`] = `${o.ID}@${o.Version.Index}`;
    }
  }
  return out;
}

function dockerWithInput(input: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('docker', args, { env: { ...process.env, DOCKER_HOST: ensureSwarm() } }, (err, stdout) => {
      if (err) reject(new Error(err.message, { cause: err }));
      else resolve(stdout);
    });
    child.stdin!.end(input);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * The controller command fed `input` on standard input. The CLI stops reading at its size limit
 * and exits, so writing the rest fails with EPIPE: expected here, and ignored.
 */
function controllerWithStdin(args: string[], input: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), ...args], {
      env: { ...process.env, DOCKER_HOST: ensureSwarm(), NO_COLOR: '1' },
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {});
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

interface RunningController {
  port: number;
  output: () => string;
  stop: () => Promise<number>;
}

/** How many reconciles (of any kind) ended blocked, from the run's /metrics. */
async function blockedReconciles(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const counts = text.matchAll(
    /^swarm_controller_reconcile_duration_seconds_count\{kind="\w+",result="blocked"\} (\d+)$/gm,
  );
  return [...counts].reduce((n, m) => n + Number(m[1]), 0);
}

/** `controller run` outside the cluster: --no-routes, a directory source, a free loopback port. */
async function startRun(set: string, dir: string, extra: string[] = []): Promise<RunningController> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'dist/src/cli/main.js'),
      'run',
      '--source',
      dir,
      '--set',
      set,
      '--no-routes',
      '--listen',
      `127.0.0.1:${port}`,
      '--interval',
      '2s',
      '--resync',
      '2s',
      '--lease-duration',
      '4s',
      '--identity',
      `${set}-test`,
      '--cache-dir',
      join(work, `cache-${set}`),
      ...extra,
    ],
    { env: { ...process.env, DOCKER_HOST: ensureSwarm() } },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exit = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
  await eventually(
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
    60_000,
    `controller run for ${set} to be ready`,
  );
  return {
    port,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exit;
    },
  };
}

async function removeRunRecords(set: string): Promise<void> {
  await docker('config', 'rm', `swarm-controller-lease.${set}`).catch(() => '');
  await docker('config', 'rm', `swarm-controller-state.${set}`).catch(() => '');
}

describe('security and hostile input on a real Swarm', { timeout: 900_000 }, () => {
  before(() => ensureSwarm());
  after(() => rmSync(work, { recursive: true, force: true }));

  it('refuses the whole hostile corpus in one apply (exit 1) and changes nothing in the Swarm', async () => {
    const dir = join(work, 'hostile');
    cpSync(corpusDir, dir, { recursive: true });
    const generated = generate(join(work, 'generated')).filter((c) => c.path !== '-');
    const versions = await snapshot();
    const r = await controllerWithStdin(
      [
        'apply',
        '-f',
        dir,
        ...generated.flatMap((c) => ['-f', c.path]),
        '-f',
        '-',
        '--set',
        'e2e-sec-hostile',
        '--prune',
        '--force',
      ],
      bigManifest(10 * 1024 * 1024),
    );
    assert.equal(r.code, 1, r.stdout + r.stderr.slice(0, 2000));
    assert.match(r.stderr, /problems found; nothing was sent to the Swarm/);
    for (const c of committedCases().filter((x) => !x.expect.plan)) {
      const [code, at] = c.expect.diagnostics[0].split(' ');
      assert.ok(
        r.stderr.includes(`${c.path.replace(corpusDir, dir)}:${at}: error ${code}`),
        `${c.path}: ${code} at ${at}`,
      );
    }
    for (const c of generated)
      assert.ok(
        r.stderr.includes(`error ${c.expect.diagnostics[0].split(' ')[0]}`) && r.stderr.includes(c.path),
        c.path,
      );
    assert.match(r.stderr, /<stdin>:1:1: error SC1007/);
    assert.deepEqual(await snapshot(), versions, 'no service, network, config or secret changed');
    console.log(
      `hostile corpus through the CLI: ${committedCases().length} committed files, ${generated.length + 1} generated; ${(r.stderr.match(/: error SC/g) ?? []).length} problems reported`,
    );
  });

  describe('secret values', () => {
    const ns = 'e2e-sec-secrets';
    const swarmSecret = 'swarm-secret-value-3c7d';
    const values = (v: number) => ({
      DB_PASSWORD: `pw-${v}-a8f3`,
      API_TOKEN: `tok-${v}-77c1`,
      CLIENT_SECRET: `sec-${v}-0b9e`,
      SIGNING_KEY: `key-${v}-51d2`,
      DSN: `postgres://app:dsn-${v}-e4a0@db/app`,
    });
    const manifest = (v: number) => `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  endpointMode: dnsrr
  stopGracePeriod: 1s
  updateConfig: {monitor: 1s}
  secrets: [${ns}-db]
  env:
${Object.entries({ ...values(v), LOG_LEVEL: `plain-${v}` })
  .map(([k, x]) => `    ${k}: "${x}"`)
  .join('\n')}
`;
    before(async () => {
      await removeNamespace(ns);
      await removeRunRecords(ns);
      await docker('secret', 'rm', `${ns}-db`).catch(() => '');
      await dockerWithInput(swarmSecret, 'secret', 'create', `${ns}-db`, '-');
    });
    after(async () => {
      await removeNamespace(ns);
      await removeRunRecords(ns);
      await docker('secret', 'rm', `${ns}-db`).catch(() => '');
    });

    it('appear in no plan, apply, log, /status or /metrics output, including controller run repairing a drifted secret', async () => {
      const dir = await manifestDir(ns, { 'web.yaml': manifest(1) });
      const outputs: string[] = [];
      const cli = async (args: string[], expected: number) => {
        const r = await controller([...args, '-f', dir, '--set', ns, '--mask-env', 'DSN']);
        outputs.push(r.stdout, r.stderr);
        assert.equal(r.code, expected, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      };
      await cli(['plan'], 2);
      await cli(['plan', '-o', 'json'], 2);
      await cli(['apply', '--log-format', 'json', '--wait', '--timeout', '90s'], 0);
      await rewrite(dir, { 'web.yaml': manifest(2) });
      await cli(['plan'], 2);
      await cli(['plan', '-o', 'json'], 2);
      await cli(['apply', '--wait', '--timeout', '90s'], 0);
      await cli(['plan', '-o', 'json'], 0);

      const run = await startRun(ns, dir, ['--mask-env', 'DSN']);
      const envOf = async () => (await inspectService(`${ns}_web`)).Spec.TaskTemplate.ContainerSpec.Env as string[];
      await docker(
        'service',
        'update',
        '--detach',
        '--env-add',
        'API_TOKEN=drifted-6b2a',
        '--env-add',
        'DSN=drifted-dsn-90fe',
        `${ns}_web`,
      );
      await eventually(
        async () => (await envOf()).includes(`API_TOKEN=${values(2).API_TOKEN}`),
        60_000,
        'the drifted secret repaired',
      );
      outputs.push(await (await fetch(`http://127.0.0.1:${run.port}/status`)).text());
      const metrics = await (await fetch(`http://127.0.0.1:${run.port}/metrics`)).text();
      outputs.push(metrics);
      const status = await controller(['status', '--url', `http://127.0.0.1:${run.port}`]);
      outputs.push(status.stdout, status.stderr);
      assert.equal(await run.stop(), 0);
      outputs.push(run.output());
      assert.match(
        metrics,
        /swarm_controller_drift_repairs_total\{kind="Service",mode="repaired"\} [1-9]/,
        'the drift was seen and repaired by this run',
      );

      const all = outputs.join('\n');
      for (const value of [
        ...Object.values(values(1)),
        ...Object.values(values(2)),
        'drifted-6b2a',
        'drifted-dsn-90fe',
        swarmSecret,
      ]) {
        assert.ok(!all.includes(value), `an output contains the secret value ${value}`);
      }
      assert.match(all, /plain-2/, 'plain values are shown, so the search works');
      assert.match(all, /spec\.env\.DSN/, 'the masked field is named');
      console.log(
        `secret values: searched ${outputs.length} outputs (${all.length} characters) for ${Object.keys(values(1)).length * 2 + 3} values: none found`,
      );
    });
  });

  describe('objects the controller does not own', () => {
    const ns = 'e2e-sec-own';
    const set = 'e2e-sec-own';
    const hash = '0123456789abcdef';
    const lookalikes = {
      services: [
        ['web', []], // (1) the name a manifest declares, no labels
        [
          'api',
          [
            'swarm.controller/managed-by=swarm-controller',
            'swarm.controller/apply-set=e2e-sec-other',
            `swarm.controller/spec-hash=${hash}`,
            `com.docker.stack.namespace=${ns}`,
          ],
        ], // (2) our labels, another set
        [
          'cache',
          [
            'swarm.controller/managed-by=swarm-controller-fork',
            `swarm.controller/apply-set=${set}`,
            `swarm.controller/spec-hash=${hash}`,
          ],
        ], // (3) managed-by of another value
        [
          'queue',
          [
            'swarm.controller/managed_by=swarm-controller',
            `swarm.controller/apply-set=${set}`,
            `swarm.controller/spec-hash=${hash}`,
          ],
        ], // (3) a near-identical key
        ['worker', ['swarm.controller/managed-by=swarm-controller', `swarm.controller/apply-set=${set}`]], // (3) our set, no spec hash
        ['web2', [`com.docker.stack.namespace=${ns}`]], // (4) shares a prefix with web, looks like the stack
        [
          'ok-old',
          [
            'swarm.controller/managed-by=swarm-controller',
            `swarm.controller/apply-set=${set}`,
            'swarm.controller/spec-hash=not-a-hash',
          ],
        ], // (4) prefix of ok, malformed hash
      ] as [string, string[]][],
      networks: [
        ['net', []],
        [
          'shared',
          [
            'swarm.controller/managed-by=swarm-controller',
            'swarm.controller/apply-set=e2e-sec-other',
            `swarm.controller/spec-hash=${hash}`,
          ],
        ],
        ['net2', [`com.docker.stack.namespace=${ns}`]],
      ] as [string, string[]][],
      configs: [
        [`${ns}_demo.route.0123456789`, []],
        [
          `${ns}_other.route.abcdef0123`,
          [
            'swarm.controller/kind=Route',
            'swarm.controller/managed-by=swarm-controller',
            'swarm.controller/apply-set=e2e-sec-other',
            `swarm.controller/spec-hash=${hash}`,
          ],
        ],
        [
          `${ns}_mine.route.fedcba9876`,
          [
            'swarm.controller/kind=Route',
            'swarm.controller/managed-by=swarm-controller',
            `swarm.controller/apply-set=${set}`,
            `swarm.controller/spec-hash=${hash}`,
          ],
        ],
      ] as [string, string[]][],
    };
    const svc = (name: string, extra = '') =>
      `apiVersion: swarm.controller/v1alpha1\nkind: Service\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  image: swarm-controller/test-app:1\n  replicas: 0\n${extra}---\n`;
    const netDoc = (name: string) =>
      `apiVersion: swarm.controller/v1alpha1\nkind: Network\nmetadata: {name: ${name}, namespace: ${ns}}\n---\n`;
    const conflicting = {
      'all.yaml':
        netDoc('net') +
        netDoc('shared') +
        svc('web', '  networks: [net]\n') +
        svc('api') +
        svc('cache') +
        svc('queue') +
        svc('worker') +
        svc('ok'),
    };

    async function cleanUp(): Promise<void> {
      const named = async (kind: string) =>
        (await docker(kind, 'ls', '--format', '{{.Name}}')).split('\n').filter((n) => n.startsWith(`${ns}_`));
      const services = await named('service');
      if (services.length) await docker('service', 'rm', ...services);
      const configs = await named('config');
      if (configs.length) await docker('config', 'rm', ...configs);
      for (let i = 0; i < 40; i++) {
        const networks = await named('network');
        if (!networks.length) break;
        await docker('network', 'rm', ...networks).catch(() => new Promise((r) => setTimeout(r, 500)));
      }
      await removeRunRecords(set);
    }

    /** Each look-alike exactly as Swarm holds it: ID, version, timestamps and spec. */
    async function inspectAll(): Promise<Record<string, string>> {
      const out: Record<string, string> = {};
      for (const [name] of lookalikes.services)
        out[`service/${name}`] = JSON.stringify(
          (JSON.parse(await docker('service', 'inspect', `${ns}_${name}`)) as object[])[0],
        );
      for (const [name] of lookalikes.networks)
        out[`network/${name}`] = JSON.stringify(
          (JSON.parse(await docker('network', 'inspect', `${ns}_${name}`)) as object[])[0],
        );
      for (const [name] of lookalikes.configs)
        out[`config/${name}`] = JSON.stringify((JSON.parse(await docker('config', 'inspect', name)) as object[])[0]);
      return out;
    }

    before(async () => {
      await cleanUp();
      const labels = (l: string[]) => l.flatMap((x) => ['--label', x]);
      for (const [name, l] of lookalikes.networks)
        await docker('network', 'create', '--driver', 'overlay', ...labels(l), `${ns}_${name}`);
      for (const [name, l] of lookalikes.services)
        await docker(
          'service',
          'create',
          '--detach',
          '--replicas',
          '0',
          '--name',
          `${ns}_${name}`,
          ...labels(l),
          'swarm-controller/test-app:1',
        );
      for (const [name, l] of lookalikes.configs)
        await dockerWithInput('{"not": "a route"}', 'config', 'create', ...labels(l), name, '-');
    });
    after(cleanUp);

    it('blocks every look-alike in the plan and changes or deletes none of them through plan, apply, apply --prune and controller run', async () => {
      const before = await inspectAll();
      const dir = await manifestDir(set, conflicting);
      const plan = await controller(['plan', '-f', dir, '-o', 'json', '--prune']);
      assert.equal(plan.code, 1, plan.stdout + plan.stderr);
      const blockers = planJson(plan)
        .blockers.map((b) => `${b.code} ${b.id}`)
        .sort();
      assert.deepEqual(blockers, [
        `SC4001 Network/${ns}/shared`,
        `SC4001 Service/${ns}/api`,
        `SC4002 Network/${ns}/net`,
        `SC4002 Service/${ns}/cache`,
        `SC4002 Service/${ns}/queue`,
        `SC4002 Service/${ns}/web`,
        `SC4002 Service/${ns}/worker`,
      ]);
      const text = await controller(['plan', '-f', dir]);
      assert.match(
        text.stdout,
        new RegExp(
          `SC4002 Service/${ns}/web: service "${ns}_web" exists in the Swarm but was not created by swarm-controller`,
        ),
      );
      for (const args of [['apply'], ['apply', '--prune'], ['apply', '--prune', '--force', '--allow-replace']]) {
        const r = await controller([...args, '-f', dir]);
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /Nothing was applied/);
      }
      assert.deepEqual(await inspectAll(), before, 'plan and apply changed nothing');

      // A set that declares only "ok": apply --prune creates it and prunes none of the look-alikes.
      const clean = await manifestDir(set, { 'ok.yaml': svc('ok') });
      const pruned = await controller(['apply', '-f', clean, '--prune', '--force']);
      assert.equal(pruned.code, 0, pruned.stdout + pruned.stderr);
      assert.doesNotMatch(pruned.stderr, /delete/i);
      assert.deepEqual(await inspectAll(), before, 'apply --prune deleted nothing it does not own');

      // controller run on the conflicting set: it keeps "ok", reports the look-alikes blocked, touches none.
      const run = await startRun(set, dir);
      await eventually(
        async () => {
          const s = (await (await fetch(`http://127.0.0.1:${run.port}/status`)).json()) as {
            objects: { id: string; phase: string; reason: string }[];
          };
          return s.objects.filter((o) => o.phase === 'Failed' && /SC400[12]/.test(o.reason)).length === 7;
        },
        30_000,
        'the 7 look-alikes reported blocked in /status',
      );
      // Two more resyncs: each reconciles the 7 look-alikes again, and each is blocked again.
      const blocked = await blockedReconciles(run.port);
      await eventually(
        async () => (await blockedReconciles(run.port)) >= blocked + 14,
        30_000,
        'two more resyncs of the 7 look-alikes, each blocked',
      );
      const status = (await (await fetch(`http://127.0.0.1:${run.port}/status`)).json()) as {
        objects: { id: string; phase: string }[];
      };
      assert.equal(
        status.objects.find((o) => o.id === `Service/${ns}/ok`)?.phase,
        'Ready',
        JSON.stringify(status.objects),
      );
      assert.equal(await run.stop(), 0);
      assert.deepEqual(await inspectAll(), before, 'controller run changed or deleted nothing it does not own');
    });
  });
});
