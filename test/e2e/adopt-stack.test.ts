/**
 * Taking over a stack that `docker stack deploy` runs, without restarting anything: the stack
 * is deployed with the docker CLI, then imported (`controller import compose` of its file, or
 * `controller import stack NAME` from the Swarm alone) and applied with --adopt. The plan must
 * say "adopt: labels only, restarts nothing" for every object; afterwards every task, network,
 * config and secret is the same object as before (IDs unchanged), every task template is
 * unchanged, and the next plan is empty. Runs on whichever engine DOCKER_HOST names.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { controller, docker, ensureSwarm, eventually, planJson, removeNamespace } from './harness.js';

const run = promisify(execFile);

/** A stack as people write them: an underscore in a name, a config, a secret, an encrypted network, a shared one. */
const composeFile = (port: number, subnet: string, proxy: string) => `services:
  payment_gateway:
    image: swarm-controller/test-app:1
    environment: {PORT: "8080", STOP_DELAY_MS: "0"}
    ports: [{target: 8080, published: ${port}, mode: host}]
    networks: [backend, edge]
    configs: [{source: caddy_config, target: /etc/caddy/Caddyfile}]
    secrets: [db_password]
    healthcheck: {test: ["CMD", "/usr/local/bin/node", "/app/healthcheck.js"], interval: 2s}
    logging: {driver: json-file, options: {max-size: 1m}}
    cap_add: [NET_ADMIN]
    stop_grace_period: 2s
    deploy:
      update_config: {order: start-first}
      labels: {team: payments}
  worker:
    image: swarm-controller/test-app:1
    networks: [backend]
    volumes: [data:/data]
    deploy: {replicas: 2}
networks:
  backend:
    driver_opts: {encrypted: ""}
    labels: {tier: backend}
    ipam: {config: [{subnet: ${subnet}}]}
  edge:
    name: ${proxy}
    attachable: true
volumes:
  data: {}
configs:
  caddy_config: {file: ./Caddyfile}
secrets:
  db_password: {file: ./db_password.txt}
`;

interface Snapshot {
  tasks: Record<string, string[]>;
  templates: Record<string, string>;
  networks: Record<string, string>;
  configs: Record<string, string>;
  secrets: Record<string, string>;
}

