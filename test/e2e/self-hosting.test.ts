import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const ns = 'e2e-selfhost';
// The controller's own namespace: not swarm-controller, so a controller installed by scripts/demo.sh on the same Swarm is left alone.
const ctlNs = 'e2e-selfhost-ctl';
const work = mkdtempSync(join(tmpdir(), 'sc-self-'));
const bare = join(work, 'repo.git');
const clone = join(work, 'clone');
const source = `${bare}#main:deploy`;
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.com', ...args], {
    cwd: clone,
    encoding: 'utf8',
  });

function controllerManifest(image: string, replicas = 1): string {
  const socket = ensureSwarm().replace(/^unix:\/\//, '');
  return `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: control, namespace: ${ctlNs}}
spec: {attachable: true}
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: controller, namespace: ${ctlNs}}
spec:
  image: ${image}
  args: [run, --no-routes, --interval, 5s, --resync, 5s, --lease-duration, 5s]
  replicas: ${replicas}
  endpointMode: dnsrr
  networks: [control]
  env: {SC_SOURCE: "${source}"}
  mounts:
    - {type: bind, source: ${socket}, target: /var/run/docker.sock}
    - {type: bind, source: ${work}, target: ${work}, readOnly: true}
  placement: {constraints: ["node.role == manager"]}
  updateConfig: {order: start-first, monitor: 5s}
  stopGracePeriod: 15s
`;
}

const app = (replicas: number) => `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: app, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: ${replicas}
  endpointMode: dnsrr
  stopGracePeriod: 1s
`;

function commit(files: Record<string, string>, message: string): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(clone, 'deploy', name), text);
  git('add', '-A');
  git('commit', '-qm', message);
  git('push', '-q', 'origin', 'main');
}

const replicasOf = async (name: string) => (await inspectService(name)).Spec.Mode.Replicated.Replicas as number;
const runningImages = async (name: string) =>
  (await docker('service', 'ps', name, '--filter', 'desired-state=running', '--format', '{{.Image}} {{.CurrentState}}'))
    .split('\n')
    .filter(Boolean);
/** The status of each running controller container, read from inside it. */
async function controllerStatuses(): Promise<{ container: string; role: string; leader: string; identity: string }[]> {
  const ids = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${ctlNs}_controller`))
    .split('\n')
    .filter(Boolean);
  const out = [];
  for (const id of ids) {
    try {
      const json = await docker(
        'exec',
        id,
        'node',
        '-e',
        'fetch("http://127.0.0.1:8090/status").then((r) => r.text()).then((t) => process.stdout.write(t))',
      );
      const s = JSON.parse(json) as { role: string; leader: string; identity: string };
      out.push({ container: id, role: s.role, leader: s.leader, identity: s.identity });
    } catch {
      /* starting or stopping */
    }
  }
  return out;
}

/** Whether each running controller reports itself suspended. */
async function controllerStatusesRaw(): Promise<{ suspended: boolean }[]> {
  const ids = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${ctlNs}_controller`))
    .split('\n')
    .filter(Boolean);
  const out = [];
  for (const id of ids) {
    try {
      const json = await docker(
        'exec',
        id,
        'node',
        '-e',
        'fetch("http://127.0.0.1:8090/status").then((r) => r.text()).then((t) => process.stdout.write(t))',
      );
      out.push({ suspended: (JSON.parse(json) as { suspended?: boolean }).suspended === true });
    } catch {
      /* starting or stopping */
    }
  }
  return out;
}

const seconds = (t: number) => `${((Date.now() - t) / 1000).toFixed(2)} s`;

