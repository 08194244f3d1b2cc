/**
 * What the proxy replicas see of the routes' servers, merged (pure): each replica's traffic
 * statistics (GET /v1/stats) name, per route and task, HAProxy's health-check state and
 * effective weight; this module turns one replica's answer into a lookup and puts the views of
 * every replica beside each server the controller serves, with one merged health per server.
 * The I/O (reading each replica, bounded in rate) is proxy-observer.ts's.
 */
import type { TrafficStats } from '../proxy/traffic-counters.js';
import type { ProxyServerView, ServerHealth } from '../status/format.js';

/** One server as one replica's HAProxy has it. */
export interface SeenServer {
  /** HAProxy's `status` text (UP, DOWN, MAINT, "no check", "UP 1/3", ...). */
  state: string;
  weight: number | null;
}

/** One replica's last view: `servers` by serverKey(route, task); empty until it answered once. */
export interface ReplicaView {
  task: string;
  /** The last read failed (or none answered yet): why. A failed read forgets the previous view. */
  error: string | null;
  servers: Map<string, SeenServer>;
}

export const serverKey = (route: string, task: string) => `${route}\u0000${task}`;

/** HAProxy's status text as one word: "UP 1/3" (up, checks starting to fail) is up, "DOWN 1/2" down. */
export function healthOf(state: string | undefined): ServerHealth {
  if (state === undefined) return 'unknown';
  if (state === 'no check') return 'unchecked';
  if (state.startsWith('UP')) return 'up';
  if (state.startsWith('DOWN') || state.startsWith('NOLB')) return 'down';
  if (state.startsWith('MAINT')) return 'maint';
  if (state.startsWith('DRAIN')) return 'drain';
  return 'unknown';
}

/** The servers of a replica's statistics that are in its table and whose state HAProxy reported. */
export function seenServers(stats: Pick<TrafficStats, 'routes'>): Map<string, SeenServer> {
  const out = new Map<string, SeenServer>();
  for (const r of stats.routes) {
    if (!r.inTable) continue;
    for (const s of r.servers)
      if (s.inTable && s.health)
        out.set(serverKey(r.route, s.task), { state: s.health.status, weight: s.health.weight ?? null });
  }
  return out;
}

/**
 * Every replica's views agree: that health; they differ: `mixed`; no replica reported the
 * server (not read yet, the replica does not hold a table with it, or every read failed): `unknown`.
 */
export function mergedHealth(views: Pick<ProxyServerView, 'health'>[]): ServerHealth {
  const known = new Set(views.map((v) => v.health).filter((h) => h !== 'unknown'));
  if (known.size === 0) return 'unknown';
  return known.size === 1 ? [...known][0] : 'mixed';
}

/** What every replica (in task order) sees of one server of a route, and the merged health. */
export function serverView(
  route: string,
  task: string,
  replicas: ReplicaView[],
): { health: ServerHealth; proxies: ProxyServerView[] } {
  const proxies = [...replicas]
    .sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0))
    .map((rep): ProxyServerView => {
      const seen = rep.servers.get(serverKey(route, task));
      if (!seen) return { replica: rep.task, health: 'unknown' };
      return {
        replica: rep.task,
        health: healthOf(seen.state),
        state: seen.state,
        ...(seen.weight !== null ? { weight: seen.weight } : {}),
      };
    });
  return { health: mergedHealth(proxies), proxies };
}
