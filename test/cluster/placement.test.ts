/**
 * Placement on real nodes (scripts/cluster.sh): constraints on role and node labels, a spread
 * preference, maxReplicasPerNode and global mode, applied with the real CLI and checked by
 * where the tasks run: the task's NodeID in the Swarm and the containers each node's own
 * engine runs. Works with any topology of the script (zones: nodes 1-2 "a", 3-4 "b", ...).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { controller, eventually, manifestDir, removeNamespace, rewrite } from '../e2e/harness.js';
import { containersPerNode, runningPerNode, sum, tasksOf, useCluster, type ClusterNode } from './cluster.js';

const ns = 'cl-place';
let nodes: ClusterNode[];
let dir: string;

function svc(name: string, spec: string): string {
  return `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  stopGracePeriod: 2s
${spec.replace(/^/gm, '  ')}
---
`;
}

const names = (filter: (n: ClusterNode) => boolean) =>
  nodes
    .filter(filter)
    .map((n) => n.name)
    .sort();
const keys = (counts: Record<string, number>) => Object.keys(counts).sort();

async function apply(files: Record<string, string>, ...flags: string[]): Promise<void> {
  await rewrite(dir, files);
  const r = await controller(['apply', '-f', dir, '--set', ns, '--prune', ...flags]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

/** Waits until the service runs `n` tasks, then returns them per node, checked against each node's own engine. */
async function settled(service: string, n: number): Promise<Record<string, number>> {
  const swarmName = `${ns}_${service}`;
  await eventually(
    async () => sum(await runningPerNode(swarmName)) === n && sum(await containersPerNode(swarmName)) === n,
    90_000,
    `${swarmName}: ${n} running tasks`,
  );
  const perNode = await runningPerNode(swarmName);
  assert.deepEqual(
    await containersPerNode(swarmName),
    perNode,
    `${swarmName}: the nodes' engines run what the Swarm says`,
  );
  return perNode;
}

