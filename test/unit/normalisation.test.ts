import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildServiceSpec, buildNetworkCreate } from '../../src/plan/swarm-spec.js';
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
        ContainerSpec: { Image: 'a', Privileges: { NoNewPrivileges: true }, Isolation: 'default' },
        LogDriver: { Name: 'json-file' },
      },
    });
    assert.deepEqual(Object.keys(unmanagedFields(l.Spec)), [
      'TaskTemplate.ContainerSpec.Privileges.NoNewPrivileges',
      'TaskTemplate.LogDriver.Name',
    ]);
    const d = desiredFrom(service('m', 'image: a')).services[0];
    assert.deepEqual(
      diffModels(serviceModelFromLive(l, names), d.model).map((f) => f.path),
      ['swarm:TaskTemplate.ContainerSpec.Privileges.NoNewPrivileges', 'swarm:TaskTemplate.LogDriver.Name'],
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
