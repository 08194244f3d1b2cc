/**
 * The multi-node Swarm of scripts/cluster.sh for the cluster tests: started when it is not
 * up (default 1 manager + 2 workers), its manager made the DOCKER_HOST of the e2e harness
 * (call useCluster() before any harness function), and helpers that say where tasks really
 * run: by the task's NodeID in the Swarm, and by the containers each node's own engine runs.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { docker, repoRoot } from '../e2e/harness.js';

const run = promisify(execFile);
const script = join(repoRoot, 'scripts/cluster.sh');

export interface ClusterNode {
  /** n1, n2, ... */
  name: string;
  role: 'manager' | 'worker';
  /** The node's address on the cluster bridge: ports published in host mode on it are reached there. */
  address: string;
  dockerHost: string;
  zone: string;
  /** Swarm node ID. */
  id: string;
}

let nodes: ClusterNode[] | undefined;

function readNodes(): ClusterNode[] {
  return execFileSync(script, ['nodes'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name, role, address, dockerHost, zone, id] = line.split(' ');
      return {
        name: name,
        role: role as 'manager' | 'worker',
        address: address,
        dockerHost: dockerHost,
        zone: zone.replace(/^zone=/, ''),
        id: id,
      };
    });
}

export interface Layout {
  managers: number;
  workers: number;
}

/**
 * Starts the cluster if needed and points the e2e harness at its manager (node 1). A cluster of
 * another shape than the layout (default 1 manager + 2 workers) is removed (down --purge) and one
 * of that shape started.
 */
export function useCluster(layout: Layout = { managers: 1, workers: 2 }): ClusterNode[] {
  if (nodes && fits(nodes, layout)) return nodes;
  let up = true;
  try {
    execFileSync(script, ['status'], { stdio: 'ignore' });
  } catch {
    up = false;
  }
  if (up && !fits(readNodes(), layout)) {
    execFileSync(script, ['down', '--purge'], { stdio: ['ignore', 'ignore', 'inherit'] });
    up = false;
  }
  if (!up)
    execFileSync(script, ['up', '--managers', String(layout.managers), '--workers', String(layout.workers)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  nodes = readNodes();
  if (nodes.some((n) => !n.id)) throw new Error(`a cluster node has no swarm id: ${JSON.stringify(nodes)}`);
  process.env.DOCKER_HOST = nodes[0].dockerHost;
  return nodes;
}

/** The nodes of the cluster in use (useCluster() first when none is). */
export function currentNodes(): ClusterNode[] {
  return nodes ?? useCluster();
}

function fits(list: ClusterNode[], layout: Layout): boolean {
  return (
    list.filter((n) => n.role === 'manager').length === layout.managers &&
    list.filter((n) => n.role === 'worker').length === layout.workers
  );
}

export function clusterScript(...args: string[]): void {
  execFileSync(script, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Runs the docker CLI against one node's own engine. */
export async function dockerOn(node: ClusterNode, ...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, {
    env: { ...process.env, DOCKER_HOST: node.dockerHost },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

export interface TaskPlace {
  id: string;
  nodeId: string;
  node: string;
  desired: string;
  state: string;
  /** The container's ID (its first 12 characters are the test app's hostname, "task" in answers). */
  containerId: string;
  error: string;
}

/** The service's tasks as the manager lists them, with the node each is on. */
export async function tasksOf(service: string, desiredState = 'running'): Promise<TaskPlace[]> {
  const ids = (await docker('service', 'ps', '-q', '--no-trunc', '--filter', `desired-state=${desiredState}`, service))
    .split('\n')
    .filter(Boolean);
  if (!ids.length) return [];
  const byId = new Map(currentNodes().map((n) => [n.id, n.name]));
  const tasks = JSON.parse(await docker('inspect', '--type', 'task', ...ids)) as {
    ID: string;
    NodeID?: string;
    DesiredState: string;
    Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
  }[];
  return tasks.map((t) => ({
    id: t.ID,
    nodeId: t.NodeID ?? '',
    node: byId.get(t.NodeID ?? '') ?? (t.NodeID ? `unknown:${t.NodeID}` : ''),
    desired: t.DesiredState,
    state: t.Status.State,
    containerId: t.Status.ContainerStatus?.ContainerID ?? '',
    error: t.Status.Err ?? '',
  }));
}

/** Running tasks per node name (nodes without one are left out). */
export async function runningPerNode(service: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of await tasksOf(service)) if (t.state === 'running') out[t.node] = (out[t.node] ?? 0) + 1;
  return out;
}

/** Running containers of the service per node, asked of each node's own engine. */
export async function containersPerNode(service: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of currentNodes()) {
    const ids = (
      await dockerOn(n, 'ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`).catch(() => '')
    )
      .split('\n')
      .filter(Boolean);
    if (ids.length) out[n.name] = ids.length;
  }
  return out;
}

export function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
