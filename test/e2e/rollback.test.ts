import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { controller, ensureSwarm, inspectService, manifestDir, removeNamespace, rewrite } from './harness.js';

const ns = 'e2e-rollback';
const manifest = (env: string, image = 'swarm-controller/test-app:1', extra = '') => ({
  'svc.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: app, namespace: ${ns}}
spec:
  image: ${image}${extra}
  replicas: 2
  endpointMode: dnsrr
  env: {${env}}
  stopGracePeriod: 1s
  restartPolicy: {condition: on-failure, delay: 1s}
  updateConfig: {parallelism: 1, monitor: 3s, failureAction: rollback, order: start-first}
  rollbackConfig: {parallelism: 0, monitor: 1s}
`,
});

describe('a rollout that Swarm rolls back', { timeout: 300_000 }, () => {
  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
  });
  after(async () => removeNamespace(ns));

  it('is reported as a failed apply naming the task error', async () => {
    const dir = await manifestDir('rollback', manifest('APP_VERSION: "1"'));
    const ok = await controller(['apply', '-f', dir, '--wait', '--timeout', '60s']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    await rewrite(dir, manifest('APP_VERSION: "2", CRASH: "1"'));
    const r = await controller(['apply', '-f', dir, '--wait', '--timeout', '120s']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /FAIL e2e-rollback_app: Swarm rolled the update back/);
    assert.match(r.stderr, /task e2e-rollback_app\.\d+ (failed|complete|shutdown): .*exit code 1/);
    assert.match(r.stderr, /Apply FAILED/);
    const live = await inspectService(`${ns}_app`);
    assert.ok(!live.Spec.TaskTemplate.ContainerSpec.Env.includes('CRASH=1'), 'Swarm restored the previous spec');
    const plan = await controller(['plan', '-f', dir]);
    assert.equal(plan.code, 2, 'the rolled-back change is still pending in the plan');
  });

  it('rolls back an update whose tasks fail their health check, naming it', async () => {
    const health =
      '\n  healthcheck: {test: [CMD, /usr/local/bin/node, /app/healthcheck.js], interval: 1s, timeout: 2s, retries: 2}';
    await removeNamespace(ns);
    const dir = await manifestDir('rollback-health', manifest('APP_VERSION: "1"', undefined, health));
    const ok = await controller(['apply', '-f', dir, '--set', 'rollback', '--wait', '--timeout', '90s']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    await rewrite(dir, manifest('APP_VERSION: "2", UNHEALTHY: "1"', undefined, health));
    const r = await controller(['apply', '-f', dir, '--set', 'rollback', '--wait', '--timeout', '180s']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /FAIL e2e-rollback_app: Swarm rolled the update back/);
    assert.match(
      r.stderr,
      /task e2e-rollback_app\.\d+ failed its health check \(\d+ in a row; last answer: exit code 1\)/,
    );
    const live = await inspectService(`${ns}_app`);
    assert.ok(!live.Spec.TaskTemplate.ContainerSpec.Env.includes('UNHEALTHY=1'), 'Swarm restored the healthy spec');
  });

  it('rolls back an image that does not exist, naming the task error', async () => {
    await removeNamespace(ns);
    const dir = await manifestDir('rollback-image', manifest('APP_VERSION: "1"'));
    const ok = await controller(['apply', '-f', dir, '--set', 'rollback', '--wait', '--timeout', '90s']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    await rewrite(dir, manifest('APP_VERSION: "1"', 'swarm-controller/test-app:does-not-exist'));
    const r = await controller(['apply', '-f', dir, '--set', 'rollback', '--wait', '--timeout', '180s']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /FAIL e2e-rollback_app: Swarm rolled the update back/);
    assert.match(r.stderr, /No such image|not found|pull access denied/i);
    assert.equal(
      (await inspectService(`${ns}_app`)).Spec.TaskTemplate.ContainerSpec.Image.split('@')[0],
      'swarm-controller/test-app:1',
    );
  });
});
