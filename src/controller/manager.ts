/**
 * What one `controller run` process shares between the loops it runs, as controller-runtime's
 * manager does: the one Swarm event stream (reconnected when lost) fanned out to every loop and
 * listener, less the events of its own records (own-records.ts: status documents, leases), the live cache every reconciler reads (invalidated by every event and whenever a loop
 * takes its lease), and for each loop its own leader lease, renewed every third of the lease time,
 * with the loop told after each round whether it leads. The lease rounds are also its look at the
 * Swarm: one that finds the Swarm unable to answer (no quorum, no engine, no answer in time) is
 * recorded as an outage (swarm-outage.ts: since when, why; logged once at its start and end), and
 * while it lasts the rounds and the event stream's reconnects are spaced by the outage policy
 * instead of every third of the lease. It starts and stops them. A loop's failure
 * (a throw from its lease round or event handler) is logged and never stops another loop.
 * `controller run` runs one loop, its apply set (apply-set-loop.ts); issue 14's apps are more
 * loops of the same shape, each with its own lease name, sync, reconciler and status.
 */
import type { SwarmEvents, SwarmReader, SwarmRecords } from '../api/swarm-access.js';
import type { SwarmEvent } from '../api/swarm-types.js';
import type { SwarmCondition } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../queue/clock.js';
import { LeaderLease } from './leader-lease.js';
import { LiveCache } from './live-cache.js';
import { isOwnRecordEvent } from './own-records.js';
import { outageBackoff, outageDelay, outageMaxDelayMs, SwarmOutage } from './swarm-outage.js';

export interface LeaseRound {
  /** This replica holds the loop's lease. */
  leading: boolean;
  /** Who holds it as last seen ("" when free). */
  holder: string;
  /** Clock time until which this replica may act as leader, unless a later round says so again (0: not leading). */
  validUntil: number;
  /** The Swarm answered this round (false: no quorum, no engine or no answer in time: swarm-outage.ts). */
  swarmAnswered: boolean;
}

/** A loop the manager runs while it holds its own lease. */
export interface ElectedLoop {
  /** Names it in logs (the apply set). */
  readonly name: string;
  /** Its lease: a Swarm config of this name, taken over when unrenewed for `durationMs`. */
  readonly lease: { name: string; durationMs: number };
  /** Starts what runs whether or not it leads (loading revisions, status); returns at once. */
  start(): void;
  /** After every lease round. */
  leaseRound(round: LeaseRound): Promise<void>;
  /** Every Swarm event. */
  onEvent(e: SwarmEvent): void;
  /** Stops taking work; resolves when the work in flight is done. */
  stop(): Promise<void>;
}

export interface ManagerOptions {
  swarm: SwarmReader & SwarmRecords & SwarmEvents;
  /** This replica, as it writes itself into every lease. */
  identity: string;
  clock: Clock;
  log: Logger;
  /** How long a live snapshot is shared between reconciles (default 1 s). */
  cacheMaxAgeMs?: number;
  /** Wait before reconnecting a lost event stream (default 1 s); doubled while it keeps failing. */
  reconnectDelayMs?: number;
  /** Jitter of the outage policy's waits (default Math.random). */
  random?: () => number;
  metrics?: ManagerMetricsSink;
}

export interface ManagerMetricsSink {
  /** One lease round: the Swarm answered it, or could not. */
  leaseRound(result: 'answered' | 'unavailable'): void;
  /** Whether the Swarm takes writes, as the last lease round found. */
  swarmWritable(writable: boolean): void;
}

interface Entry {
  loop: ElectedLoop;
  lease: LeaderLease;
  leasing?: Promise<void>;
  /** Taken out by remove(): its lease rounds end. */
  removed?: boolean;
  /** Ends its lease loop's wait on removal. */
  abort: AbortController;
}

export class Manager {
  readonly cache: LiveCache;
  /** The Swarm as the lease rounds last found it: writable, or since when and why not. */
  readonly outage: SwarmOutage;
  private readonly entries: Entry[] = [];
  private readonly listeners: ((e: SwarmEvent) => void)[] = [];
  private readonly abort = new AbortController();
  private started = false;
  private stopping = false;

  constructor(private readonly o: ManagerOptions) {
    this.cache = new LiveCache(o.swarm, o.clock, o.cacheMaxAgeMs ?? 1000);
    this.outage = new SwarmOutage(() => o.clock.now());
  }

  /** Adds a loop, elected by its own lease; before start. */
  add(loop: ElectedLoop): void {
    if (this.started) throw new Error(`loop ${loop.name} added after the manager started`);
    if (this.entries.some((e) => e.loop.lease.name === loop.lease.name))
      throw new Error(`two loops share the lease ${loop.lease.name}`);
    this.entries.push({
      abort: new AbortController(),
      loop,
      lease: new LeaderLease(this.o.swarm, {
        name: loop.lease.name,
        identity: this.o.identity,
        durationMs: loop.lease.durationMs,
        clock: this.o.clock,
      }),
    });
  }