async function snapshot(ns: string): Promise<Snapshot> {
  const ids = (await docker('service', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${ns}`))
    .split('\n')
    .filter(Boolean);
  const services = JSON.parse(await docker('service', 'inspect', ...ids)) as { Spec: any }[];
  const out: Snapshot = { tasks: {}, templates: {}, networks: {}, configs: {}, secrets: {} };
  for (const s of services) {
    out.tasks[s.Spec.Name] = (await docker('service', 'ps', '-q', '--filter', 'desired-state=running', s.Spec.Name))
      .split('\n')
      .filter(Boolean)
      .sort();
    out.templates[s.Spec.Name] = JSON.stringify({ t: s.Spec.TaskTemplate, e: s.Spec.EndpointSpec });
  }
  const list = async (what: string) =>
    Object.fromEntries(
      (await docker(what, 'ls', '--filter', `label=com.docker.stack.namespace=${ns}`, '--format', '{{.Name}} {{.ID}}'))
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ') as [string, string]),
    );
  out.networks = await list('network');
  out.configs = Object.fromEntries(
    Object.entries(await list('config')).filter(([n]) => !n.startsWith('swarm-controller.')),
  );
  out.secrets = await list('secret');
  return out;
}

async function deployStack(ns: string, port: number, subnet: string, proxy: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sc-adopt-'));
  await writeFile(join(dir, 'docker-compose.yml'), composeFile(port, subnet, proxy));
  await writeFile(join(dir, 'Caddyfile'), ':8080 {\n  respond "ok"\n}\n');
  await writeFile(join(dir, 'db_password.txt'), 'e2e-adopt-password\n');
  await run('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', join(dir, 'docker-compose.yml'), ns], {
    env: { ...process.env, DOCKER_HOST: ensureSwarm() },
    cwd: dir,
  });
  await eventually(
    async () => {
      const s = await snapshot(ns);
      return (
        Object.keys(s.tasks).length === 2 &&
        s.tasks[`${ns}_worker`]?.length === 2 &&
        s.tasks[`${ns}_payment_gateway`]?.length === 1
      );
    },
    60_000,
    `stack ${ns} running`,
  );
  // Running, not merely created: an update mid-start would say nothing about restarts.
  await eventually(
    async () =>
      (
        await docker(
          'service',
          'ps',
          '--filter',
          'desired-state=running',
          '--format',
          '{{.CurrentState}}',
          `${ns}_payment_gateway`,
        )
      ).startsWith('Running'),
    60_000,
    `${ns}_payment_gateway running`,
  );
  return dir;
}

async function removeStack(ns: string): Promise<void> {
  await removeNamespace(ns);
  const secrets = (await docker('secret', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${ns}`))
    .split('\n')
    .filter(Boolean);
  if (secrets.length) await docker('secret', 'rm', ...secrets).catch(() => '');
  await eventually(
    async () => (await docker('ps', '-q', '--filter', `label=com.docker.stack.namespace=${ns}`)).trim() === '',
    60_000,
    `containers of ${ns} gone`,
  ).catch(() => undefined);
  // A volume is in use until its last container is removed, a moment after the container stops.
  const volumesOf = async () =>
    (await docker('volume', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${ns}`))
      .split('\n')
      .filter(Boolean);
  await eventually(
    async () => {
      const volumes = await volumesOf();
      if (volumes.length) await docker('volume', 'rm', '-f', ...volumes).catch(() => '');
      return (await volumesOf()).length === 0;
    },
    60_000,
    `volumes of ${ns} removed`,
  ).catch(() => undefined);
}

async function adoptAndCheck(ns: string, manifests: string, report: string[]): Promise<void> {
  const beforeState = await snapshot(ns);
  const planned = await controller(['plan', '-f', manifests, '--set', ns, '--adopt', '-o', 'json']);
  assert.equal(planned.code, 2, planned.stdout + planned.stderr);
  const plan = planJson(planned) as ReturnType<typeof planJson> & { changes: { reason: string; adopt?: boolean }[] };
  assert.deepEqual(plan.blockers, []);
  for (const c of plan.changes)
    assert.deepEqual(
      [c.id, c.action, c.adopt, c.restartsTasks, c.reason.startsWith('adopt: labels only, restarts nothing')],
      [c.id, 'update', true, false, true],
      c.reason,
    );
  report.push(
    `${ns}: plan ${plan.changes.length} changes, all "adopt: labels only, restarts nothing" (${plan.changes.map((c) => c.id).join(', ')})`,
  );
  const applied = await controller(['apply', '-f', manifests, '--set', ns, '--adopt', '--wait', '--timeout', '90s']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  const afterState = await snapshot(ns);
  for (const [name, ids] of Object.entries(beforeState.tasks))
    report.push(
      `${ns}: ${name} tasks ${ids.map((x) => x.slice(0, 12)).join(',')} -> ${(afterState.tasks[name] ?? []).map((x) => x.slice(0, 12)).join(',')}`,
    );
  assert.deepEqual(afterState.tasks, beforeState.tasks, 'no task was restarted');
  assert.deepEqual(afterState.templates, beforeState.templates, 'no task template or endpoint spec changed');
  assert.deepEqual(afterState.networks, beforeState.networks, 'no network was recreated');
  assert.deepEqual(afterState.configs, beforeState.configs, 'no config was recreated');
  assert.deepEqual(afterState.secrets, beforeState.secrets, 'no secret was recreated');
  const again = await controller(['plan', '-f', manifests, '--set', ns]);
  assert.equal(again.code, 0, `the next plan must be empty:\n${again.stdout}${again.stderr}`);
}

describe('adopt a stack deployed by docker stack deploy, restarting nothing', { timeout: 600_000 }, () => {
  const report: string[] = [];
  before(async () => {
    ensureSwarm();
    for (const ns of ['e2e-adopt', 'e2e-adopt2']) await removeStack(ns);
  });
  after(async () => {
    console.log(`adopt (engine API ${(await docker('version', '--format', '{{.Server.APIVersion}}')).trim()}):`);
    for (const line of report) console.log(`  ${line}`);
    for (const ns of ['e2e-adopt', 'e2e-adopt2']) await removeStack(ns);
  });

  it('import compose of its file + apply --adopt', async () => {
    const ns = 'e2e-adopt';
    const dir = await deployStack(ns, 18301, '10.213.194.0/24', 'e2e-adopt-proxy');
    const out = join(dir, 'manifests', ns);
    const imported = await controller([
      'import',
      'compose',
      join(dir, 'docker-compose.yml'),
      '--namespace',
      ns,
      '--out',
      out,
    ]);
    assert.equal(imported.code, 0, imported.stderr);
    await adoptAndCheck(ns, out, report);
  });

  it('import stack NAME (its files lost) + apply --adopt', async () => {
    const ns = 'e2e-adopt2';
    const dir = await deployStack(ns, 18311, '10.213.195.0/24', 'e2e-adopt2-proxy');
    const out = join(dir, 'from-swarm', ns);
    const imported = await controller(['import', 'stack', ns, '--out', out]);
    assert.equal(imported.code, 0, imported.stdout + imported.stderr);
    await adoptAndCheck(ns, out, report);
  });
});
