/**
 * The proxy agent's state machine: holds the accepted route table and decides, per pushed
 * table, between Runtime API updates (same structure: membership and weights only) and a
 * checked, rate-limited, coalesced reload (anything else). A table HAProxy refuses, or whose
 * TLS certificate files are unusable, is rejected and the last good configuration keeps serving.
 * Keeps the traffic counters in step: the served tasks before each change, a read of the
 * workers' counters before each Runtime API change and reload (traffic-stats.ts).
 * Must not import src/swarm/; talks to HAProxy only through HaproxyProcess.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { realClock, type Clock } from '../queue/clock.js';
import { crtListPath, hostMapPath, pathMapPath, renderConfig, renderCrtList, renderMaps } from './haproxy-config.js';
import type { HaproxyProcess } from './haproxy-process.js';
import { emptyTable, structureKey, TableError, tableChecksum, validateTable, type RouteTable } from './route-table.js';
import { assignSlots, runtimeCommands, slotStates, type SlotMap, type SlotState } from './slots.js';
import { tlsFileProblems } from './tls-files.js';
import { TrafficStatsCollector } from './traffic-stats.js';
import type { TrafficStats } from './traffic-counters.js';

export interface AgentOptions {
  haproxy: HaproxyProcess;
  httpBind: string;
  /** The TLS listener, bound while at least one route has tls. */
  httpsBind: string;
  stateDir: string;
  /** Where TLS routes' secrets are files (Swarm mounts secrets in /run/secrets). */
  secretsDir: string;
  log: Logger;
  /** At most one reload per this many ms; pushes in between share the next reload (default 200). */
  minReloadIntervalMs?: number;
  /**
   * The reload rate limit's time, the timestamps in status and the traffic counters' time
   * (default the real clock).
   */
  clock?: Clock;
  /** Test-only: changes the rendered text before `haproxy -c` (to make HAProxy refuse a table). */
  transformConfig?: (text: string) => string;
}

export class ApplyError extends Error {
  constructor(
    readonly status: 400 | 409 | 422 | 500,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}

export interface ApplyResult {
  generation: number;
  checksum: string;
  /** unchanged: same checksum; runtime: Runtime API only; reload: new configuration loaded. */
  action: 'unchanged' | 'runtime' | 'reload';
  runtimeCommands: number;
  durationMs: number;
}

export interface AgentStatus {
  /** The generation and checksum HAProxy serves now. */
  generation: number;
  checksum: string;
  appliedAt: string | null;
  routes: number;
  reloads: number;
  runtimeUpdates: number;
  lastReloadMs: number | null;
  reloadPending: boolean;
  lastError: string | null;
  haproxy: { running: boolean; pid: number | null };
}

export class ProxyAgent {
  private table: RouteTable = emptyTable;
  private slots: SlotMap = {};
  private states: SlotState[] = [];
  /** The structure HAProxy's running worker (or the pending reload) has; "" forces a reload. */
  private key = '';
  private served: { generation: number; checksum: string; appliedAt: string | null; routes: number } = {
    generation: -1,
    checksum: '',
    appliedAt: null,
    routes: 0,
  };
  private chain: Promise<unknown> = Promise.resolve();
  private pendingReload: Promise<void> | undefined;
  private lastReloadAt = 0;
  private reloads = 0;
  private runtimeUpdates = 0;
  private lastReloadMs: number | null = null;
  private lastError: string | null = null;
  /** haproxy.cfg lags behind Runtime API pushes (written before the next reload). */
  private configStale = false;
  private readonly minInterval: number;
  private readonly traffic: TrafficStatsCollector;
  private readonly clock: Clock;

  constructor(private readonly o: AgentOptions) {
    this.minInterval = o.minReloadIntervalMs ?? 200;
    this.clock = o.clock ?? realClock;
    this.traffic = new TrafficStatsCollector({ haproxy: o.haproxy, log: o.log, clock: this.clock });
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }

  get configPath(): string {
    return join(this.o.stateDir, 'haproxy.cfg');
  }

  /** Writes the empty table (everything answers 404) and starts HAProxy. */
  async start(): Promise<void> {
    await this.traffic.start();
    this.traffic.setTable(emptyTable, {});
    const problem = await this.checkCandidate(emptyTable, {});
    if (problem) throw new Error(`haproxy refuses the initial configuration: ${problem}`);
    await this.installCandidate(emptyTable, {});
    await this.o.haproxy.start();
    this.lastReloadAt = this.clock.now();
    this.key = structureKey(emptyTable);
    this.served = { generation: 0, checksum: emptyTable.checksum, appliedAt: this.isoNow(), routes: 0 };
  }