  /**
   * Adds a loop while the manager runs (an App a new root revision declares) and starts it with
   * its lease rounds at once; before start, the same as add().
   */
  addRunning(loop: ElectedLoop): void {
    if (!this.started) return this.add(loop);
    if (this.stopping) return;
    this.started = false;
    try {
      this.add(loop);
    } finally {
      this.started = true;
    }
    const e = this.entries[this.entries.length - 1];
    e.loop.start();
    e.leasing = this.leaseLoop(e);
  }

  /**
   * Stops one loop (an App the root source no longer declares, or declares differently): its
   * work in flight finishes, its lease rounds end and its lease is released for whoever runs it next.
   */
  async remove(name: string): Promise<void> {
    const e = this.entries.find((x) => x.loop.name === name);
    if (!e) return;
    this.entries.splice(this.entries.indexOf(e), 1);
    e.removed = true;
    e.abort.abort();
    await e.loop.stop();
    await e.leasing;
    await e.lease.release();
  }

  /** Every Swarm event, whatever any loop's role (the route reconciler listens). */
  onEvent(listener: (e: SwarmEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Starts every loop, its lease rounds and the event stream; returns at once. */
  start(): void {
    this.started = true;
    for (const e of this.entries) {
      e.loop.start();
      e.leasing = this.leaseLoop(e);
    }
    void this.eventLoop();
  }

  /**
   * SIGTERM: stop taking work, let the work in flight finish within `graceMs`, then release every
   * lease so another replica takes over at once.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    const stopped = Promise.all(this.entries.flatMap((e) => [e.loop.stop(), e.leasing ?? Promise.resolve()]));
    const grace = new AbortController();
    await Promise.race([stopped, this.o.clock.sleep(graceMs, grace.signal)]);
    grace.abort();
    await Promise.all(this.entries.map((e) => e.lease.release()));
  }

  private async leaseLoop(e: Entry): Promise<void> {
    const every = Math.max(200, Math.floor(e.loop.lease.durationMs / 3));
    const policy = outageBackoff(every);
    let failures = 0;
    let wasLeading = false;
    while (!this.stopping && !e.removed) {
      const leading = await e.lease.tryAcquireOrRenew();
      if (this.stopping || e.removed) break;
      const problem = e.lease.unavailable;
      failures = problem ? failures + 1 : 0;
      this.look(problem);
      if (leading && !wasLeading) this.cache.invalidate(); // what the last leader wrote is not cached here
      wasLeading = leading;
      try {
        await e.loop.leaseRound({
          leading,
          holder: e.lease.holder,
          validUntil: e.lease.validUntil,
          swarmAnswered: !problem,
        });
      } catch (err) {
        this.o.log.error({ loop: e.loop.name, err: (err as Error).message }, `lease round of ${e.loop.name} failed`);
      }
      const wait = failures ? outageDelay(policy, failures, this.o.random) : every;
      await this.o.clock.sleep(wait, AbortSignal.any([this.abort.signal, e.abort.signal]));
    }
  }

  /** One lease round's finding, into the outage record, the metrics and (at its start and end) the log. */
  private look(problem: { condition: SwarmCondition; message: string } | undefined): void {
    this.o.metrics?.leaseRound(problem ? 'unavailable' : 'answered');
    const change = this.outage.look(problem);
    this.o.metrics?.swarmWritable(this.outage.status.writable);
    const s = this.outage.status;
    if (change === 'lost')
      this.o.log.error(
        { event: 'swarm.unavailable', condition: s.condition, reason: s.reason, since: s.since },
        `the Swarm cannot take writes (${s.condition}): not reconciling; looking again with backoff up to the lease`,
      );
    if (change === 'recovered')
      this.o.log.info(
        { event: 'swarm.recovered', outageSeconds: s.lastOutageSeconds },
        `the Swarm answers again after ${s.lastOutageSeconds} s`,
      );
  }

  private async eventLoop(): Promise<void> {
    const policy = outageBackoff(this.o.reconnectDelayMs ?? 1000, outageMaxDelayMs);
    let failures = 0;
    while (!this.stopping) {
      const started = this.o.clock.now();
      try {
        await this.o.swarm.streamEvents((e) => this.onSwarmEvent(e), this.abort.signal);
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'event stream lost; reconnecting');
      }
      // (a stream that ran longer than the longest wait was a good one: start the backoff over)
      failures = this.o.clock.now() - started > outageMaxDelayMs ? 1 : failures + 1;
      if (!this.stopping) await this.o.clock.sleep(outageDelay(policy, failures, this.o.random), this.abort.signal);
    }
  }

  private onSwarmEvent(e: SwarmEvent): void {
    if (isOwnRecordEvent(e)) return; // our status documents and leases: nothing to reconcile
    // Objects the reconciler plans name what changed; anything else (a node, a task) drops the snapshot.
    const name = e.Actor?.Attributes?.name;
    if (name && ['service', 'network', 'config', 'secret'].includes(e.Type)) this.cache.changed(name);
    else this.cache.invalidate();
    for (const l of this.listeners) this.isolated('an event listener', () => l(e));
    for (const x of this.entries) this.isolated(x.loop.name, () => x.loop.onEvent(e));
  }

  private isolated(who: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.o.log.error({ err: (err as Error).message, event: 'event.failed' }, `${who} failed on a Swarm event`);
    }
  }
}
