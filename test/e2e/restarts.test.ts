/**
 * Whether an update restarts tasks, for each kind of field, on the real engine: one field is
 * changed at a time, the plan says whether tasks restart (from what changes in the task
 * template and endpoint spec), the change is applied and waited for, and the running task
 * IDs before and after show what Swarm did. Prints the table of results. Runs on whichever
 * engine DOCKER_HOST names.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { controller, docker, ensureSwarm, manifestDir, planJson, removeNamespace, rewrite } from './harness.js';

const ns = 'e2e-restarts';

interface Step {
  /** The kind of field, as the table names it. */
  kind: string;
  /** Lines added to the service's spec (indented two spaces) or its metadata. */
  spec?: string;
  meta?: string;
  /** What Swarm does with the running task. */
  expect: 'kept' | 'replaced';
  /** What the plan says; defaults to expect === 'replaced'. */
  plan?: boolean;
}

const steps: Step[] = [
  { kind: 'service labels (metadata.labels)', meta: 'labels: {team: shop}', expect: 'kept' },
  { kind: 'replicas', spec: 'replicas: 2', expect: 'kept' },
  { kind: 'updateConfig', spec: 'updateConfig: {parallelism: 2, monitor: 1s, order: start-first}', expect: 'kept' },
  { kind: 'rollbackConfig', spec: 'rollbackConfig: {monitor: 2s}', expect: 'kept' },
  // Swarm keeps a task whose node still satisfies new constraints; the plan says "restarts tasks" (those that no longer fit move).
  {
    kind: 'placement constraints (node still fits)',
    spec: 'placement: {constraints: ["node.role == manager"]}',
    expect: 'kept',
    plan: true,
  },
  { kind: 'env', spec: 'env: {FEATURE: "on"}', expect: 'replaced' },
  { kind: 'containerLabels', spec: 'containerLabels: {tier: web}', expect: 'replaced' },
  { kind: 'resources', spec: 'resources: {limits: {memory: 128Mi, pids: 500}}', expect: 'replaced' },
  { kind: 'restartPolicy', spec: 'restartPolicy: {delay: 2s}', expect: 'replaced' },
  {
    kind: 'healthcheck',
    spec: 'healthcheck: {test: [CMD, /usr/local/bin/node, /app/healthcheck.js], interval: 1s}',
    expect: 'replaced',
  },
  { kind: 'stopGracePeriod', spec: 'stopGracePeriod: 2s', expect: 'replaced' },
  { kind: 'logging', spec: 'logging: {driver: json-file, options: {max-size: 1m}}', expect: 'replaced' },
  { kind: 'capAdd', spec: 'capAdd: [NET_ADMIN]', expect: 'replaced' },
  { kind: 'dns', spec: 'dns: {search: [example.internal]}', expect: 'replaced' },
  { kind: 'extraHosts', spec: 'extraHosts: [{host: db.local, ip: 10.213.0.9}]', expect: 'replaced' },
  { kind: 'mounts', spec: 'mounts: [{type: tmpfs, target: /scratch}]', expect: 'replaced' },
  { kind: 'network aliases', spec: 'networks: [{name: net, aliases: [www]}]', expect: 'replaced' },
  // Two tasks on one node: a host port without a fixed number, so they do not collide.
  { kind: 'ports (endpoint spec)', spec: 'ports: [{target: 8080, mode: host}]', expect: 'replaced' },
];

