/**
 * Config and Secret kinds on a real Swarm: versions named after their content, services that
 * move to a new version in one update, a secret value that appears in no output, old
 * versions collected down to `retain`, `controller rollback` back to the previous version,
 * and a prune that removes every version.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  controller,
  docker,
  ensureSwarm,
  eventually,
  manifestDir,
  planJson,
  readInTask,
  removeNamespace,
  rewrite,
  type CliResult,
} from './harness.js';
import { config, inNamespace, network, secret, testAppService } from '../helpers/manifests.js';

const ns = 'e2e-data';
const password = 'e2e-Pa55w0rd-never-shown-7f3a';
const env = { E2E_DB_PASSWORD: password };

function manifests(withService = true): Record<string, string> {
  const meta = inNamespace(ns);
  const objects = withService
    ? config('app-conf', 'file: app.conf', meta) +
      secret('db-password', 'env: E2E_DB_PASSWORD', meta) +
      testAppService(
        'app',
        ns,
        [
          'replicas: 1',
          'configs: [{name: app-conf, target: /etc/app.conf}]',
          'secrets: [{name: db-password, mode: "0400"}]',
          'updateConfig: {order: start-first, monitor: 2s, failureAction: rollback}',
        ].join('\n'),
      )
    : '';
  return { 'data.yaml': network('net', '', meta) + objects };
}

let dir: string;

function noPassword(r: CliResult): void {
  assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), 'the secret value appears in no output');
}

async function apply(...args: string[]): Promise<CliResult> {
  const r = await controller(['apply', '-f', dir, '--set', ns, '--wait', '--timeout', '120s', ...args], { env });
  noPassword(r);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r;
}

const inTask = (path: string) => readInTask(`${ns}_app`, path);

async function versions(kind: 'config' | 'secret', stem: string): Promise<string[]> {
  return (await docker(kind, 'ls', '--format', '{{.Name}}'))
    .split('\n')
    .filter((n) => n.startsWith(`${stem}.`))
    .sort();
}

const writeConf = (text: string) => writeFileSync(join(dir, 'app.conf'), text);

describe('Config and Secret kinds on a real Swarm', { timeout: 600_000 }, () => {
  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    for (const kind of ['config', 'secret'] as const)
      for (const v of await versions(kind, `${ns}_`)) await docker(kind, 'rm', v).catch(() => '');
    dir = await manifestDir(ns, manifests());
    writeConf('version=1\n');
  });
  after(async () => {
    await removeNamespace(ns);
    for (const kind of ['config', 'secret'] as const)
      for (const v of await versions(kind, `${ns}_`)) await docker(kind, 'rm', v).catch(() => '');
  });

  it('creates a version of each and mounts it; the secret is readable in the task and nowhere else', async () => {
    const r = await apply();
    assert.match(r.stdout, /\+ Config "e2e-data\/app-conf" \(e2e-data_app-conf\) will be created/);
    assert.equal(await inTask('/etc/app.conf'), 'version=1\n');
    assert.equal(await inTask('/run/secrets/db-password'), password);
    assert.equal((await versions('config', `${ns}_app-conf`)).length, 1);
    const again = await controller(['plan', '-f', dir, '--set', ns, '-o', 'json'], { env });
    noPassword(again);
    assert.equal(again.code, 0, again.stdout + again.stderr);
  });

  it('a new content is one change of the config, and the service moves to it', async () => {
    writeConf('version=2\n');
    const plan = await controller(['plan', '-f', dir, '--set', ns, '-o', 'json'], { env });
    noPassword(plan);
    const changes = planJson(plan).changes;
    assert.deepEqual(
      changes.map((c) => `${c.action} ${c.id}`),
      [`update Config/${ns}/app-conf`, `update Service/${ns}/app`],
    );
    assert.deepEqual(
      changes[1].fields.map((f) => f.path),
      ['spec.configs["/etc/app.conf"].name'],
    );
    await apply();
    await eventually(
      async () => (await inTask('/etc/app.conf')) === 'version=2\n',
      30_000,
      'the task to see version 2',
    );
    assert.equal((await versions('config', `${ns}_app-conf`)).length, 2, 'the previous version is kept');
  });

  it('controller rollback returns the service to the previous version and says so', async () => {
    const r = await controller(['rollback', `${ns}/app`, '--wait', '--timeout', '120s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Rolling back service e2e-data_app/);
    assert.match(
      r.stdout,
      /spec\.configs\["\/etc\/app\.conf"\]\.name: "e2e-data_app-conf\.[0-9a-f]{10}" -> "e2e-data_app-conf\.[0-9a-f]{10}"/,
    );
    assert.match(r.stdout, /Converged/);
    await eventually(
      async () => (await inTask('/etc/app.conf')) === 'version=1\n',
      30_000,
      'the task to see version 1 again',
    );
    const back = await controller(['plan', '-f', dir, '--set', ns, '-o', 'json'], { env });
    assert.deepEqual(
      planJson(back).changes.map((c) => `${c.action} ${c.id}`),
      [`update Service/${ns}/app`],
      'the manifests still say version 2',
    );
    await apply();
    await eventually(async () => (await inTask('/etc/app.conf')) === 'version=2\n', 30_000, 'version 2 again');
  });

  it('keeps at most `retain` (3) versions once services have moved', async () => {
    for (const n of [3, 4, 5]) {
      writeConf(`version=${n}\n`);
      await apply();
    }
    assert.equal(await inTask('/etc/app.conf'), 'version=5\n');
    assert.equal((await versions('config', `${ns}_app-conf`)).length, 3);
    assert.equal((await versions('secret', `${ns}_db-password`)).length, 1, 'the secret did not change: one version');
  });

  it('a prune deletes the service and then every version', async () => {
    await rewrite(dir, manifests(false));
    const r = await apply('--prune');
    assert.match(r.stdout, /- Config "e2e-data\/app-conf"/);
    assert.deepEqual(await versions('config', `${ns}_app-conf`), []);
    assert.deepEqual(await versions('secret', `${ns}_db-password`), []);
  });
});
