/**
 * Every field a stack file sets, on the real engine: a Service with each container, resource,
 * placement and logging field, a replicated and a global job, an encrypted overlay network
 * with driver options, labels and a subnet, and a templated Config. Applied with --wait (the
 * jobs must complete), the next plan is empty: what the engine stores reads back as the same
 * model, with no perpetual diff. Fields the engine's API lacks are refused by the plan.
 * Runs on whichever engine DOCKER_HOST names (scripts/test.sh runs it on both).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controller, docker, ensureSwarm, manifestDir, planJson, removeNamespace, rewrite } from './harness.js';

const ns = 'e2e-fields';

function manifests(startInterval = false): Record<string, string> {
  return {
    'all.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: net, namespace: ${ns}, labels: {team: platform}}
spec:
  encrypted: true
  attachable: true
  options: {com.docker.network.driver.mtu: "1400"}
  ipam: {subnets: [{subnet: 10.213.192.0/24}]}
---
apiVersion: swarm.controller/v1alpha1
kind: Config
metadata: {name: greeting, namespace: ${ns}}
spec: {file: greeting.tmpl, templateDriver: golang}
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: app, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  endpointMode: dnsrr
  networks: [net]
  hostname: "app-{{.Task.Slot}}"
  env: {NODE_ID: "{{.Node.ID}}"}
  configs: [{name: greeting, target: /etc/greeting}]
  capAdd: [NET_ADMIN, sys_time]
  capDrop: [MKNOD]
  init: true
  readOnly: true
  tty: true
  stdinOpen: true
  stopSignal: SIGINT
  stopGracePeriod: 1s
  sysctls: {net.core.somaxconn: 1024}
  ulimits: {nofile: {soft: 512, hard: 1024}, nproc: 4096}
  dns: {nameservers: [10.213.0.2], search: [example.internal], options: ["ndots:2"]}
  extraHosts: [{host: db.local, ip: 10.213.0.9}]
  logging: {driver: json-file, options: {max-size: 10m, max-file: 3}}
  healthcheck: {test: [CMD, /usr/local/bin/node, /app/healthcheck.js], interval: 1s, startPeriod: 5s, retries: 3${startInterval ? ', startInterval: 500ms' : ''}}
  resources: {limits: {pids: 200, memory: 128Mi}}
  placement: {preferences: [{spread: node.labels.zone}], maxReplicasPerNode: 2}
  mounts: [{type: tmpfs, target: /tmp}]
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: batch, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  command: [/usr/local/bin/node, -e, "0"]
  mode: replicated-job
  completions: 3
  concurrency: 2
  networks: [net]
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: once, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  command: [/usr/local/bin/node, -e, "0"]
  mode: global-job
  networks: [net]
`,
  };
}

let dir: string;
let api = '';

describe('every field of a stack round-trips on the real engine', { timeout: 300_000 }, () => {
  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    api = (await docker('version', '--format', '{{.Server.APIVersion}}')).trim();
    dir = await manifestDir(ns, manifests());
    writeFileSync(join(dir, 'greeting.tmpl'), 'hello from {{.Task.Slot}}\n');
  });
  after(async () => removeNamespace(ns));

  it('applies (the jobs complete), and the next plan is empty', async () => {
    const applied = await controller(['apply', '-f', dir, '--wait', '--timeout', '120s']);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    assert.match(applied.stdout + applied.stderr, /job complete: 3\/3 tasks completed/);
    const again = await controller(['plan', '-f', dir]);
    assert.equal(again.code, 0, `no change expected after apply:\n${again.stdout}${again.stderr}`);
  });

  it('the engine stored each field as written', async () => {
    const spec = JSON.parse(await docker('service', 'inspect', `${ns}_app`))[0].Spec;
    const c = spec.TaskTemplate.ContainerSpec;
    assert.deepEqual(
      [c.Init, c.ReadOnly, c.TTY, c.OpenStdin, c.StopSignal, c.CapabilityAdd, c.CapabilityDrop],
      [true, true, true, true, 'SIGINT', ['CAP_NET_ADMIN', 'CAP_SYS_TIME'], ['CAP_MKNOD']],
    );
    assert.deepEqual(c.Hosts, ['10.213.0.9 db.local']);
    assert.deepEqual(c.DNSConfig, { Nameservers: ['10.213.0.2'], Search: ['example.internal'], Options: ['ndots:2'] });
    assert.deepEqual(spec.TaskTemplate.LogDriver, {
      Name: 'json-file',
      Options: { 'max-file': '3', 'max-size': '10m' },
    });
    assert.equal(spec.TaskTemplate.Resources.Limits.Pids, 200);
    const job = JSON.parse(await docker('service', 'inspect', `${ns}_batch`))[0].Spec;
    // Created at all: Swarm refuses a job with an UpdateConfig ("Jobs may not have an update config").
    assert.deepEqual(job.Mode, { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 3 } });
  });

  it('Swarm renders the templated config per task', async () => {
    const ids = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${ns}_app`)).split('\n');
    assert.ok(ids[0], 'a container of the app runs on this engine');
    const read = "process.stdout.write(require('fs').readFileSync('/etc/greeting', 'utf8'))";
    assert.equal(await docker('exec', ids[0], '/usr/local/bin/node', '-e', read), 'hello from 1\n');
  });

  it('healthcheck.startInterval: written where the engine has it, refused by the plan (SC4009) where it would be dropped', async () => {
    await rewrite(dir, manifests(true));
    const r = await controller(['plan', '-f', dir, '-o', 'json']);
    if (Number(api.split('.')[1]) >= 44) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const applied = await controller(['apply', '-f', dir, '--wait', '--timeout', '120s']);
      assert.equal(applied.code, 0, applied.stdout + applied.stderr);
      assert.equal((await controller(['plan', '-f', dir])).code, 0, 'the stored StartInterval reads back equal');
    } else {
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.deepEqual(
        planJson(r).blockers.map((b) => [b.code, b.id]),
        [['SC4009', `Service/${ns}/app`]],
      );
    }
  });
});
