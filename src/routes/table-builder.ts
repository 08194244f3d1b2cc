/**
 * Builds the proxy tier's route table from what the Swarm holds: the stored routes, the
 * services they name, those services' running tasks and the proxy service itself. Pure: the
 * caller reads the Swarm (src/routes/swarm-facts.ts) and pushes the result.
 *
 * A task is a server while desired and actual state are "running", or told to stop but still
 * running: the caller passes such a task only while its service has no running one, and for a
 * bounded time (stopping-tasks.ts `servingTasks`). Servers are addressed by IP on a network the
 * service shares with the proxy service. A route that cannot be
 * served (no backend service, no shared network, a TLS secret the proxy does not mount, a
 * host and path another route already claims) is reported in `broken` and left out; the rest
 * of the table is unaffected, so one bad route never blocks the others.
 */
import type { RouteModel, StoredRoute } from '../api/route-model.js';
import type { SwarmService, SwarmTask } from '../api/swarm-types.js';
import {
  tableChecksum,
  type Route,
  type RouteBackend,
  type RouteMatch,
  type RouteServer,
} from '../proxy/route-table.js';
import type { ServedRollout } from '../rollout/rollout-record.js';
import { parseDuration } from '../units.js';
import { isRunning, isStopping } from './stopping-tasks.js';

export interface BrokenRoute {
  /** "namespace/name" */
  route: string;
  problem: string;
}

export interface TableInput {
  /** Current stored routes (currentRoutes(configs).routes), oldest config first wins a conflict. */
  routes: StoredRoute[];
  services: SwarmService[];
  /** Tasks of the routed services (any state: filtered here). */
  tasks: SwarmTask[];
  /** The proxy service, or undefined when it does not exist. */
  proxy: SwarmService | undefined;
  /**
   * Active rollouts by route table name: the route's one service keeps 100 - weight of its
   * traffic and the canary service (same port) takes weight (src/rollout/rollout-record.ts).
   */
  rollouts?: Map<string, ServedRollout>;
}

export interface BuiltTable {
  routes: Route[];
  checksum: string;
  broken: BrokenRoute[];
}

/** HAProxy weights are 0-256. */
export const maxServerWeight = 256;

export function routeTableName(r: Pick<StoredRoute, 'ref'>): string {
  return `${r.ref.namespace ?? 'default'}/${r.ref.name}`;
}

export function buildTable(input: TableInput): BuiltTable {
  const broken: BrokenRoute[] = [];
  const routes: Route[] = [];
  const byName = new Map(input.services.map((s) => [s.Spec.Name ?? '', s]));
  const proxyNetworks = networkIdsOf(input.proxy);
  const proxySecrets = mountedSecrets(input.proxy);
  const tasksByService = new Map<string, SwarmTask[]>();
  for (const t of input.tasks) {
    if (!isRunning(t) && !isStopping(t)) continue;
    const list = tasksByService.get(t.ServiceID) ?? [];
    list.push(t);
    tasksByService.set(t.ServiceID, list);
  }
  const claims = new Map<string, string>();
  const certificates = new Map<string, { secret: string; route: string }>();
  // The oldest route keeps a contested host and path: a new route cannot take traffic from a running one.
  const ordered = [...input.routes].sort(
    (a, b) => a.versionIndex - b.versionIndex || cmp(routeTableName(a), routeTableName(b)),
  );
  for (const stored of ordered) {
    const name = routeTableName(stored);
    const m = stored.model;
    const problem = (text: string) => broken.push({ route: name, problem: text });
    if (!input.proxy) {
      problem('the proxy service does not exist');
      continue;
    }
    const conflict = claimConflict(m, name, claims, certificates, proxySecrets);
    if (conflict) {
      problem(conflict);
      continue;
    }
    const backends: RouteBackend[] = [];
    const problems: string[] = [];
    for (const b of withCanary(m, input.rollouts?.get(name), (n) => byName.has(n))) {
      const service = byName.get(b.service);
      if (!service) {
        problems.push(`service ${b.service} does not exist`);
        continue;
      }
      const shared = networkIdsOf(service).filter((id) => proxyNetworks.includes(id));
      if (!shared.length) {
        problems.push(
          `service ${b.service} shares no network with the proxy service ${input.proxy.Spec.Name}; add one of the proxy's networks to it`,
        );
        continue;
      }
      const servers: RouteServer[] = [];
      for (const t of tasksByService.get(service.ID) ?? []) {
        const address = addressOn(t, shared);
        if (address) servers.push({ id: t.ID, address, port: b.port });
      }
      servers.sort((x, y) => cmp(x.id, y.id));
      backends.push({ service: b.service, weight: b.weight, servers });
    }
    if (problems.length) problem(problems.join('; '));
    if (!backends.length) continue;
    claimRoute(m, name, claims, certificates);
    const route = toRoute(name, m, serverWeights(backends));
    const match = canaryMatch(m, input.rollouts?.get(name), backends);
    routes.push(match ? { ...route, match } : route);
  }
  routes.sort((a, b) => cmp(a.name, b.name));
  broken.sort((a, b) => cmp(a.route, b.route));
  return { routes, checksum: tableChecksum(routes), broken };
}

/**
 * Per-server weights so that each backend's share of the route's traffic is its weight,
 * whatever its number of tasks: weight / tasks, scaled so the largest is 256 and rounded
 * (at least 1 while the backend's weight is above 0). A route with one backend keeps its
 * weight as is, so scaling it never changes a weight.
 */
