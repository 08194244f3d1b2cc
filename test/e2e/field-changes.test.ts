import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  controller,
  docker,
  ensureSwarm,
  eventually,
  inspectService,
  manifestDir,
  planJson,
  removeNamespace,
  rewrite,
} from './harness.js';
import { publishedAddr } from './harness.js';
import { inNamespace, network, service, testAppImage, testAppService } from '../helpers/manifests.js';

const ns = 'e2e-changes';
const manifests = (
  o: { image?: string; env?: string; replicas?: number; placement?: string; parallelism?: number; ports?: string } = {},
) => {
  const meta = inNamespace(ns);
  const app = service(
    'app',
    [
      `image: ${o.image ?? testAppImage}`,
      `replicas: ${o.replicas ?? 1}`,
      'endpointMode: dnsrr',
      'networks: [net]',
      `env: {APP_VERSION: "1"${o.env ?? ''}}`,
      'stopGracePeriod: 1s',
      `updateConfig: {parallelism: ${o.parallelism ?? 1}, monitor: 1s, order: start-first}`,
      ...(o.placement ? [o.placement.trim()] : []),
    ].join('\n'),
    meta,
  );
  const edge = testAppService(
    'edge',
    ns,
    ['updateConfig: {monitor: 1s}', ...(o.ports ? [o.ports.trim()] : [])].join('\n'),
  );
  return { 'all.yaml': network('net', 'ipam: {subnets: [{subnet: 10.213.120.0/24}]}', meta) + app + edge };
};

let dir: string;

async function planOne(): Promise<ReturnType<typeof planJson>['changes'][number]> {
  const r = await controller(['plan', '-f', dir, '-o', 'json']);
  assert.equal(r.code, 2, `plan should find a change: ${r.stdout}${r.stderr}`);
  const plan = planJson(r);
  assert.equal(plan.changes.length, 1, JSON.stringify(plan.changes));
  return plan.changes[0];
}

async function applyAndSettle(): Promise<void> {
  const r = await controller(['apply', '-f', dir, '--wait', '--timeout', '90s']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const again = await controller(['plan', '-f', dir]);
  assert.equal(again.code, 0, `no change expected after apply:\n${again.stdout}`);
}

const taskIds = async (svc: string) =>
  (await docker('service', 'ps', '-q', '--filter', 'desired-state=running', svc)).split('\n').filter(Boolean).sort();

describe('each kind of change is planned as exactly that change and applied', { timeout: 600_000 }, () => {
  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    dir = await manifestDir('changes', manifests());
    await applyAndSettle();
  });
  after(async () => removeNamespace(ns));

  it('image', async () => {
    await rewrite(dir, manifests({ image: 'swarm-controller/test-app:2' }));
    const c = await planOne();
    assert.deepEqual([c.id, c.action, c.restartsTasks], [`Service/${ns}/app`, 'update', true]);
    assert.deepEqual(c.fields, [
      {
        path: 'spec.image',
        before: 'swarm-controller/test-app:1',
        after: 'swarm-controller/test-app:2',
        sensitive: false,
      },
    ]);
    await applyAndSettle();
    assert.equal(
      (await inspectService(`${ns}_app`)).Spec.TaskTemplate.ContainerSpec.Image,
      'swarm-controller/test-app:2',
    );
  });

  it('env', async () => {
    await rewrite(dir, manifests({ image: 'swarm-controller/test-app:2', env: ', FEATURE: "on"' }));
    const c = await planOne();
    assert.deepEqual(
      c.fields.map((f) => [f.path, f.before, f.after]),
      [['spec.env.FEATURE', null, 'on']],
    );
    await applyAndSettle();
    assert.ok((await inspectService(`${ns}_app`)).Spec.TaskTemplate.ContainerSpec.Env.includes('FEATURE=on'));
  });

  it('replicas, as a scale that restarts no task', async () => {
    const beforeIds = await taskIds(`${ns}_app`);
    await rewrite(dir, manifests({ image: 'swarm-controller/test-app:2', env: ', FEATURE: "on"', replicas: 3 }));
    const c = await planOne();
    assert.deepEqual(
      [c.action, c.restartsTasks, c.fields.map((f) => [f.path, f.before, f.after])],
      ['scale', false, [['spec.replicas', 1, 3]]],
    );
    await applyAndSettle();
    const afterIds = await taskIds(`${ns}_app`);
    assert.equal(afterIds.length, 3);
    assert.ok(
      beforeIds.every((id) => afterIds.includes(id)),
      'the existing task kept running',
    );
  });

  it('update policy, as an update that restarts no task', async () => {
    const beforeIds = await taskIds(`${ns}_app`);
    await rewrite(
      dir,
      manifests({ image: 'swarm-controller/test-app:2', env: ', FEATURE: "on"', replicas: 3, parallelism: 2 }),
    );
    const c = await planOne();
    assert.deepEqual(
      [c.action, c.restartsTasks, c.fields.map((f) => [f.path, f.before, f.after])],
      ['update', false, [['spec.updateConfig.parallelism', 1, 2]]],
    );
    await applyAndSettle();
    assert.deepEqual(await taskIds(`${ns}_app`), beforeIds);
    assert.equal((await inspectService(`${ns}_app`)).Spec.UpdateConfig.Parallelism, 2);
  });

  it('placement', async () => {
    const placement = '  placement: {constraints: ["node.role == manager"]}\n';
    await rewrite(
      dir,
      manifests({
        image: 'swarm-controller/test-app:2',
        env: ', FEATURE: "on"',
        replicas: 3,
        parallelism: 2,
        placement,
      }),
    );
    const c = await planOne();
    assert.deepEqual(
      c.fields.map((f) => [f.path, f.before, f.after]),
      [['spec.placement.constraints', [], ['node.role == manager']]],
    );
    await applyAndSettle();
    assert.deepEqual((await inspectService(`${ns}_app`)).Spec.TaskTemplate.Placement.Constraints, [
      'node.role == manager',
    ]);
  });

  it('ports, reachable on the host port afterwards', async () => {
    const ports = '  ports: [{target: 8080, published: 18181, mode: host}]\n';
    await rewrite(
      dir,
      manifests({
        image: 'swarm-controller/test-app:2',
        env: ', FEATURE: "on"',
        replicas: 3,
        parallelism: 2,
        placement: '  placement: {constraints: ["node.role == manager"]}\n',
        ports,
      }),
    );
    const c = await planOne();
    assert.deepEqual([c.id, c.restartsTasks], [`Service/${ns}/edge`, true]);
    assert.deepEqual(
      c.fields.map((f) => [f.path, f.before, f.after]),
      [['spec.ports', [], [{ target: 8080, published: 18181, protocol: 'tcp', mode: 'host' }]]],
    );
    await applyAndSettle();
    await eventually(
      async () => (await fetch(`http://${publishedAddr}:18181/`).catch(() => undefined))?.status === 200,
      30_000,
      `edge on ${publishedAddr}:18181`,
    );
  });
});
