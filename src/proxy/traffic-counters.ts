/**
 * The agent's traffic counters per route and per task, as GET /v1/stats shows them. Fed by
 * request log lines (requests, status classes, response times: exact, whichever worker served
 * them) and by `show stat` samples of every HAProxy worker (failed attempts sent to another
 * server), attributed to a task by the server's address in the route's backend: a slot
 * (`shop_web_3`) holds different tasks over time, an address holds one task at a time.
 *
 * Every counter only grows within an epoch (one agent process): a new worker's stats start at
 * zero, so each worker's samples are turned into increments. A task that leaves the table is
 * kept (inTable false) for `retentionMs`, so a reader that polls more often sees its last
 * increments. Pure: time comes from `now`. Must not import src/swarm/ or do I/O.
 */
import type { ServerStatRow } from './haproxy-stats.js';
import {
  emptyHistogram,
  latencyBoundsMs,
  observe,
  toSparse,
  type LatencyHistogram,
  type SparseHistogram,
} from './latency-histogram.js';
import { statusClass, type RequestRecord, type StatusClass } from './request-log.js';
import type { RouteTable } from './route-table.js';
import { backendName, routeBackendOf, serverName, type SlotMap } from './slots.js';

export type StatusCounts = Record<StatusClass, number>;

export interface ServerTraffic {
  service: string;
  /** The task id the table gave for this server. */
  task: string;
  /** The HAProxy server slot it has (or had last). */
  server: string;
  /** "ip:port" */
  address: string;
  /** False once the task left the table (kept for the retention time). */
  inTable: boolean;
  /** Requests this task answered or failed last: one per request log line. */
  requests: number;
  /** By the status sent to the client; HAProxy's own 502/503/504 after a failed last attempt are 5xx. */
  responses: StatusCounts;
  /** Attempts that failed here (refused, timed out, closed without an answer) and were retried on another server. */
  redispatched: number;
  /** Time to the response headers (HAProxy's Tr) of every request answered. */
  responseTime: SparseHistogram;
  /** Its state in the current HAProxy worker at the last read; null until a read saw it. */
  health: ServerHealth | null;
}

/** HAProxy's view of one server (`show stat`): status "UP", "DOWN", "no check"...; check "L7OK", "INI", "" (not checked). */
export interface ServerHealth {
  status: string;
  check: string;
  /** The effective weight (0 while down or in maintenance); absent when the stats had no such column. */
  weight?: number;
}

export interface UnattributedTraffic {
  requests: number;
  responses: StatusCounts;
  redispatched: number;
}

export interface RouteTraffic {
  route: string;
  backend: string;
  inTable: boolean;
  /** No server chosen (a redirect, 503 with no server available) or an address no known task had. */
  unattributed: UnattributedTraffic;
  servers: ServerTraffic[];
}

export interface CollectionStatus {
  /** Request log lines counted; lines starting "sc1 " that did not parse; HAProxy's own messages ("Proxy http stopped" at a reload). */
  logLines: number;
  unparsedLines: number;
  haproxyMessages: number;
  /** Lines lost: the agent's UDP socket overflowed (kernel), or a worker could not send (DroppedLogs). */
  droppedByKernel: number;
  droppedByHaproxy: number;
  /** `show stat` reads of the workers, and the failed ones (the counters then wait for the next read). */
  statsReads: number;
  statsErrors: number;
  lastStatsError: string | null;
  /** The HAProxy workers seen at the last read: the current one and any finishing their connections. */
  workers: number[];
}

export interface TrafficStats {
  /** Counters start at zero with each epoch (an agent start); within one they never go down. */
  epoch: string;
  startedAt: string;
  sampledAt: string;
  /** Response-time bucket upper bounds (ms, inclusive); bucket index latencyBoundsMs.length is everything above. */
  latencyBoundsMs: number[];
  routes: RouteTraffic[];
  /** Requests no route matched (404 no route) and requests HAProxy refused before routing (400, 408). */
  unrouted: { requests: number; responses: StatusCounts };
  collection: CollectionStatus;
}

/** One task at one address of one route backend, as a table puts it. */
export interface ServedTask {
  route: string;
  backend: string;
  service: string;
  task: string;
  server: string;
  address: string;
}

/** Every filled slot of a table and its slot assignment. */
export function servedTasks(table: Pick<RouteTable, 'routes'>, slots: SlotMap): ServedTask[] {
  const out: ServedTask[] = [];
  for (const route of table.routes) {
    const backend = backendName(route);
    for (const b of route.backends) {
      const byId = new Map(b.servers.map((s) => [s.id, s]));
      (slots[route.name]?.[b.service] ?? []).forEach((id, i) => {
        const s = id === null ? undefined : byId.get(id);
        if (s)
          out.push({
            route: route.name,
            backend,
            service: b.service,
            task: s.id,
            server: serverName(b.service, i),
            address: `${s.address}:${s.port}`,
          });
      });
    }
  }
  return out;
}