export function serverWeights(backends: RouteBackend[]): RouteBackend[] {
  if (backends.length < 2) return backends;
  const raw = backends.map((b) => (b.weight > 0 && b.servers.length ? b.weight / b.servers.length : 0));
  const top = Math.max(...raw);
  if (top === 0) return backends;
  return backends.map((b, i) => ({
    ...b,
    weight:
      raw[i] > 0
        ? Math.max(1, Math.min(maxServerWeight, Math.round((raw[i] * maxServerWeight) / top)))
        : b.weight > 0
          ? 1
          : 0,
  }));
}

/**
 * The route's backends, with the canary beside its one service while a rollout runs. A canary
 * service that does not exist (not created yet, or already removed by a rollback or an abort
 * while the record still names it) is left out, and the stable service keeps all the traffic:
 * a missing canary must not make the whole route broken.
 */
export function withCanary(
  m: Pick<RouteModel, 'backends'>,
  rollout: { canary: string; weight: number } | undefined,
  exists: (service: string) => boolean,
): RouteModel['backends'] {
  if (!rollout || m.backends.length !== 1 || !exists(rollout.canary)) return m.backends;
  const [stable] = m.backends;
  const w = Math.max(0, Math.min(100, Math.round(rollout.weight)));
  return [
    { ...stable, weight: 100 - w },
    { service: rollout.canary, port: stable.port, weight: w },
  ];
}

/**
 * The route's header or cookie matching while its rollout has it on: matching requests go to the
 * canary's servers (the proxy falls back to the weights while it has none). The rules are the
 * route's current ones, so a changed match takes effect at once.
 */
export function canaryMatch(
  m: Pick<RouteModel, 'rollout'>,
  rollout: ServedRollout | undefined,
  backends: RouteBackend[],
): RouteMatch | undefined {
  const rules = m.rollout?.match;
  if (!rollout?.match || !rules?.length || !backends.some((b) => b.service === rollout.canary)) return undefined;
  return { service: rollout.canary, rules: rules.map((r) => ({ ...r })) };
}

function claimConflict(
  m: RouteModel,
  name: string,
  claims: Map<string, string>,
  certs: Map<string, { secret: string; route: string }>,
  proxySecrets: Set<string>,
): string | undefined {
  for (const h of m.hosts.length ? m.hosts : ['*']) {
    const other = claims.get(`${h} ${m.pathPrefix}`);
    if (other) return `host ${h === '*' ? '(any)' : h} and path ${m.pathPrefix} are already served by route ${other}`;
  }
  if (m.tls) {
    if (!proxySecrets.has(m.tls.secret))
      return `the proxy service does not mount the TLS secret ${m.tls.secret}; add {name: ${m.tls.secret}} to its secrets`;
    for (const h of m.hosts) {
      const c = certs.get(h);
      if (c && c.secret !== m.tls.secret)
        return `host ${h} already uses certificate ${c.secret} (route ${c.route}); a host name has one certificate`;
    }
  }
  return undefined;
}

function claimRoute(
  m: RouteModel,
  name: string,
  claims: Map<string, string>,
  certs: Map<string, { secret: string; route: string }>,
): void {
  for (const h of m.hosts.length ? m.hosts : ['*']) claims.set(`${h} ${m.pathPrefix}`, name);
  if (m.tls) for (const h of m.hosts) certs.set(h, { secret: m.tls.secret, route: name });
}

function toRoute(name: string, m: RouteModel, backends: RouteBackend[]): Route {
  return {
    name,
    hosts: [...m.hosts],
    pathPrefix: m.pathPrefix,
    stripPrefix: m.stripPrefix,
    sticky: m.sticky ? { cookie: m.sticky.cookie } : null,
    balance: m.balance,
    healthCheck: m.healthCheck ? { path: m.healthCheck.path, intervalMs: ms(m.healthCheck.interval, 2000) } : null,
    timeouts: { connectMs: ms(m.timeouts.connect, 2000), serverMs: ms(m.timeouts.server, 60_000) },
    redirectToHttps: m.redirectToHttps,
    tls: m.tls ? { secret: m.tls.secret } : null,
    backends: [...backends].sort((a, b) => cmp(a.service, b.service)),
  };
}

function ms(duration: string, fallback: number): number {
  const ns = parseDuration(duration);
  return ns === undefined ? fallback : Math.max(1, Math.round(ns / 1e6));
}

/** The network IDs a service's tasks attach to. */
export function networkIdsOf(service: SwarmService | undefined): string[] {
  const nets = service?.Spec.TaskTemplate?.Networks ?? service?.Spec.Networks ?? [];
  return nets.map((n) => n.Target ?? '').filter(Boolean);
}

/** Secrets the proxy mounts under their own name (the agent reads `<secrets dir>/<secret>`). */
function mountedSecrets(proxy: SwarmService | undefined): Set<string> {
  const out = new Set<string>();
  for (const s of proxy?.Spec.TaskTemplate?.ContainerSpec?.Secrets ?? []) {
    if (s.SecretName && (s.File?.Name ?? s.SecretName) === s.SecretName) out.add(s.SecretName);
  }
  return out;
}

/** The task's IPv4 address on the first of `networks` it is attached to. */
export function addressOn(task: SwarmTask, networks: string[]): string | undefined {
  for (const id of networks) {
    const a = task.NetworksAttachments?.find((n) => n.Network?.ID === id)?.Addresses?.[0];
    if (a) return a.split('/')[0];
  }
  return undefined;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
