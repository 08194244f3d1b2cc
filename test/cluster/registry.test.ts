/**
 * A private image on a multi-node Swarm: the registry (registry-lab.ts) on the cluster bridge's
 * host address, which the nodes treat as insecure (scripts/cluster.sh); the image exists only
 * there; a service placed on the workers runs because the controller sent the login of the
 * docker configuration with the create (as --with-registry-auth), so the workers could pull.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { controller, inspectService, manifestDir, removeNamespace } from '../e2e/harness.js';
import { startRegistry, type RegistryLab } from '../e2e/registry-lab.js';
import { dockerOn, tasksOf, useCluster, type ClusterNode } from './cluster.js';

const ns = 'cl-registry';

describe('a worker pulls a private image with the forwarded login', { timeout: 600_000 }, () => {
  let nodes: ClusterNode[];
  let registry: RegistryLab;
  let image: string;
  let digest: string;

  before(async () => {
    nodes = useCluster();
    registry = await startRegistry(nodes[0].dockerHost, '10.216.0.1');
    image = `${registry.address}/cl/private:1`;
    digest = registry.push(nodes[0].dockerHost, 'swarm-controller/test-app:1', 'cl/private:1');
    await dockerOn(nodes[0], 'rmi', image);
    for (const n of nodes)
      assert.equal(await hasRepository(n), false, `${n.name} must not have ${image} before the test`);
  });

  /** Whether a node's engine holds an image of the private repository (pulled by digest: no tag, a RepoDigest). */
  const hasRepository = async (n: ClusterNode) =>
    (await dockerOn(n, 'images', '--digests', '--format', '{{.Repository}}'))
      .split('\n')
      .includes(`${registry.address}/cl/private`);

  after(async () => {
    await removeNamespace(ns);
    registry?.stop();
  });

  it('places the tasks on the workers, which pull the image with the login', async () => {
    const dir = await manifestDir(ns, {
      'app.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: app, namespace: ${ns}}
spec:
  image: ${image}
  replicas: 2
  placement:
    constraints: [node.role == worker]
    maxReplicasPerNode: 1
  stopGracePeriod: 1s
`,
    });
    const r = await controller(['apply', '-f', dir, '--wait', '--timeout', '180s'], {
      env: { DOCKER_CONFIG: registry.loggedIn },
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await inspectService(`${ns}_app`)).Spec.TaskTemplate.ContainerSpec.Image, `${image}@${digest}`);
    const workers = nodes.filter((n) => n.role === 'worker').map((n) => n.id);
    const tasks = await tasksOf(`${ns}_app`);
    assert.equal(tasks.filter((t) => t.state === 'running').length, 2, JSON.stringify(tasks));
    assert.ok(
      tasks.every((t) => workers.includes(t.nodeId)),
      `every task on a worker: ${JSON.stringify(tasks)}`,
    );
    for (const n of nodes.filter((x) => x.role === 'worker')) {
      assert.equal(await hasRepository(n), true, `${n.name} pulled ${image}`);
    }
  });
});
