/**
 * The status in the Swarm and the commands that read it, end to end: `controller run` (its
 * HTTP endpoint on a random port nobody is told) writes its status into the Swarm; `get`,
 * `status` and `describe`, other processes with no port, read it back; `diff` shows a changed
 * field and masks a secret; colour follows FORCE_COLOR. Uses the namespace and apply set
 * e2e-status only, and removes its objects and records after.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  controller,
  docker,
  ensureSwarm,
  eventually,
  manifestDir,
  removeControllerRecords,
  removeNamespace,
  repoRoot,
} from './harness.js';
import { join } from 'node:path';

const ns = 'e2e-status';
const secretValue = 'hunter2-e2e-status';
const otherSecret = 'correct-horse-e2e-status';

const manifest = (level: string, password: string) => `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: 1
  endpointMode: dnsrr
  env: {LOG_LEVEL: ${level}, DB_PASSWORD: ${password}}
  stopGracePeriod: 1s
  updateConfig: {monitor: 1s}
`;

const removeRecords = () => removeControllerRecords(ns);

describe('status in the Swarm, read by get, status, describe; diff', { timeout: 300_000 }, () => {
  let run: ChildProcess | undefined;
  let dir: string;
  const logs: string[] = [];

  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    await removeRecords();
    dir = await manifestDir(ns, { 'web.yaml': manifest('info', secretValue) });
    run = spawn(
      process.execPath,
      [
        join(repoRoot, 'dist/src/cli/main.js'),
        'run',
        '--source',
        dir,
        '--set',
        ns,
        '--no-routes',
        '--listen',
        '127.0.0.1:0',
        '--interval',
        '5s',
        '--lease-duration',
        '4s',
        '--status-interval',
        '1s',
        '--identity',
        'e2e-status-a',
        '--resolve-image',
        'never',
      ],
      { env: { ...process.env, DOCKER_HOST: ensureSwarm() } },
    );
    run.stderr!.on('data', (d) => logs.push(String(d)));
  });

  after(async () => {
    run?.kill('SIGKILL');
    await removeNamespace(ns);
    await removeRecords();
  });

  it('controller run writes its status into the Swarm, and get reads it from another process', async () => {
    let apps: { items: { name: string; syncState: string; revision?: string; counts: Record<string, number> }[] } = {
      items: [],
    };
    await eventually(
      async () => {
        const r = await controller(['get', 'apps', '-o', 'json', '--set', ns]);
        apps = JSON.parse(r.stdout || '{"items":[]}');
        return apps.items[0]?.syncState === 'Synced';
      },
      120_000,
      `the status of ${ns} to say Synced (controller logs: ${logs.join('').slice(-2000)})`,
    );
    assert.equal(apps.items[0].name, ns);
    assert.equal(apps.items[0].counts.Ready, 1);
    const configs = (
      await docker(
        'config',
        'ls',
        '--filter',
        `label=swarm.controller/status-of=ApplySet/${ns}`,
        '--format',
        '{{.Name}}',
      )
    )
      .split('\n')
      .filter(Boolean);
    assert.ok(configs.length >= 1 && configs.length <= 2, configs.join(', '));
    assert.ok(configs.every((c) => c.startsWith(`swarm-controller-status.${ns}.`)));

    const table = await controller(['get', 'apps', '--set', ns]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+KIND\s+SYNC\s+REVISION\s+READY\s+LAST SYNC\s+UPDATED$/m);
    assert.match(table.stdout, new RegExp(`^${ns}\\s+ApplySet\\s+Synced\\s+\\S+\\s+1/1\\s+success `, 'm'));
    assert.doesNotMatch(table.stdout, /\x1b\[/, 'no colour when not a terminal');

    const objects = await controller(['get', 'objects', '--set', ns, '-o', 'wide']);
    assert.match(objects.stdout, new RegExp(`^${ns}\\s+Service\\s+${ns}/web\\s+Ready\\s+\\S+\\s+${ns}_web\\s`, 'm'));

    const coloured = await controller(['get', 'apps', '--set', ns], { env: { FORCE_COLOR: '1' } });
    assert.match(coloured.stdout, /\x1b\[32mSynced\x1b\[0m/);
  });

  it('controller status reads the Swarm with no URL; an unknown apply set is SC5101', async () => {
    const s = await controller(['status', '--set', ns]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(
      s.stdout,
      /^status written \d+s ago by e2e-status-a \(swarm-controller-status\.e2e-status\.\d+, \d+ bytes\)$/m,
    );
    assert.match(s.stdout, new RegExp(`apply set "${ns}" from directory ${dir.replace(/[/.]/g, '\\$&')}`));
    assert.match(s.stdout, /^objects: 1 ready, 0 progressing, 0 failed, 0 stalled, 0 pending$/m);
    const none = await controller(['status', '--set', 'e2e-status-nothing']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^error SC5101: No status in the Swarm for "e2e-status-nothing"/m);
  });

  it('controller describe shows the status, the live spec with the secret masked, tasks and events', async () => {
    const d = await controller(['describe', 'service', `${ns}/web`]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^Phase:\s+Ready$/m);
    assert.match(d.stdout, new RegExp(`^App:\\s+${ns}$`, 'm'));
    assert.match(d.stdout, /^ +LOG_LEVEL: info$/m);
    assert.match(d.stdout, /^ +DB_PASSWORD: \(sensitive\)$/m);
    assert.ok(!d.stdout.includes(secretValue), 'the secret value appears nowhere');
    assert.match(d.stdout, /^Tasks \(newest first\):\n\s+TASK\s+SLOT\s+NODE\s+DESIRED\s+STATE/m);
    assert.match(d.stdout, /\brunning\s+running\b/);
    assert.match(d.stdout, /^Events .*\n\s+TIME\s+ACTION\s+DETAIL\n\s+\S+\s+create\b/m);
    const missing = await controller(['describe', 'service', `${ns}/nothing`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /error SC5103: no Service "e2e-status\/nothing"/);
  });

  it('controller diff shows a changed field as a unified diff and masks a changed secret', async () => {
    const same = await controller(['diff', '-f', dir, '--set', ns]);
    assert.equal(same.code, 0, same.stderr + same.stdout);
    assert.equal(same.stdout, '');
    const changed = await manifestDir(ns, { 'web.yaml': manifest('debug', otherSecret) });
    const d = await controller(['diff', '-f', changed, '--set', ns]);
    assert.equal(d.code, 2, d.stderr);
    assert.match(d.stdout, new RegExp(`^--- live/Service/${ns}/web\\n\\+\\+\\+ manifest/Service/${ns}/web\\n@@ `, 'm'));
    assert.match(d.stdout, /^- {4}LOG_LEVEL: info\n/m);
    assert.match(d.stdout, /^\+ {4}LOG_LEVEL: debug\n/m);
    assert.match(d.stdout, /^- {4}DB_PASSWORD: \(sensitive\)\n/m);
    assert.match(d.stdout, /^\+ {4}DB_PASSWORD: \(sensitive, changed\)\n/m);
    for (const v of [secretValue, otherSecret]) assert.ok(!(d.stdout + d.stderr).includes(v), `${v} appears nowhere`);
    assert.match(d.stderr, /1 object differs from the manifests/);
  });
});
