/**
 * The route reconciler of `controller run`: keeps the proxy tier's table equal to what the
 * stored routes and the live tasks say. Each round it reads (a full read on a Swarm event, at
 * start and every `fullReadIntervalMs`; otherwise one filtered task list), builds the table
 * (pure, table-builder.ts; a task told to stop serves, until its container stops, only while
 * its service has no running task: stopping-tasks.ts), and when the checksum changes gives it the next generation and
 * hands it to the pusher, which brings every proxy replica to it.
 *
 * Generations only grow: on becoming active it first asks the replicas which generation they
 * serve, keeps it when they already hold the same table, and otherwise continues above it.
 * Only the leader pushes; routing goes on while reconciling is suspended (the proxies follow
 * tasks, not manifests). The leader also reads what each replica sees of the servers (their
 * health and weight, proxy-observer.ts) and puts it beside each server in its status.
 */
import type { SwarmReader } from '../api/swarm-access.js';
import type { SwarmEvent } from '../api/swarm-types.js';
import type { Logger } from '../log.js';
import type { Clock, Random } from '../queue/clock.js';
import type { AgentClient, AgentStatsReader } from './agent-client.js';
import type { ServerHealth, ProxyServerView } from '../status/format.js';
import { ProxyObserver } from './proxy-observer.js';
import { serverView } from './proxy-view.js';
import { ProxyPusher, type PushSink, type ReplicaStatus } from './proxy-pusher.js';
import {
  readRouteFacts,
  readTasks,
  proxyReplicas,
  taskFingerprint,
  watchedServiceIds,
  type RouteFacts,
} from './swarm-facts.js';
import { buildTable, type BrokenRoute, type BuiltTable } from './table-builder.js';
import { isRunning, isStopping, servingTasks, type StoppingClock } from './stopping-tasks.js';

export interface RouteSyncOptions {
  /** The proxy tier's Swarm service ("swarm-controller_proxy"). */
  proxyService: string;
  /** The network on which the controller reaches the proxies' control API. */
  proxyNetwork: string;
  /** The filtered task poll (default 250 ms). */
  pollIntervalMs: number;
  /** A full read even without events (default 10 s). */
  fullReadIntervalMs: number;
  /** How often each replica's status is read back (default 5 s). */
  verifyIntervalMs: number;
  /** How often each replica's view of the servers is read (default 5 s; needs `stats` in the deps). */
  observeIntervalMs?: number;
}

export interface RouteMetricsSink extends PushSink {
  table(generation: number, routes: number, broken: number, servers: number): void;
  replicas(total: number, inSync: number): void;
}

export interface ServedRoute {
  route: string;
  hosts: string[];
  pathPrefix: string;
  /** `servers`: how many; `members`: each task's address (the status in the Swarm shows them). */
  backends: {
    service: string;
    servers: number;
    weight: number;
    members?: {
      task: string;
      address: string;
      port: number;
      /** As the replicas see it (when they are read): merged, and per replica. */
      health?: ServerHealth;
      proxies?: ProxyServerView[];
    }[];
  }[];
}

export interface RouteSyncStatus {
  active: boolean;
  /** Why routes are not being pushed (standby, disabled) or what stops them (no proxy). */
  note?: string;
  proxyService: string;
  proxyNetwork: string;
  generation: number;
  checksum: string;
  routes: number;
  servers: number;
  served: ServedRoute[];
  broken: BrokenRoute[];
  unreadable: { configName: string; problem: string }[];
  /** `statsError` when the replicas' views are read: why the last read of that replica failed. */
  replicas: (ReplicaStatus & { statsError?: string | null })[];
  observeIntervalMs?: number;
  lastChangeAt: string | null;
  lastError: string | null;
}

/** The status when routes are not pushed at all (no token to present to the proxies). */
export function disabledRouteStatus(
  o: Pick<RouteSyncOptions, 'proxyService' | 'proxyNetwork'>,
  note: string,
): RouteSyncStatus {
  return {
    active: false,
    note,
    proxyService: o.proxyService,
    proxyNetwork: o.proxyNetwork,
    generation: 0,
    checksum: '',
    routes: 0,
    servers: 0,
    served: [],
    broken: [],
    unreadable: [],
    replicas: [],
    lastChangeAt: null,
    lastError: null,
  };
}

export interface RouteSyncDeps {
  swarm: SwarmReader;
  /** Talks to each proxy replica's control API. */
  client: AgentClient;
  /** Reads each replica's traffic statistics for its view of the servers; without it, none is read. */
  stats?: AgentStatsReader;
  options: RouteSyncOptions;
  clock: Clock;
  /** The push retries' jitter (default Math.random). */
  random?: Random;
  log: Logger;
  metrics: RouteMetricsSink;
  /** True while this replica should push (the leader). */
  isActive: () => boolean;
}

