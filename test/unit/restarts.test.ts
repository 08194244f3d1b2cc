import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildServiceSpec } from '../../src/plan/swarm-spec.js';
import { endpointSpecChanges, taskSpecChanges } from '../../src/plan/restarts.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { LiveState, SwarmServiceSpec } from '../../src/api/swarm-types.js';
import { desiredFrom, service } from '../helpers/manifests.js';

const networkIds = new Map([['web_default', 'n1']]);

/** What `docker stack deploy` (CLI 28) stored on engine 28.5 for a service of the same meaning. */
const stackDeployed: SwarmServiceSpec = {
  Name: 'web_app',
  Labels: { 'com.docker.stack.image': 'app:1', 'com.docker.stack.namespace': 'web' },
  TaskTemplate: {
    ContainerSpec: {
      Image: 'app:1',
      Labels: { 'com.docker.stack.namespace': 'web' },
      Env: ['B=2', 'A=1'],
      Privileges: { CredentialSpec: null, SELinuxContext: null, NoNewPrivileges: false },
      Init: false,
      Isolation: 'default',
    },
    Resources: {},
    Placement: {},
    Networks: [{ Target: 'n1', Aliases: ['app'] }],
    ForceUpdate: 0,
    Runtime: 'container',
  },
  Mode: { Replicated: { Replicas: 2 } },
  EndpointSpec: { Mode: 'vip' },
};

const desired = desiredFrom(
  service(
    'app',
    `image: app:1
replicas: 2
env: {A: "1", B: "2"}
networks: [{name: default, aliases: [app]}]
containerLabels: {com.docker.stack.namespace: web}`,
    '  namespace: web\n',
  ) +
    `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: default, namespace: web}
`,
);

describe('restarts: what an update changes in the task template', () => {
  it('a spec of equal meaning keeps the live spelling: the task template stays byte for byte', () => {
    const next = buildServiceSpec(desired.services[0], { applySet: 's', networkIds, live: stackDeployed });
    assert.deepEqual(next.TaskTemplate, stackDeployed.TaskTemplate);
    assert.deepEqual(next.EndpointSpec, stackDeployed.EndpointSpec);
    assert.deepEqual(taskSpecChanges(stackDeployed, next), []);
  });

  it('without the live spelling the same meaning would restart every task', () => {
    const fresh = buildServiceSpec(desired.services[0], { applySet: 's', networkIds });
    assert.deepEqual(taskSpecChanges(stackDeployed, fresh), [
      'TaskTemplate.ContainerSpec.Env',
      'TaskTemplate.ContainerSpec.Init',
      'TaskTemplate.ContainerSpec.Isolation',
      'TaskTemplate.ContainerSpec.Privileges',
      'TaskTemplate.ContainerSpec.StopGracePeriod',
      'TaskTemplate.Resources.Limits',
      'TaskTemplate.Resources.Reservations',
      'TaskTemplate.RestartPolicy',
      'TaskTemplate.Runtime',
    ]);
  });

  it('a changed field is written in the controller spelling and is the only change', () => {
    const changed = desiredFrom(
      service(
        'app',
        `image: app:1
replicas: 2
env: {A: "1", B: "3"}
networks: [{name: default, aliases: [app]}]
containerLabels: {com.docker.stack.namespace: web}`,
        '  namespace: web\n',
      ) + 'apiVersion: swarm.controller/v1alpha1\nkind: Network\nmetadata: {name: default, namespace: web}\n',
    );
    const next = buildServiceSpec(changed.services[0], { applySet: 's', networkIds, live: stackDeployed });
    assert.deepEqual(taskSpecChanges(stackDeployed, next), ['TaskTemplate.ContainerSpec.Env']);
    assert.deepEqual(next.TaskTemplate!.ContainerSpec!.Env, ['A=1', 'B=3']);
  });

  it('adopting a stack-deploy service is planned as labels only, restarting nothing', () => {
    const live: LiveState = {
      services: [{ ID: 's1', Version: { Index: 5 }, Spec: stackDeployed }],
      networks: [{ Id: 'n1', Name: 'web_default', Driver: 'overlay', Labels: { 'com.docker.stack.namespace': 'web' } }],
      routeConfigs: [],
      configs: [],
      secrets: [],
    };
    const plan = buildPlan({ ...desired, networks: [] }, live, { applySet: 's', adopt: true });
    assert.deepEqual(
      plan.changes.map((c) => [c.id, c.action, c.restartsTasks, c.reason]),
      [['Service/web/app', 'update', false, 'adopt: labels only, restarts nothing']],
    );
  });

  it('the endpoint spec restarts tasks when its meaning changes, not for members left empty', () => {
    const withPorts: SwarmServiceSpec = {
      ...stackDeployed,
      EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080 }] },
    };
    const emptyPorts: SwarmServiceSpec = { ...stackDeployed, EndpointSpec: { Mode: 'vip', Ports: [] } };
    assert.deepEqual(taskSpecChanges(stackDeployed, emptyPorts), []);
    assert.equal(endpointSpecChanges(stackDeployed, emptyPorts), false);
    assert.deepEqual(taskSpecChanges(stackDeployed, withPorts), ['EndpointSpec.Ports']);
    assert.equal(endpointSpecChanges(stackDeployed, withPorts), true);
  });
});
