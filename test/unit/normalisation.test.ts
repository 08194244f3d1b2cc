import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildServiceSpec, buildNetworkCreate, specHash } from '../../src/plan/swarm-spec.js';
import { serviceModelFromLive } from '../../src/plan/live-model.js';
import { unmanagedFields } from '../../src/model/service.js';
import { networkModelFromLive, withoutServerAddressing } from '../../src/model/network.js';
import { diffModels } from '../../src/plan/field-diff.js';
import type { SwarmService } from '../../src/api/swarm-types.js';
import { desiredFrom, network, service } from '../helpers/manifests.js';

const full =
  service(
    'web',
    `image: app:1
command: [/bin/app]
args: [--port, "8080"]
env: {B: "2", A: "1", DB_PASSWORD: hunter2}
workdir: /srv
user: "1000"
hostname: web
replicas: 3
networks: [{name: backend, aliases: [b, a]}]
ports: [{target: 8080, published: 18080, mode: host}, {target: 53, protocol: udp}]
endpointMode: dnsrr
placement: {constraints: ["node.role==manager", "node.labels.zone == a"], preferences: [{spread: node.labels.zone}], maxReplicasPerNode: 2}
resources: {limits: {cpus: "0.5", memory: 256Mi}, reservations: {cpus: 250m, memory: 64Mi}}
updateConfig: {parallelism: 2, delay: 10s, order: start-first, failureAction: rollback, monitor: 1m30s, maxFailureRatio: 0.2}
rollbackConfig: {parallelism: 0}
restartPolicy: {condition: on-failure, delay: 2s, maxAttempts: 3, window: 1m}
healthcheck: {test: curl -f http://localhost/, interval: 5s, timeout: 2s, retries: 3, startPeriod: 1s}
stopGracePeriod: 30s
mounts: [{type: volume, source: data, target: /data}, {type: tmpfs, target: /tmp, tmpfs: {size: 64Mi, mode: "1777"}}, {type: bind, source: /etc/hosts, target: /etc/hosts, readOnly: true}]
containerLabels: {app: web}`,
    '  labels: {team: shop}\n',
  ).replace(
    'ports: [{target: 8080, published: 18080, mode: host}, {target: 53, protocol: udp}]',
    'ports: [{target: 8080, published: 18080, mode: host}, {target: 53, protocol: udp, mode: host}]',
  ) + network('backend');

function live(spec: SwarmService['Spec']): SwarmService {
  return { ID: 'x', Version: { Index: 1 }, Spec: spec };
}