export class RouteSync {
  private readonly pusher: ProxyPusher;
  private readonly observer: ProxyObserver | undefined;
  private readonly swarm: SwarmReader;
  private readonly o: RouteSyncOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: RouteMetricsSink;
  private readonly isActive: () => boolean;
  private facts: RouteFacts | undefined;
  /** When each stopping task was first seen stopping (stopping-tasks.ts). */
  private readonly stopping: StoppingClock = new Map();
  private built: BuiltTable | undefined;
  private generation = 0;
  private initialised = false;
  /** A replica is ahead of the current generation: give the table the next one. */
  private renumber = false;
  private brokenKey = '';
  private active = false;
  private fullReadWanted = true;
  private lastFullRead = 0;
  private lastChangeAt: number | null = null;
  private lastError: string | null = null;
  private note: string | undefined;
  private stopped = false;
  private wake: (() => void) | null = null;
  private lastRound: Promise<void> = Promise.resolve();

  constructor(deps: RouteSyncDeps) {
    this.swarm = deps.swarm;
    this.o = deps.options;
    this.clock = deps.clock;
    this.log = deps.log;
    this.metrics = deps.metrics;
    this.isActive = deps.isActive;
    this.pusher = new ProxyPusher({
      client: deps.client,
      clock: deps.clock,
      ...(deps.random ? { random: deps.random } : {}),
      log: deps.log,
      sink: deps.metrics,
      verifyIntervalMs: deps.options.verifyIntervalMs,
      onAhead: (g) => {
        this.generation = Math.max(this.generation, g);
        this.renumber = true;
        this.wake?.();
      },
    });
    this.observer = deps.stats
      ? new ProxyObserver({
          reader: deps.stats,
          clock: deps.clock,
          log: deps.log,
          ...(deps.options.observeIntervalMs !== undefined ? { intervalMs: deps.options.observeIntervalMs } : {}),
        })
      : undefined;
  }

  start(): void {
    void this.loop();
    this.observer?.start();
  }

  stop(): void {
    this.stopped = true;
    this.pusher.stop();
    void this.observer?.stop();
    this.wake?.();
  }

  /** One read of every replica's view of the servers now (tests). */
  observe(): Promise<void> {
    return this.observer?.round() ?? Promise.resolve();
  }

  /** A Swarm event: services, networks, configs (routes) or nodes changed; read everything again now. */
  notify(e: SwarmEvent): void {
    if (!['service', 'network', 'config', 'secret', 'node'].includes(e.Type)) return;
    this.fullReadWanted = true;
    this.wake?.();
  }

  /** One round now (tests): read, build, hand to the pusher. */
  round(): Promise<void> {
    this.lastRound = this.lastRound.then(() => this.doRound());
    return this.lastRound;
  }

  /**
   * For the rollout controller: every proxy replica serves the table built with this canary
   * weight for the route (the rollout record as read, the table pushed and acknowledged).
   */
  serving(route: string, canary: string, weight: number, match = false): boolean {
    const r = this.facts?.rollouts?.get(route);
    const b = this.built;
    return (
      this.active &&
      !!r &&
      !!b &&
      r.canary === canary &&
      r.weight === weight &&
      (r.match ?? false) === match &&
      this.pusher.table?.checksum === b.checksum &&
      this.pusher.allHold(b.checksum)
    );
  }

  /** The proxy replicas' control addresses (the rollout controller reads their counters). */
  replicaAddresses(): string[] {
    return this.pusher.status().map((r) => r.address);
  }