describe('the controller as a Swarm service that manages itself', { timeout: 900_000 }, () => {
  before(async () => {
    ensureSwarm();
    execFileSync(join(repoRoot, 'scripts/engine-images.sh'), ['--only', 'controller'], {
      env: { ...process.env, DOCKER_HOST: ensureSwarm() },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await docker('tag', 'swarm-controller/controller:dev', 'swarm-controller/controller:e2e-v2');
    await removeNamespace(ns);
    await removeNamespace(ctlNs);
    await removeControllerRecords('deploy');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    execFileSync('git', ['clone', '-q', bare, clone]);
    mkdirSync(join(clone, 'deploy'));
    git('checkout', '-q', '-b', 'main');
    commit({ 'controller.yaml': controllerManifest('swarm-controller/controller:dev'), 'app.yaml': app(1) }, 'install');
  });
  after(async () => {
    // A running self-managed controller re-creates what is removed (docs/run.md): suspend it
    // first, and wait until every replica has seen that before removing anything.
    const r = await controller(['suspend', '--set', 'deploy', '--reason', 'e2e cleanup']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await eventually(
      async () => {
        const s = await controllerStatusesRaw();
        return s.every((x) => x.suspended === true);
      },
      30_000,
      'every controller replica to report suspended',
    );
    await removeNamespace(ctlNs);
    await removeNamespace(ns);
    await removeControllerRecords('deploy');
  });

  it('bootstrap installs the controller from git, and is idempotent', async () => {
    const r = await controller(['bootstrap', '--repo', source, '--wait', '--timeout', '120s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Bootstrapping apply set "deploy"/);
    const again = await controller(['bootstrap', '--repo', source]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /No changes/);
    const svc = await inspectService(`${ctlNs}_controller`);
    assert.equal(svc.Spec.Labels['swarm.controller/apply-set'], 'deploy');
    assert.match(svc.Spec.Labels['swarm.controller/revision'], /^[0-9a-f]{40}$/);
  });

  it('the controller service converges a commit by polling, without a webhook', async () => {
    const t = Date.now();
    commit({ 'app.yaml': app(2) }, 'two replicas');
    await eventually(
      async () => (await replicasOf(`${ns}_app`)) === 2,
      90_000,
      'the controller service to apply the commit',
    );
    console.log(`commit to applied by the controller service: ${seconds(t)} (poll interval 5 s)`);
  });

  it('upgrades itself from a commit that changes its own image tag', async () => {
    const t = Date.now();
    commit({ 'controller.yaml': controllerManifest('swarm-controller/controller:e2e-v2') }, 'upgrade the controller');
    await eventually(
      async () =>
        (await inspectService(`${ctlNs}_controller`)).Spec.TaskTemplate.ContainerSpec.Image ===
        'swarm-controller/controller:e2e-v2',
      90_000,
      'the controller to update its own service',
    );
    await eventually(
      async () => {
        const images = await runningImages(`${ctlNs}_controller`);
        return images.length === 1 && images[0].startsWith('swarm-controller/controller:e2e-v2 Running');
      },
      120_000,
      'one running task on the new image',
    );
    console.log(`self-upgrade, commit to new controller task running: ${seconds(t)}`);
    // the upgraded controller keeps working
    commit({ 'app.yaml': app(1) }, 'back to one');
    await eventually(
      async () => (await replicasOf(`${ns}_app`)) === 1,
      90_000,
      'the upgraded controller to apply a commit',
    );
  });

  it('two controller replicas: one leads; killing the leader hands over within the lease time', async () => {
    commit(
      { 'controller.yaml': controllerManifest('swarm-controller/controller:e2e-v2', 2) },
      'two controller replicas',
    );
    let statuses: Awaited<ReturnType<typeof controllerStatuses>> = [];
    await eventually(
      async () => {
        statuses = await controllerStatuses();
        return (
          statuses.length === 2 &&
          statuses.filter((x) => x.role === 'leader').length === 1 &&
          statuses.filter((x) => x.role === 'standby').length === 1
        );
      },
      120_000,
      'one leader and one standby',
    );
    const leader = statuses.find((x) => x.role === 'leader')!;
    const standby = statuses.find((x) => x.role === 'standby')!;
    assert.equal(standby.leader, leader.identity);
    await docker('kill', leader.container);
    const t = Date.now();
    await eventually(
      async () => (await controllerStatuses()).some((x) => x.container === standby.container && x.role === 'leader'),
      60_000,
      'the standby to lead',
    );
    console.log(`controller service, leader container killed -> standby leads: ${seconds(t)} (lease 5 s)`);
    commit({ 'app.yaml': app(2) }, 'after the handover');
    await eventually(async () => (await replicasOf(`${ns}_app`)) === 2, 90_000, 'the new leader to apply a commit');
  });
});