interface TaskEntry extends ServedTask {
  removedAt: number | null;
  requests: number;
  responses: StatusCounts;
  redispatched: number;
  /** Made at the first response (a dense histogram is about 1 KB; most slots of a large table never answer). */
  latency: LatencyHistogram | null;
  health: ServerHealth | null;
}

interface RouteEntry {
  route: string;
  backend: string;
  removedAt: number | null;
  unattributed: UnattributedTraffic;
}

const zeroStatus = (): StatusCounts => ({ '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 });
const addrKey = (backend: string, address: string) => `${backend} ${address}`;
const taskKey = (t: Pick<ServedTask, 'backend' | 'address' | 'task'>) => `${t.backend} ${t.address} ${t.task}`;

export interface TrafficCountersOptions {
  epoch: string;
  now: () => number;
  /** How long a task (or route) that left the table stays in the counters (default 10 minutes). */
  retentionMs?: number;
}

export class TrafficCounters {
  private readonly tasks = new Map<string, TaskEntry>();
  /** backend + address -> the task key that holds that address now (or held it last). */
  private readonly byAddress = new Map<string, string>();
  private readonly routes = new Map<string, RouteEntry>();
  private readonly unrouted = { requests: 0, responses: zeroStatus() };
  /** pid -> backend/server -> the last `wredis` read from that worker. */
  private readonly workerCounters = new Map<number, Map<string, number>>();
  private readonly workerDropped = new Map<number, number>();
  private readonly collection: CollectionStatus = {
    logLines: 0,
    unparsedLines: 0,
    haproxyMessages: 0,
    droppedByKernel: 0,
    droppedByHaproxy: 0,
    statsReads: 0,
    statsErrors: 0,
    lastStatsError: null,
    workers: [],
  };
  private readonly retentionMs: number;
  private readonly startedAt: string;

  constructor(private readonly o: TrafficCountersOptions) {
    this.retentionMs = o.retentionMs ?? 10 * 60_000;
    this.startedAt = new Date(o.now()).toISOString();
  }

  /** The table HAProxy serves from now on, with its slots (call before the change reaches HAProxy). */
  setTable(table: Pick<RouteTable, 'routes'>, slots: SlotMap): void {
    const now = this.o.now();
    const backends = new Set<string>();
    for (const route of table.routes) {
      const backend = backendName(route);
      backends.add(backend);
      const r = this.routes.get(backend);
      if (r) r.removedAt = null;
      else
        this.routes.set(backend, {
          route: route.name,
          backend,
          removedAt: null,
          unattributed: { requests: 0, responses: zeroStatus(), redispatched: 0 },
        });
    }
    for (const [backend, r] of this.routes) if (!backends.has(backend) && r.removedAt === null) r.removedAt = now;
    const present = new Set<string>();
    for (const s of servedTasks(table, slots)) {
      const key = taskKey(s);
      present.add(key);
      const e = this.tasks.get(key);
      if (e) {
        e.removedAt = null;
        e.server = s.server;
        e.service = s.service;
      } else
        this.tasks.set(key, {
          ...s,
          removedAt: null,
          requests: 0,
          responses: zeroStatus(),
          redispatched: 0,
          latency: null,
          health: null,
        });
      this.byAddress.set(addrKey(s.backend, s.address), key);
    }
    for (const [key, e] of this.tasks) if (!present.has(key) && e.removedAt === null) e.removedAt = now;
    this.prune(now);
  }

  /** A datagram that is not a request: a damaged request line, or one of HAProxy's own messages. */
  recordOtherLine(kind: 'unparsed' | 'haproxy'): void {
    if (kind === 'unparsed') this.collection.unparsedLines++;
    else this.collection.haproxyMessages++;
  }

  /** One request, from its log line. */
  recordRequest(rec: RequestRecord): void {
    this.collection.logLines++;
    const cls = statusClass(rec.status);
    // A route's match backend (header or cookie matching) serves the same tasks: counted as the route's.
    const backend = routeBackendOf(rec.backend);
    const route = this.routes.get(backend);
    if (!route) {
      this.unrouted.requests++;
      this.unrouted.responses[cls]++;
      return;
    }
    const key = rec.address === undefined ? undefined : this.byAddress.get(addrKey(backend, rec.address));
    const e = key === undefined ? undefined : this.tasks.get(key);
    if (!e) {
      route.unattributed.requests++;
      route.unattributed.responses[cls]++;
      return;
    }
    e.requests++;
    e.responses[cls]++;
    if (rec.responseMs !== undefined) observe((e.latency ??= emptyHistogram()), rec.responseMs);
  }

  /**
   * One worker's `show stat` server rows (and its DroppedLogs): the growth since that worker's
   * previous sample goes to the task at the row's address now. Sampling before every change of
   * membership keeps each increment with the task that had the slot. The current worker's rows
   * (`current`, the one new connections go to) also give each task's health.
   */
  recordWorkerSample(pid: number, rows: ServerStatRow[], droppedLogs: number, current = true): void {
    const last = this.workerCounters.get(pid) ?? new Map<string, number>();
    this.workerCounters.set(pid, last);
    for (const row of rows) {
      const backend = routeBackendOf(row.backend);
      // Health from the route backend's rows only (a match backend checks the same tasks again).
      if (current && backend === row.backend) {
        const key = this.byAddress.get(addrKey(row.backend, row.address));
        const e = key === undefined ? undefined : this.tasks.get(key);
        // Only the current worker checks; a slot reused by another task is not this task's state.
        if (e && e.removedAt === null && e.server === row.server)
          e.health = {
            status: row.status,
            check: row.checkStatus,
            ...(row.weight !== undefined ? { weight: row.weight } : {}),
          };
      }
      const slot = `${row.backend}/${row.server}`;
      const before = last.get(slot) ?? 0;
      // (a counter below its last value was cleared: all of it is new)
      const delta = row.redispatched >= before ? row.redispatched - before : row.redispatched;
      last.set(slot, row.redispatched);
      if (delta === 0) continue;
      const key = this.byAddress.get(addrKey(backend, row.address));
      const e = key === undefined ? undefined : this.tasks.get(key);
      if (e) e.redispatched += delta;
      else {
        const r = this.routes.get(backend);
        if (r) r.unattributed.redispatched += delta;
      }
    }
    const dropped = this.workerDropped.get(pid) ?? 0;
    this.collection.droppedByHaproxy += droppedLogs >= dropped ? droppedLogs - dropped : droppedLogs;
    this.workerDropped.set(pid, droppedLogs);
    this.collection.statsReads++;
  }

  /** After a read of every worker: forgets the ones that exited (what they counted stays). */
  setWorkers(pids: number[]): void {
    const alive = new Set(pids);
    for (const pid of [...this.workerCounters.keys()]) if (!alive.has(pid)) this.workerCounters.delete(pid);
    for (const pid of [...this.workerDropped.keys()]) if (!alive.has(pid)) this.workerDropped.delete(pid);
    this.collection.workers = [...pids];
  }

  statsError(message: string): void {
    this.collection.statsErrors++;
    this.collection.lastStatsError = message;
  }

  setKernelDrops(n: number): void {
    this.collection.droppedByKernel = Math.max(this.collection.droppedByKernel, n);
  }

  snapshot(): TrafficStats {
    const now = this.o.now();
    this.prune(now);
    const byBackend = new Map<string, ServerTraffic[]>();
    for (const e of this.tasks.values()) {
      const list = byBackend.get(e.backend) ?? [];
      byBackend.set(e.backend, list);
      list.push({
        service: e.service,
        task: e.task,
        server: e.server,
        address: e.address,
        inTable: e.removedAt === null,
        requests: e.requests,
        responses: { ...e.responses },
        redispatched: e.redispatched,
        responseTime: e.latency ? toSparse(e.latency) : { count: 0, sumMs: 0, buckets: [] },
        health: e.health ? { ...e.health } : null,
      });
    }
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const routes = [...this.routes.values()]
      .sort((a, b) => cmp(a.route, b.route))
      .map((r) => ({
        route: r.route,
        backend: r.backend,
        inTable: r.removedAt === null,
        unattributed: { ...r.unattributed, responses: { ...r.unattributed.responses } },
        servers: (byBackend.get(r.backend) ?? []).sort(
          (a, b) => cmp(a.service, b.service) || cmp(a.task, b.task) || cmp(a.address, b.address),
        ),
      }));
    return {
      epoch: this.o.epoch,
      startedAt: this.startedAt,
      sampledAt: new Date(now).toISOString(),
      latencyBoundsMs: [...latencyBoundsMs],
      routes,
      unrouted: { requests: this.unrouted.requests, responses: { ...this.unrouted.responses } },
      collection: { ...this.collection, workers: [...this.collection.workers] },
    };
  }

  private prune(now: number): void {
    for (const [key, e] of this.tasks) {
      if (e.removedAt === null || now - e.removedAt < this.retentionMs) continue;
      this.tasks.delete(key);
      const a = addrKey(e.backend, e.address);
      if (this.byAddress.get(a) === key) this.byAddress.delete(a);
    }
    const backends = new Set([...this.tasks.values()].map((e) => e.backend));
    for (const [backend, r] of this.routes)
      if (r.removedAt !== null && now - r.removedAt >= this.retentionMs && !backends.has(backend))
        this.routes.delete(backend);
  }
}
