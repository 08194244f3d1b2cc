/**
 * Fixed server slots: each service of a route owns keptCapacity(n) HAProxy servers named
 * "<service>_<n>". A server keeps its slot while it stays in the table, new servers take the
 * lowest free slot, and the slot states give the Runtime API commands that turn one table
 * into the next without a reload. Pure. Must not import src/swarm/ or do any I/O.
 */
import { keptCapacity, type Route, type RouteServer, type RouteTable } from './route-table.js';

/** route name -> service -> server id per slot (null: empty slot). */
export type SlotMap = Record<string, Record<string, (string | null)[]>>;

export interface SlotState {
  backend: string;
  server: string;
  enabled: boolean;
  address: string;
  port: number;
  weight: number;
}

export const emptySlotAddress = '127.0.0.1';
export const emptySlotPort = 1;

/** HAProxy proxy and server names allow letters, digits, ".", "-", "_" and ":". */
export function sanitiseName(s: string): string {
  return s.replace(/\//g, ':').replace(/[^A-Za-z0-9._:-]/g, '_');
}

export function backendName(route: Pick<Route, 'name'>): string {
  return `rt_${sanitiseName(route.name)}`;
}

/**
 * The backend holding only the match service's servers of a route with header or cookie
 * matching (route-table.ts RouteMatch). Route names hold no ":" of their own, so "::m" cannot
 * collide with another route's backend.
 */
export function matchBackendName(route: Pick<Route, 'name'>): string {
  return `${backendName(route)}::m`;
}

/** The route backend a backend name belongs to: itself, or the route's for its match backend. */
export function routeBackendOf(backend: string): string {
  return backend.endsWith('::m') ? backend.slice(0, -3) : backend;
}

export function serverName(service: string, slot: number): string {
  return `${sanitiseName(service)}_${slot + 1}`;
}

export function assignSlots(table: Pick<RouteTable, 'routes'>, previous: SlotMap = {}): SlotMap {
  const out: SlotMap = {};
  for (const route of table.routes) {
    const perService: Record<string, (string | null)[]> = {};
    for (const b of route.backends) {
      const capacity = keptCapacity(b.servers.length, previous[route.name]?.[b.service]?.length);
      const ids = new Set(b.servers.map((s) => s.id));
      const slots: (string | null)[] = new Array<string | null>(capacity).fill(null);
      const placed = new Set<string>();
      (previous[route.name]?.[b.service] ?? []).forEach((id, i) => {
        if (id !== null && i < capacity && ids.has(id)) {
          slots[i] = id;
          placed.add(id);
        }
      });
      const rest = [...ids].filter((id) => !placed.has(id)).sort();
      for (let i = 0; i < capacity && rest.length; i++) if (slots[i] === null) slots[i] = rest.shift()!;
      perService[b.service] = slots;
    }
    out[route.name] = perService;
  }
  return out;
}

/** Every slot of every route, in config order, with what it should hold. */
export function slotStates(table: Pick<RouteTable, 'routes'>, slots: SlotMap): SlotState[] {
  const out: SlotState[] = [];
  for (const route of table.routes) {
    const backend = backendName(route);
    for (const b of route.backends) {
      const byId = new Map<string, RouteServer>(b.servers.map((s) => [s.id, s]));
      const assigned = slots[route.name]?.[b.service] ?? [];
      assigned.forEach((id, i) => {
        const s = id === null ? undefined : byId.get(id);
        out.push({
          backend,
          server: serverName(b.service, i),
          enabled: !!s,
          address: s?.address ?? emptySlotAddress,
          port: s?.port ?? emptySlotPort,
          weight: b.weight,
        });
      });
    }
    // The match backend: the match service's slots again, every server at weight 1 (one version).
    const m = route.match;
    const mb = m && route.backends.find((b) => b.service === m.service);
    if (mb) {
      const byId = new Map<string, RouteServer>(mb.servers.map((s) => [s.id, s]));
      (slots[route.name]?.[mb.service] ?? []).forEach((id, i) => {
        const s = id === null ? undefined : byId.get(id);
        out.push({
          backend: matchBackendName(route),
          server: serverName(mb.service, i),
          enabled: !!s,
          address: s?.address ?? emptySlotAddress,
          port: s?.port ?? emptySlotPort,
          weight: 1,
        });
      });
    }
  }
  return out;
}

/**
 * Runtime API commands that turn `before` into `after` (the same structure, so the same
 * slots). Servers arriving get their address and weight before they are made ready, and all of
 * that comes before any server leaving goes to maintenance: when the last old task of a backend
 * leaves as its replacement arrives in another slot, HAProxy always has a server to send to
 * (the other order left the backend empty between two commands; the soak found it).
 *
 * An arriving server is made ready at once, before HAProxy has checked it. Holding it until its
 * check passed while others of its backend stay (drain, health down, ready) was tried and
 * withdrawn: a server that "stays" may be about to leave (a stopping task, or one at weight 0 in
 * a blue-green switch), and the backend was left with no usable server until the held one rose
 * (decision 102).
 */
export function runtimeCommands(before: SlotState[], after: SlotState[]): string[] {
  const old = new Map(before.map((s) => [`${s.backend}/${s.server}`, s]));
  const leaving: string[] = [];
  const changing: string[] = [];
  for (const s of after) {
    const key = `${s.backend}/${s.server}`;
    const o = old.get(key);
    if (!o) throw new Error(`slot ${key} is not in the running configuration (the structure changed)`);
    if (o.enabled && !s.enabled) leaving.push(`set server ${key} state maint`);
    if (s.enabled && (!o.enabled || o.address !== s.address || o.port !== s.port))
      changing.push(`set server ${key} addr ${s.address} port ${s.port}`);
    if (o.weight !== s.weight) changing.push(`set server ${key} weight ${s.weight}`);
    if (s.enabled && !o.enabled) changing.push(`set server ${key} state ready`);
  }
  return [...changing, ...leaving];
}