  status(): RouteSyncStatus {
    const b = this.built;
    const views = this.observer?.views();
    const errors = new Map(views?.map((v) => [v.task, v.error]));
    return {
      active: this.active,
      ...(this.note ? { note: this.note } : {}),
      proxyService: this.o.proxyService,
      proxyNetwork: this.o.proxyNetwork,
      generation: this.pusher.table?.generation ?? this.generation,
      checksum: this.pusher.table?.checksum ?? '',
      routes: b?.routes.length ?? 0,
      servers: b ? countServers(b) : 0,
      served: (b?.routes ?? []).map((r) => ({
        route: r.name,
        hosts: r.hosts,
        pathPrefix: r.pathPrefix,
        backends: r.backends.map((x) => ({
          service: x.service,
          servers: x.servers.length,
          weight: x.weight,
          members: x.servers.map((v) => ({
            task: v.id,
            address: v.address,
            port: v.port,
            ...(views ? serverView(r.name, v.id, views) : {}),
          })),
        })),
      })),
      broken: b?.broken ?? [],
      unreadable: this.facts?.unreadable ?? [],
      replicas: this.pusher
        .status()
        .map((x) => (views ? { ...x, statsError: errors.has(x.task) ? errors.get(x.task)! : 'not read yet' } : x)),
      ...(this.observer ? { observeIntervalMs: this.observer.intervalMs } : {}),
      lastChangeAt: this.lastChangeAt === null ? null : new Date(this.lastChangeAt).toISOString(),
      lastError: this.lastError,
    };
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.round();
      if (this.stopped) break;
      if (this.fullReadWanted && this.active) continue;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void this.clock.sleep(this.o.pollIntervalMs).then(resolve);
      });
      this.wake = null;
    }
  }

  private async doRound(): Promise<void> {
    const active = this.isActive();
    if (active !== this.active) {
      this.active = active;
      this.log.info(
        { event: active ? 'routes.active' : 'routes.standby' },
        active ? 'pushing route tables to the proxy tier' : 'standing by: the leader pushes route tables',
      );
      if (!active) {
        this.pusher.setReplicas([]);
        this.observer?.setReplicas([]);
        this.initialised = false;
      }
      this.fullReadWanted = true;
    }
    if (!active) {
      this.note = 'standby: the leader pushes route tables';
      return;
    }
    try {
      const now = this.clock.now();
      if (!this.facts || this.fullReadWanted || now - this.lastFullRead >= this.o.fullReadIntervalMs) {
        this.fullReadWanted = false;
        this.facts = await readRouteFacts(this.swarm, this.o.proxyService, this.facts?.tasks);
        this.lastFullRead = now;
      } else {
        const previous = this.facts.tasks;
        const tasks = await readTasks(this.swarm, watchedServiceIds(this.facts), previous);
        // A stopping task may have run past its time (stopping-tasks.ts): build again while there is one.
        if (
          taskFingerprint(tasks) === taskFingerprint(previous) &&
          !this.renumber &&
          !tasks.some((t) => isStopping(t))
        ) {
          this.lastError = null;
          return this.reportReplicas();
        }
        // No running task while there were some: a watched service may be gone (the engine then answers none for the whole filter).
        this.facts =
          !tasks.some((t) => isRunning(t)) && previous.some((t) => isRunning(t))
            ? await readRouteFacts(this.swarm, this.o.proxyService, previous)
            : { ...this.facts, tasks };
      }
      this.apply(this.facts);
      await this.publish();
      this.lastError = null;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.fullReadWanted = true;
      this.log.warn({ err: this.lastError }, 'route round failed; retrying');
      await this.clock.sleep(Math.min(2000, this.o.pollIntervalMs * 4));
    }
  }

  private apply(facts: RouteFacts): void {
    const replicas = proxyReplicas(facts.proxy, facts.tasks, this.o.proxyNetwork);
    this.note = replicas.problem;
    this.pusher.setReplicas(replicas.replicas);
    this.observer?.setReplicas(replicas.replicas);
    this.built = buildTable({
      ...facts,
      tasks: servingTasks(facts.tasks, facts.services, this.stopping, this.clock.now()),
    });
    this.metrics.table(this.generation, this.built.routes.length, this.built.broken.length, countServers(this.built));
  }

  private async publish(): Promise<void> {
    const b = this.built!;
    const current = this.pusher.table;
    if (!this.initialised) {
      // Continue from what the replicas serve: a new leader must not go back in generations.
      const highest = await this.pusher.learnGenerations(2000);
      this.initialised = true;
      this.generation = this.pusher.allHold(b.checksum) ? highest : highest + 1;
    } else if (current && current.checksum === b.checksum && !this.renumber) {
      this.reportReplicas();
      return;
    } else {
      this.generation = Math.max(this.generation, this.pusher.maxGeneration()) + 1;
    }
    this.renumber = false;
    this.pusher.setTable({ generation: this.generation, checksum: b.checksum, routes: b.routes });
    this.lastChangeAt = this.clock.now();
    this.metrics.table(this.generation, b.routes.length, b.broken.length, countServers(b));
    this.log.info(
      {
        event: 'routes.table',
        generation: this.generation,
        routes: b.routes.length,
        servers: countServers(b),
        broken: b.broken.length,
      },
      `route table generation ${this.generation}: ${b.routes.length} route(s), ${countServers(b)} server(s)${b.broken.length ? `, ${b.broken.length} broken` : ''}`,
    );
    const brokenKey = JSON.stringify(b.broken);
    if (brokenKey !== this.brokenKey)
      for (const x of b.broken)
        this.log.warn(
          { event: 'routes.broken', route: x.route, problem: x.problem },
          `route ${x.route} left out: ${x.problem}`,
        );
    this.brokenKey = brokenKey;
    this.reportReplicas();
  }

  private reportReplicas(): void {
    const r = this.pusher.status();
    this.metrics.replicas(r.length, r.filter((x) => x.inSync).length);
  }
}

function countServers(b: BuiltTable): number {
  return b.routes.reduce((n, r) => n + r.backends.reduce((m, x) => m + x.servers.length, 0), 0);
}