describe('placement on a multi-node Swarm', { timeout: 900_000 }, () => {
  before(async () => {
    nodes = useCluster();
    assert.ok(nodes.length >= 3, `the cluster has at least 3 nodes: ${JSON.stringify(nodes)}`);
    assert.ok(
      nodes.some((n) => n.role === 'worker'),
      'the cluster has workers',
    );
    await removeNamespace(ns);
    dir = await manifestDir(ns, {});
  });
  after(async () => {
    await removeNamespace(ns);
  });

  it('constraints on role and on a node label put every task on matching nodes only', async () => {
    const workers = names((n) => n.role === 'worker');
    const zoneB = names((n) => n.zone === 'b');
    await apply(
      {
        'services.yaml':
          svc('on-workers', 'replicas: 4\nplacement: {constraints: ["node.role == worker"]}') +
          svc('in-zone-b', 'replicas: 3\nplacement: {constraints: ["node.labels.zone == b"]}') +
          svc(
            'on-manager',
            'replicas: 2\nplacement: {constraints: ["node.role == manager", "node.labels.sc.node == n1"]}',
          ),
      },
      '--wait',
      '--timeout',
      '180s',
    );
    const onWorkers = await settled('on-workers', 4);
    assert.ok(
      keys(onWorkers).every((n) => workers.includes(n)),
      `only workers (${workers.join(', ')}): ${JSON.stringify(onWorkers)}`,
    );
    if (workers.length >= 2)
      assert.ok(keys(onWorkers).length >= 2, `spread over the workers: ${JSON.stringify(onWorkers)}`);
    const inZoneB = await settled('in-zone-b', 3);
    assert.deepEqual(
      keys(inZoneB).filter((n) => !zoneB.includes(n)),
      [],
      `only zone b (${zoneB.join(', ')}): ${JSON.stringify(inZoneB)}`,
    );
    assert.deepEqual(await settled('on-manager', 2), { n1: 2 });
    console.log(
      `role/label constraints: on-workers ${JSON.stringify(onWorkers)}, in-zone-b ${JSON.stringify(inZoneB)}, on-manager {"n1":2}`,
    );
  });

  it('a spread preference over node.labels.zone balances zones, not nodes', async () => {
    const zones = [...new Set(nodes.map((n) => n.zone))].sort();
    const replicas = zones.length * 2;
    await apply(
      {
        'services.yaml': svc('spread', `replicas: ${replicas}\nplacement: {preferences: [{spread: node.labels.zone}]}`),
      },
      '--wait',
      '--timeout',
      '180s',
    );
    const perNode = await settled('spread', replicas);
    const perZone: Record<string, number> = {};
    for (const [name, count] of Object.entries(perNode)) {
      const zone = nodes.find((n) => n.name === name)!.zone;
      perZone[zone] = (perZone[zone] ?? 0) + count;
    }
    assert.deepEqual(
      perZone,
      Object.fromEntries(zones.map((z) => [z, 2])),
      `2 tasks per zone: per node ${JSON.stringify(perNode)}`,
    );
    console.log(`spread over zones: per zone ${JSON.stringify(perZone)}, per node ${JSON.stringify(perNode)}`);
  });

  it('maxReplicasPerNode: one task per node, the extra replica stays pending with the reason', async () => {
    await apply({
      'services.yaml': svc('one-per-node', `replicas: ${nodes.length + 1}\nplacement: {maxReplicasPerNode: 1}`),
    });
    const perNode = await settled('one-per-node', nodes.length);
    assert.deepEqual(perNode, Object.fromEntries(nodes.map((n) => [n.name, 1])));
    let pending: { state: string; error: string }[] = [];
    await eventually(
      async () => {
        pending = (await tasksOf(`${ns}_one-per-node`)).filter((t) => t.state !== 'running');
        return pending.length === 1 && /max replicas per node/i.test(pending[0].error);
      },
      30_000,
      'one pending task that names the per-node limit',
    );
    console.log(
      `maxReplicasPerNode 1, ${nodes.length + 1} replicas: ${JSON.stringify(perNode)}; pending: ${pending[0].state} "${pending[0].error}"`,
    );
  });

  it('global mode runs exactly one task on every matching node', async () => {
    const workers = names((n) => n.role === 'worker');
    await apply(
      {
        'services.yaml':
          svc('everywhere', 'mode: global') +
          svc('every-worker', 'mode: global\nplacement: {constraints: ["node.role == worker"]}'),
      },
      '--wait',
      '--timeout',
      '180s',
    );
    assert.deepEqual(await settled('everywhere', nodes.length), Object.fromEntries(nodes.map((n) => [n.name, 1])));
    assert.deepEqual(await settled('every-worker', workers.length), Object.fromEntries(workers.map((n) => [n, 1])));
  });

  it('changing a constraint moves the tasks; then the plan is empty', async () => {
    const zoneA = names((n) => n.zone === 'a');
    const zoneB = names((n) => n.zone === 'b');
    const files = (zone: string) => ({
      'services.yaml': svc(
        'mover',
        `replicas: 2\nplacement: {constraints: ["node.labels.zone == ${zone}"]}\nupdateConfig: {parallelism: 2}`,
      ),
    });
    await apply(files('a'), '--wait', '--timeout', '180s');
    assert.deepEqual(
      keys(await settled('mover', 2)).filter((n) => !zoneA.includes(n)),
      [],
    );
    await apply(files('b'), '--wait', '--timeout', '180s');
    const moved = await settled('mover', 2);
    assert.deepEqual(
      keys(moved).filter((n) => !zoneB.includes(n)),
      [],
      `moved to zone b (${zoneB.join(', ')}): ${JSON.stringify(moved)}`,
    );
    const plan = await controller(['plan', '-f', dir, '--set', ns]);
    assert.equal(plan.code, 0, `nothing left to change on a multi-node Swarm:\n${plan.stdout}${plan.stderr}`);
  });
});