function manifests(upTo: number): Record<string, string> {
  const applied = steps.slice(0, upTo);
  const specLines = applied.filter((s) => s.spec).map((s) => `  ${s.spec}\n`);
  const has = (key: string) => applied.some((s) => s.spec?.startsWith(`${key}:`));
  return {
    'all.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: net, namespace: ${ns}}
spec: {ipam: {subnets: [{subnet: 10.213.193.0/24}]}}
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata:
  name: app
  namespace: ${ns}
${applied
  .filter((s) => s.meta)
  .map((s) => `  ${s.meta}\n`)
  .join('')}spec:
  image: swarm-controller/test-app:1
  endpointMode: dnsrr
${has('networks') ? '' : '  networks: [net]\n'}${has('stopGracePeriod') ? '' : '  stopGracePeriod: 1s\n'}${has('updateConfig') ? '' : '  updateConfig: {monitor: 1s, order: start-first}\n'}${specLines.join('')}`,
  };
}

const runningTasks = async () =>
  (await docker('service', 'ps', '-q', '--filter', 'desired-state=running', `${ns}_app`))
    .split('\n')
    .filter(Boolean)
    .sort();

let dir: string;
const table: string[] = [];

describe('an update restarts tasks exactly when the plan says so, for each kind of field', { timeout: 900_000 }, () => {
  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    dir = await manifestDir(ns, manifests(0));
    const r = await controller(['apply', '-f', dir, '--wait', '--timeout', '90s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    console.log(
      `restart classification (engine API ${(await docker('version', '--format', '{{.Server.APIVersion}}')).trim()}):`,
    );
    for (const line of table) console.log(`  ${line}`);
    await removeNamespace(ns);
  });

  steps.forEach((step, i) => {
    it(step.kind, async () => {
      await rewrite(dir, manifests(i + 1));
      const planned = await controller(['plan', '-f', dir, '-o', 'json']);
      assert.equal(planned.code, 2, planned.stdout + planned.stderr);
      const changes = planJson(planned).changes;
      assert.equal(changes.length, 1, JSON.stringify(changes));
      const change = changes[0] as (typeof changes)[number] & { reason: string };
      const beforeIds = await runningTasks();
      const applied = await controller(['apply', '-f', dir, '--wait', '--timeout', '90s']);
      assert.equal(applied.code, 0, applied.stdout + applied.stderr);
      const afterIds = await runningTasks();
      const kept = beforeIds.every((id) => afterIds.includes(id));
      table.push(
        `${step.kind.padEnd(42)} plan: ${change.restartsTasks ? 'restarts tasks' : 'no task restart'}; tasks ${kept ? 'kept' : 'replaced'} (${beforeIds.map((x) => x.slice(0, 8)).join(',')} -> ${afterIds.map((x) => x.slice(0, 8)).join(',')})`,
      );
      assert.equal(change.restartsTasks, step.plan ?? step.expect === 'replaced', change.reason);
      assert.equal(kept ? 'kept' : 'replaced', step.expect);
      const again = await controller(['plan', '-f', dir]);
      assert.equal(again.code, 0, `no change expected after apply:\n${again.stdout}`);
    });
  });

  it('a job runs again on any update, labels included, and the plan says so', async () => {
    const job = (labels: string) => ({
      'job.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: batch, namespace: ${ns}${labels}}
spec: {image: swarm-controller/test-app:1, command: [/usr/local/bin/node, -e, "0"], mode: replicated-job, completions: 2}
`,
    });
    await rewrite(dir, job(''));
    assert.equal((await controller(['apply', '-f', dir, '--wait', '--timeout', '90s'])).code, 0);
    const all = async () => (await docker('service', 'ps', '-q', `${ns}_batch`)).split('\n').filter(Boolean).sort();
    const first = await all();
    await rewrite(dir, job(', labels: {run: "2"}'));
    const planned = planJson(await controller(['plan', '-f', dir, '-o', 'json'])).changes;
    assert.deepEqual(
      planned.map((c) => [c.id, c.restartsTasks]),
      [[`Service/${ns}/batch`, true]],
    );
    const r = await controller(['apply', '-f', dir, '--wait', '--timeout', '90s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const second = await all();
    table.push(
      `${'a job: service labels'.padEnd(42)} plan: restarts tasks; ${second.length - first.length} new tasks completed (${first.length} -> ${second.length})`,
    );
    assert.equal(second.length, first.length + 2, 'the job ran again: two more completed tasks');
  });
});
