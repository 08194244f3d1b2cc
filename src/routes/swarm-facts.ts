/**
 * Reads what the route table is built from: the stored route configs, the services, and the
 * running tasks of the routed services and of the proxy service. A full read is three list
 * calls; the frequent task poll is one call filtered to the services that matter.
 * Uses SwarmReader only (the interface; src/swarm/ implements it).
 */
import { currentRoutes, labelKind, type StoredRoute } from '../api/route-model.js';
import type { SwarmReader } from '../api/swarm-access.js';
import type { SwarmService, SwarmTask } from '../api/swarm-types.js';
import { rolloutKind, servedRollouts, labelKindKey, type ServedRollout } from '../rollout/rollout-record.js';

export interface RouteFacts {
  routes: StoredRoute[];
  /** Route configs that cannot be read (hand-edited or from a newer controller). */
  unreadable: { configName: string; problem: string }[];
  services: SwarmService[];
  proxy: SwarmService | undefined;
  /** Tasks with desired state "running" of the routed services and the proxy service. */
  tasks: SwarmTask[];
  /** Active rollouts by route table name: the canary service and its share of the route (0-100). */
  rollouts?: Map<string, ServedRollout>;
}

export async function readRouteFacts(swarm: SwarmReader, proxyService: string): Promise<RouteFacts> {
  const [configs, services, rollouts] = await Promise.all([
    swarm.listConfigs([`${labelKind}=Route`]),
    swarm.listServices(),
    swarm.listConfigs([`${labelKindKey}=${rolloutKind}`]),
  ]);
  const { routes, unreadable } = currentRoutes(configs);
  const facts: RouteFacts = {
    routes,
    unreadable,
    services,
    proxy: services.find((s) => s.Spec.Name === proxyService),
    tasks: [],
    rollouts: servedRollouts(rollouts),
  };
  facts.tasks = await readTasks(swarm, watchedServiceIds(facts));
  return facts;
}

/** IDs of the services whose tasks the table depends on: every existing backend service and the proxy. */
export function watchedServiceIds(facts: Pick<RouteFacts, 'routes' | 'services' | 'proxy' | 'rollouts'>): string[] {
  const names = new Set(facts.routes.flatMap((r) => r.model.backends.map((b) => b.service)));
  for (const r of facts.rollouts?.values() ?? []) names.add(r.canary);
  const ids = facts.services.filter((s) => names.has(s.Spec.Name ?? '')).map((s) => s.ID);
  if (facts.proxy) ids.push(facts.proxy.ID);
  return [...new Set(ids)].sort();
}

/** One list call: the tasks meant to run of these services (none when the list is empty). */
export async function readTasks(swarm: SwarmReader, serviceIds: string[]): Promise<SwarmTask[]> {
  if (!serviceIds.length) return [];
  return swarm.listTasks({ service: serviceIds, desiredState: 'running' });
}

/**
 * What about a set of tasks can change the table or the proxy replicas: id, desired and
 * actual state, addresses. Equal fingerprints mean nothing to rebuild.
 */
export function taskFingerprint(tasks: SwarmTask[]): string {
  return tasks
    .map(
      (t) =>
        `${t.ID}:${t.DesiredState}:${t.Status?.State}:${(t.NetworksAttachments ?? []).map((n) => `${n.Network?.ID}=${(n.Addresses ?? []).join(',')}`).join(';')}`,
    )
    .sort()
    .join('|');
}

export interface ProxyReplica {
  task: string;
  /** The task's IP on the control network. */
  address: string;
}

/**
 * The proxy service's tasks that run now, each with its address on the control network
 * (given by name, as the proxy's networks list it). A task without one cannot be reached and
 * is left out; `problem` says so when no task can.
 */
export function proxyReplicas(
  proxy: SwarmService | undefined,
  tasks: SwarmTask[],
  controlNetwork: string,
): { replicas: ProxyReplica[]; problem?: string } {
  if (!proxy) return { replicas: [], problem: 'the proxy service does not exist' };
  const running = tasks.filter(
    (t) => t.ServiceID === proxy.ID && t.DesiredState === 'running' && t.Status?.State === 'running',
  );
  const replicas: ProxyReplica[] = [];
  for (const t of running) {
    const att = t.NetworksAttachments?.find(
      (n) => n.Network?.Spec?.Name === controlNetwork || n.Network?.ID === controlNetwork,
    );
    const address = att?.Addresses?.[0]?.split('/')[0];
    if (address) replicas.push({ task: t.ID, address });
  }
  replicas.sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0));
  if (!replicas.length) {
    return {
      replicas,
      problem: running.length
        ? `the proxy's tasks are not attached to the control network ${controlNetwork}; add it to the proxy service's networks`
        : `the proxy service ${proxy.Spec.Name} has no running task`,
    };
  }
  return { replicas };
}