describe('normalisation', () => {
  const desired = desiredFrom(full);
  const web = desired.services[0];
  const ids = new Map([['backend', 'n1']]);
  const names = new Map([['n1', 'backend']]);

  it('a spec the controller wrote reads back as the same model (no perpetual diff)', () => {
    const spec = buildServiceSpec(web, { applySet: 's', networkIds: ids });
    assert.deepEqual(diffModels(serviceModelFromLive(live(spec), names), web.model), []);
  });

  it('ignores what Swarm and the CLI fill in: pinned digests, defaults, ForceUpdate, platforms, reordering', () => {
    const spec = buildServiceSpec(web, { applySet: 's', networkIds: ids });
    const c = spec.TaskTemplate!.ContainerSpec!;
    c.Image = 'app:1@sha256:' + 'a'.repeat(64);
    c.Isolation = 'default';
    c.Env = [...c.Env!].reverse();
    spec.TaskTemplate!.ForceUpdate = 3;
    spec.TaskTemplate!.Runtime = 'container';
    spec.TaskTemplate!.Placement!.Platforms = [{ Architecture: 'amd64', OS: 'linux' }];
    spec.TaskTemplate!.Placement!.Constraints = ['node.labels.zone==a', 'node.role == manager'];
    spec.EndpointSpec!.Ports = [...spec.EndpointSpec!.Ports!].reverse();
    c.Mounts = [...c.Mounts!].reverse();
    assert.deepEqual(diffModels(serviceModelFromLive(live(spec), names), web.model), []);
  });

  it('treats absent, null and empty as equal, and fills Swarm defaults for absent policies', () => {
    const minimal = desiredFrom(service('m', 'image: app:1')).services[0];
    const fromApi = live({
      Name: 'm',
      Labels: {},
      TaskTemplate: {
        ContainerSpec: { Image: 'app:1', Env: [], Mounts: [] },
        Resources: { Limits: {}, Reservations: {} },
        Placement: {},
        Networks: [],
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Mode: 'vip' },
    });
    assert.deepEqual(diffModels(serviceModelFromLive(fromApi, names), minimal.model), []);
    const cli = live({
      Name: 'm',
      Labels: {},
      TaskTemplate: {
        ContainerSpec: { Image: 'app:1', Isolation: 'default', StopGracePeriod: 10e9 },
        RestartPolicy: { Condition: 'any', Delay: 5e9, MaxAttempts: 0 },
        Placement: {},
        ForceUpdate: 0,
        Runtime: 'container',
      },
      Mode: { Replicated: { Replicas: 1 } },
      UpdateConfig: { Parallelism: 1, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' },
      RollbackConfig: { Parallelism: 1, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' },
      EndpointSpec: { Mode: 'vip' },
    });
    assert.deepEqual(diffModels(serviceModelFromLive(cli, names), minimal.model), []);
  });

  it('compares units by value: "90s" equals 90000000000 ns', () => {
    const d = desiredFrom(service('m', 'image: a\nstopGracePeriod: 90s')).services[0];
    const l = live({ Name: 'm', TaskTemplate: { ContainerSpec: { Image: 'a', StopGracePeriod: 90e9 } } });
    assert.deepEqual(diffModels(serviceModelFromLive(l, names), d.model), []);
  });

  it('keeps live fields the manifest cannot express, so they show as a change', () => {
    const l = live({
      Name: 'm',
      TaskTemplate: {
        ContainerSpec: { Image: 'a', Privileges: { NoNewPrivileges: true }, Isolation: 'default', Groups: ['wheel'] },
      },
    });
    assert.deepEqual(Object.keys(unmanagedFields(l.Spec)), [
      'TaskTemplate.ContainerSpec.Groups',
      'TaskTemplate.ContainerSpec.Privileges.NoNewPrivileges',
    ]);
    const d = desiredFrom(service('m', 'image: a')).services[0];
    assert.deepEqual(
      diffModels(serviceModelFromLive(l, names), d.model).map((f) => f.path),
      ['swarm:TaskTemplate.ContainerSpec.Groups', 'swarm:TaskTemplate.ContainerSpec.Privileges.NoNewPrivileges'],
    );
  });

  it('a changed image behind a pinned digest is a change', () => {
    const spec = buildServiceSpec(web, { applySet: 's', networkIds: ids });
    spec.TaskTemplate!.ContainerSpec!.Image = 'app:2@sha256:' + 'b'.repeat(64);
    const fields = diffModels(serviceModelFromLive(live(spec), names), web.model);
    assert.deepEqual(
      fields.map((f) => f.path),
      ['spec.image'],
    );
  });

  it('carries the live pinned digest and ForceUpdate forward when writing', () => {
    const liveSpec = buildServiceSpec(web, { applySet: 's', networkIds: ids });
    liveSpec.TaskTemplate!.ContainerSpec!.Image = 'app:1@sha256:' + 'c'.repeat(64);
    liveSpec.TaskTemplate!.ForceUpdate = 7;
    const next = buildServiceSpec(web, { applySet: 's', networkIds: ids, live: liveSpec });
    assert.equal(next.TaskTemplate!.ContainerSpec!.Image, 'app:1@sha256:' + 'c'.repeat(64));
    assert.equal(next.TaskTemplate!.ForceUpdate, 7);
    assert.equal(next.Networks, undefined, 'networks go only in TaskTemplate.Networks');
  });

  it('networks: server-assigned subnets, gateways and vxlan ids are not changes', () => {
    const n = desired.networks[0];
    const body = buildNetworkCreate(n, 's');
    const l = {
      Id: 'n1',
      Name: 'backend',
      Driver: 'overlay',
      Scope: 'swarm',
      Attachable: false,
      Internal: false,
      Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' },
      Labels: body.Labels,
      IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.213.3.0/24', Gateway: '10.213.3.1' }] },
    };
    assert.deepEqual(diffModels(withoutServerAddressing(networkModelFromLive(l), n.model), n.model), []);
  });
});

describe('normalisation of the fields stack files use', () => {
  const names = new Map([['n1', 'backend']]);
  const ids = new Map([['backend', 'n1']]);
  const everything = service(
    'app',
    `image: app:1
hostname: "{{.Node.Hostname}}-{{.Task.Slot}}"
env: {NODE_ID: "{{.Node.ID}}"}
stopSignal: SIGINT
init: true
readOnly: true
tty: true
stdinOpen: true
capAdd: [net_admin, CAP_SYS_TIME, MKNOD]
capDrop: [mknod, CHOWN]
sysctls: {net.core.somaxconn: 1024}
ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}
oomScoreAdj: 100
dns: {nameservers: [10.0.0.2, 10.0.0.3], search: [example.internal], options: ["ndots:2"]}
extraHosts: [{host: db.local, ip: 10.0.0.9}, {host: cache, ip: "fd00::9"}]
logging: {driver: json-file, options: {max-size: 10m, max-file: 3}}
healthcheck: {test: [CMD, "true"], interval: 30s, startPeriod: 5s, startInterval: 1s}
resources: {limits: {pids: 100}, reservations: {genericResources: [{kind: ssd, value: 1}, {kind: gpu, value: GPU-1}]}}
placement: {preferences: [{spread: node.labels.zone}, {spread: node.labels.rack}], maxReplicasPerNode: 2}
networks: [backend]`,
  );
  const desired = desiredFrom(everything + network('backend'));
  const app = desired.services[0];

  it('every field round-trips through the spec the controller writes (no perpetual diff)', () => {
    const spec = buildServiceSpec(app, { applySet: 's', networkIds: ids });
    assert.deepEqual(diffModels(serviceModelFromLive(live(spec), names), app.model), []);
    assert.deepEqual(unmanagedFields(spec), {});
  });

  it('capabilities are spelt as docker/cli spells them; one both added and dropped is added', () => {
    assert.deepEqual(app.model.capAdd, ['CAP_MKNOD', 'CAP_NET_ADMIN', 'CAP_SYS_TIME']);
    assert.deepEqual(app.model.capDrop, ['CAP_CHOWN']);
  });

  it('reads what docker stack deploy stored on engine 20.10 as the same model', () => {
    // Measured: `docker stack deploy` (CLI 28.2) of the equivalent compose service, raw GET /services/{id}.
    const stack = live({
      Name: 'e2e-sfm_app',
      Labels: { 'com.docker.stack.image': 'app:1', 'com.docker.stack.namespace': 'e2e-sfm' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'app:1',
          Hostname: '{{.Node.Hostname}}-{{.Task.Slot}}',
          Env: ['NODE_ID={{.Node.ID}}'],
          Privileges: { CredentialSpec: null, SELinuxContext: null },
          Init: true,
          StopSignal: 'SIGINT',
          TTY: true,
          OpenStdin: true,
          ReadOnly: true,
          Healthcheck: { Test: ['CMD', 'true'], Interval: 30e9, StartPeriod: 5e9, StartInterval: 1e9 },
          Hosts: ['10.0.0.9 db.local', 'fd00::9 cache'],
          DNSConfig: { Nameservers: ['10.0.0.2', '10.0.0.3'], Search: ['example.internal'], Options: ['ndots:2'] },
          Isolation: 'default',
          Sysctls: { 'net.core.somaxconn': '1024' },
          CapabilityAdd: ['CAP_MKNOD', 'CAP_NET_ADMIN', 'CAP_SYS_TIME'],
          CapabilityDrop: ['CAP_CHOWN'],
          Ulimits: [
            { Name: 'nofile', Hard: 40000, Soft: 20000 },
            { Name: 'nproc', Hard: 65535, Soft: 65535 },
          ],
          OomScoreAdj: 100,
        },
        Resources: {
          Limits: { Pids: 100 },
          Reservations: {
            GenericResources: [
              { DiscreteResourceSpec: { Kind: 'ssd', Value: 1 } },
              { NamedResourceSpec: { Kind: 'gpu', Value: 'GPU-1' } },
            ],
          },
        },
        Placement: {
          Preferences: [
            { Spread: { SpreadDescriptor: 'node.labels.zone' } },
            { Spread: { SpreadDescriptor: 'node.labels.rack' } },
          ],
          MaxReplicas: 2,
        },
        Networks: [{ Target: 'n1' }],
        LogDriver: { Name: 'json-file', Options: { 'max-file': '3', 'max-size': '10m' } },
        ForceUpdate: 0,
        Runtime: 'container',
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Mode: 'vip' },
    });
    // Only stack deploy's own image label differs: a service label, which restarts nothing.
    assert.deepEqual(
      diffModels(serviceModelFromLive(stack, names), app.model).map((f) => f.path),
      ['metadata.labels["com.docker.stack.image"]'],
    );
  });

  it('a host line with several names is one entry per name', () => {
    const l = live({ Name: 'm', TaskTemplate: { ContainerSpec: { Image: 'a', Hosts: ['10.0.0.9 db db.local'] } } });
    assert.deepEqual(serviceModelFromLive(l, names).extraHosts, [
      { host: 'db', ip: '10.0.0.9' },
      { host: 'db.local', ip: '10.0.0.9' },
    ]);
  });

  it('jobs: completions and concurrency round-trip, and no update policy is written', () => {
    const job = desiredFrom(service('j', 'image: a\nmode: replicated-job\ncompletions: 5\nconcurrency: 2')).services[0];
    const spec = buildServiceSpec(job, { applySet: 's', networkIds: ids });
    assert.deepEqual(spec.Mode, { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 5 } });
    assert.equal(spec.UpdateConfig, undefined);
    assert.deepEqual(diffModels(serviceModelFromLive(live(spec), names), job.model), []);
    const global = desiredFrom(service('g', 'image: a\nmode: global-job')).services[0];
    const gspec = buildServiceSpec(global, { applySet: 's', networkIds: ids });
    assert.deepEqual(gspec.Mode, { GlobalJob: {} });
    assert.deepEqual(diffModels(serviceModelFromLive(live(gspec), names), global.model), []);
    // Swarm fills in 1 and 1 for a replicated job created without them.
    const filled = live({ Name: 'j', TaskTemplate: { ContainerSpec: { Image: 'a' } }, Mode: { ReplicatedJob: {} } });
    const one = desiredFrom(service('j', 'image: a\nmode: replicated-job')).services[0];
    assert.deepEqual(diffModels(serviceModelFromLive(filled, names), one.model), []);
  });

  it('adding fields changed no spec hash: a manifest using none of them hashes as before', () => {
    const d = desiredFrom(
      service(
        'web',
        `image: app:1
env: {A: "1"}
healthcheck: {test: [CMD, "true"], interval: 5s}
resources: {limits: {cpus: "0.5", memory: 256Mi}, reservations: {memory: 64Mi}}
placement: {constraints: ["node.role == manager"]}`,
        '  namespace: shop\n',
      ),
    ).services[0];
    // Recorded with the code before these fields existed (main at 24eff79).
    assert.equal(specHash('Service', d.swarmName, d.model), 'a98303faf426f279241a1f93ed5daa44');
  });
});