  async stop(): Promise<void> {
    await this.o.haproxy.stop();
    this.traffic.close();
  }

  /** The traffic counters per route and task (GET /v1/stats), after a fresh read of the workers. */
  stats(): Promise<TrafficStats> {
    return this.traffic.read();
  }

  get healthy(): boolean {
    return this.o.haproxy.running && this.served.generation >= 0;
  }

  status(): AgentStatus {
    return {
      ...this.served,
      reloads: this.reloads,
      runtimeUpdates: this.runtimeUpdates,
      lastReloadMs: this.lastReloadMs,
      reloadPending: !!this.pendingReload,
      lastError: this.lastError,
      haproxy: { running: this.o.haproxy.running, pid: this.o.haproxy.pid ?? null },
    };
  }

  /** Validates and applies a pushed table; ApplyError carries the HTTP status for refusals. */
  async apply(input: unknown): Promise<ApplyResult> {
    const t0 = this.clock.now();
    let table: RouteTable;
    try {
      table = validateTable(input);
    } catch (err) {
      if (err instanceof TableError)
        throw new ApplyError(400, `invalid route table: ${err.problems.length} problem(s)`, err.problems);
      throw err;
    }
    const actual = tableChecksum(table.routes);
    if (actual !== table.checksum)
      throw new ApplyError(400, `checksum mismatch: the table says ${table.checksum}, its routes hash to ${actual}`);
    const outcome = await this.exclusive(() => this.applyLocked(table));
    if (outcome.reload) await outcome.reload;
    return {
      generation: table.generation,
      checksum: table.checksum,
      action: outcome.action,
      runtimeCommands: outcome.commands,
      durationMs: this.clock.now() - t0,
    };
  }

  private async applyLocked(
    table: RouteTable,
  ): Promise<{ action: ApplyResult['action']; commands: number; reload?: Promise<void> }> {
    if (table.checksum === this.table.checksum && this.key !== '') {
      this.table = table;
      if (!this.pendingReload) this.served = { ...this.served, generation: table.generation, appliedAt: this.isoNow() };
      return { action: 'unchanged', commands: 0 };
    }
    const slots = assignSlots(table, this.slots);
    const states = slotStates(table, slots);
    const key = structureKey(table, slots);
    if (key === this.key) {
      const commands = runtimeCommands(this.states, states);
      try {
        if (commands.length) {
          // The counters so far belong to the tasks the slots hold now (read the backends that change).
          const changing = [...new Set(commands.map((c) => c.split(' ')[2].split('/')[0]))];
          await this.traffic.sample(changing.length <= 10 ? changing : undefined);
          this.traffic.setTable(table, slots);
        }
        await this.o.haproxy.runtime(commands);
        this.commit(table, slots, states, key);
        // haproxy.cfg is brought up to date before the next reload reads it, not on every such push.
        this.configStale = true;
        this.runtimeUpdates++;
        if (!this.pendingReload) this.markServed(table);
        this.o.log.info(
          { generation: table.generation, commands: commands.length },
          'route table applied through the Runtime API',
        );
        return {
          action: 'runtime',
          commands: commands.length,
          ...(this.pendingReload ? { reload: this.pendingReload } : {}),
        };
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'Runtime API update failed; reloading instead');
      }
    }
    const files = await tlsFileProblems(table.routes, this.o.secretsDir);
    if (files.length) throw this.refused(table, 'the TLS certificate check', files);
    const problem = await this.checkCandidate(table, slots);
    if (problem) throw this.refused(table, 'haproxy -c', problem.split('\n'));
    await this.installCandidate(table, slots);
    this.commit(table, slots, states, key);
    return { action: 'reload', commands: 0, reload: this.scheduleReload() };
  }

  /** A refused table: recorded as the last error; the running configuration and status stay. */
  private refused(table: RouteTable, by: string, problems: string[]): ApplyError {
    this.traffic.setTable(this.table, this.slots);
    this.lastError = `generation ${table.generation} refused by ${by}: ${problems.join('; ')}`;
    this.o.log.warn(
      { generation: table.generation, problems },
      `route table refused by ${by}; the last good configuration keeps serving`,
    );
    return new ApplyError(
      422,
      `generation ${table.generation} refused by ${by}; generation ${this.table.generation} keeps serving`,
      problems,
    );
  }

  private commit(table: RouteTable, slots: SlotMap, states: SlotState[], key: string): void {
    this.traffic.setTable(table, slots);
    this.table = table;
    this.slots = slots;
    this.states = states;
    this.key = key;
  }

  private markServed(table: RouteTable): void {
    this.served = {
      generation: table.generation,
      checksum: table.checksum,
      appliedAt: this.isoNow(),
      routes: table.routes.length,
    };
    this.lastError = null;
  }

  /** Coalesces: every push before the reload starts shares it; waits out the rate limit. */
  private scheduleReload(): Promise<void> {
    if (this.pendingReload) return this.pendingReload;
    const wait = Math.max(0, this.lastReloadAt + this.minInterval - this.clock.now());
    const p = this.clock.sleep(wait).then(() =>
      this.exclusive(async () => {
        this.pendingReload = undefined;
        const table = this.table;
        // The servers Runtime API pushes set since the configuration was written.
        if (this.configStale) await this.writeConfig(table, this.slots);
        // The current worker's counters, before it stops taking requests.
        await this.traffic.sample();
        const t0 = this.clock.now();
        try {
          await this.o.haproxy.reload();
        } catch (err) {
          this.key = ''; // unknown: the next push reloads again
          this.lastError = `reload for generation ${table.generation} failed: ${(err as Error).message}`;
          throw new ApplyError(500, this.lastError);
        } finally {
          this.lastReloadAt = this.clock.now();
        }
        this.reloads++;
        this.lastReloadMs = this.clock.now() - t0;
        this.markServed(table);
        this.o.log.info({ generation: table.generation, reloadMs: this.lastReloadMs }, 'haproxy reloaded');
      }),
    );
    this.pendingReload = p;
    p.catch(() => undefined);
    return p;
  }

  /** The configuration reading the installed files, or (candidate) the candidate files beside them. */
  private render(table: RouteTable, slots: SlotMap, candidate = false): string {
    const text = renderConfig(table, slots, {
      httpBind: this.o.httpBind,
      httpsBind: this.o.httpsBind,
      stateDir: this.o.stateDir,
      logTarget: this.traffic.logTarget,
      ...(candidate
        ? {
            crtList: this.candidate(crtListPath(this.o.stateDir)),
            hostMap: this.candidate(hostMapPath(this.o.stateDir)),
            pathMap: this.candidate(pathMapPath(this.o.stateDir)),
          }
        : {}),
    });
    return this.o.transformConfig ? this.o.transformConfig(text) : text;
  }

  private get candidatePath(): string {
    return join(this.o.stateDir, 'haproxy.cfg.candidate');
  }

  private candidate(path: string): string {
    return `${path}.candidate`;
  }

  /** The files the configuration reads besides itself (crt-list, maps), by installed path. */
  private sideFiles(table: RouteTable): [string, string][] {
    const maps = renderMaps(table);
    return [
      [crtListPath(this.o.stateDir), renderCrtList(table, this.o.secretsDir)],
      [hostMapPath(this.o.stateDir), maps.hosts],
      [pathMapPath(this.o.stateDir), maps.paths],
    ];
  }

  /**
   * Writes the candidate crt-list and maps, and a candidate configuration that reads them, and
   * runs `haproxy -c` on them: the running files stay untouched until installCandidate.
   */
  private async checkCandidate(table: RouteTable, slots: SlotMap): Promise<string | undefined> {
    for (const [path, text] of this.sideFiles(table)) await writeFile(this.candidate(path), text, { mode: 0o600 });
    return this.o.haproxy.check(await this.writeCandidate(this.render(table, slots, true)));
  }

  /** After a passed check: the crt-list, the maps and the configuration (reading the installed files) replace the running files. */
  private async installCandidate(table: RouteTable, slots: SlotMap): Promise<void> {
    for (const [path] of this.sideFiles(table)) await rename(this.candidate(path), path);
    await this.writeConfig(table, slots);
  }

  /** haproxy.cfg for this table and slots, reading the installed side files (which a structure keeps). */
  private async writeConfig(table: RouteTable, slots: SlotMap): Promise<void> {
    this.configStale = false;
    await this.writeCandidate(this.render(table, slots));
    await rename(this.candidatePath, this.configPath);
  }

  private async writeCandidate(text: string): Promise<string> {
    await writeFile(this.candidatePath, text, { mode: 0o600 });
    return this.candidatePath;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.chain.then(fn, fn);
    this.chain = r.catch(() => undefined);
    return r;
  }
}
