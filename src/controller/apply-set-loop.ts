/**
 * One apply set kept in sync from one source: its status, work queue and reconcile handler
 * (reconcile-handler.ts, over the object reconciler), its revision sync (revision-sync.ts), its
 * suspend record (suspend-record.ts) and its periodic resync. Runs under the Manager, which
 * elects it by its own lease (`swarm-controller-lease.<set>`), gives it the shared live cache and
 * the Swarm events. Only while it leads and is not suspended does it change the Swarm; a standby
 * keeps loading revisions and serving its status. `controller run` has one; with issue 14's apps,
 * each app is one of these.
 */
import type { ImageRegistry, SwarmAccess, SwarmRecords } from '../api/swarm-access.js';
import type { SwarmEvent } from '../api/swarm-types.js';
import type { ResolveImageMode } from '../apply/resolve-images.js';
import type { Logger } from '../log.js';
import type { Clock, Random } from '../queue/clock.js';
import { WorkQueue } from '../queue/work-queue.js';
import type { LiveCache } from './live-cache.js';
import type { ElectedLoop, LeaseRound } from './manager.js';
import { reconcileHandler, type ReconcileMetricsSink } from './reconcile-handler.js';
import { Reconciler, type ReconcilerOptions, type RolloutDivert } from './reconciler.js';
import {
  RevisionSync,
  type RevisionSyncHooks,
  type RevisionSyncMetricsSink,
  type SnapshotSource,
  type SyncTrigger,
} from './revision-sync.js';
import { fenceWrites } from './fenced-swarm.js';
import { StatusStore } from './status.js';
import { SuspendRecord } from './suspend-record.js';

export const leaseName = (applySet: string) => `swarm-controller-lease.${applySet}`;

export interface ApplySetMetricsSink extends ReconcileMetricsSink, RevisionSyncMetricsSink {
  action(kind: string, action: string, result: string): void;
  drift(kind: string, mode: string): void;
  leader(leading: boolean): void;
  suspended(value: boolean): void;
}

/** What `controller run`'s flags say about one apply set. */
export interface ApplySetSettings extends ReconcilerOptions {
  /** This replica, in the lease and in status. */
  identity: string;
  pollIntervalMs: number;
  resyncIntervalMs: number;
  leaseDurationMs: number;
  /** Keys reconciled at once. */
  concurrency: number;
  /** How long a sync waits for its objects to settle before recording its result. */
  syncTimeoutMs: number;
  /** --resolve-image at each new revision. */
  resolveImage: ResolveImageMode;
  /** --image-check: how often every image's digest is asked for again; 0: never. */
  imageCheckMs: number;
}

export interface ApplySetLoopOptions {
  settings: ApplySetSettings;
  swarm: SwarmAccess & SwarmRecords & ImageRegistry;
  source: SnapshotSource;
  /** The Manager's live cache, shared by every loop it runs. */
  cache: LiveCache;
  clock: Clock;
  /** Jitter of the poll interval (default Math.random). */
  random?: Random;
  log: Logger;
  metrics: ApplySetMetricsSink;
  /** Progressive delivery of routed services (src/rollout/); without it updates apply in place. */
  rollouts?: RolloutDivert;
  /** An app's additions to each sync (SOPS keys, variables, sync windows, dependencies, notices). */
  hooks?: RevisionSyncHooks;
  /** An app whose manifest says suspend: true; the reason shown (the suspend record can suspend it too). */
  suspendedBySpec?: string;
}

export class ApplySetLoop implements ElectedLoop {
  readonly name: string;
  readonly lease: { name: string; durationMs: number };
  readonly status: StatusStore;
  readonly queue: WorkQueue;
  readonly sync: RevisionSync;
  private readonly reconciler: Reconciler;
  private readonly record: SuspendRecord;
  private readonly abort = new AbortController();
  private leading = false;
  /** From the last lease round: past it, this replica neither starts work nor writes (fencing). */
  private validUntil = 0;
  private suspendRead: Promise<void> | undefined;
  private holder = '';
  /** The last lease round reached the Swarm: while it does not, polls start no sync (they would only fail). */
  private swarmAnswered = true;
  private seenSyncRequest: string | undefined;
  private seenManualRequest: string | undefined;
  private stopped = false;

  constructor(private readonly o: ApplySetLoopOptions) {
    const { settings, swarm, clock, log, metrics } = o;
    this.name = settings.applySet;
    this.lease = { name: leaseName(settings.applySet), durationMs: settings.leaseDurationMs };
    this.status = new StatusStore(
      {
        identity: settings.identity,
        applySet: settings.applySet,
        source: o.source.describe(),
        driftMode: settings.drift,
      },
      () => clock.now(),
    );
    this.reconciler = new Reconciler({
      swarm: fenceWrites(swarm, () => this.holds),
      cache: o.cache,
      status: this.status,
      options: settings,
      observer: { action: (k, a, r) => metrics.action(k, a, r), drift: (k, m) => metrics.drift(k, m) },
      ...(o.rollouts ? { rollouts: o.rollouts } : {}),
    });
    this.queue = new WorkQueue({ concurrency: settings.concurrency, clock });
    this.record = new SuspendRecord({ records: swarm, applySet: settings.applySet, clock });
    this.sync = new RevisionSync({
      ...o.hooks,
      source: o.source,
      registry: swarm,
      reconciler: this.reconciler,
      queue: this.queue,
      status: this.status,
      clock,
      random: o.random ?? Math.random,
      log,
      metrics,
      enqueueAll: () => this.enqueueAll(),
      isLeader: () => this.holds,
      swarmAnswers: () => this.swarmAnswered,
      pollIntervalMs: settings.pollIntervalMs,
      syncTimeoutMs: settings.syncTimeoutMs,
      resolveImage: settings.resolveImage,
      imageCheckMs: settings.imageCheckMs,
    });
  }

  get isLeader(): boolean {
    return this.holds;
  }

  /** Leads, and the lease's last successful round is recent enough to act on (leader-lease.ts). */
  private get holds(): boolean {
    return this.leading && this.o.clock.now() < this.validUntil;
  }

  /** The revision loaded for this apply set, as the reconciler applies it (absent before the first). */
  get desired() {
    return this.reconciler.desired;
  }

  /** Starts the work queue, the revision sync and the resync; returns at once. */
  start(): void {
    this.queue.start(
      reconcileHandler({
        reconciler: this.reconciler,
        queue: this.queue,
        status: this.status,
        clock: this.o.clock,
        log: this.o.log,
        metrics: this.o.metrics,
        active: () => this.holds && !this.status.suspended,
      }),
    );
    this.sync.start();
    void this.resyncLoop();
  }

  /**
   * Asks for a sync now (webhook, resume). A standby passes a webhook on through the shared
   * state record, which the leader reads every lease round.
   */
  triggerSync(trigger: SyncTrigger): void {
    if (trigger === 'webhook' && !this.holds) {
      void this.record.requestSync(this.o.settings.identity, this.holder, this.o.log);
      return;
    }
    this.sync.trigger(trigger);
  }

  /** After each lease round: role and leader in status, the suspend record read, a first sync on taking the lease. */
  async leaseRound(round: LeaseRound): Promise<void> {
    const was = this.leading;
    // (a lease that lapsed between rounds was lost: taking it again starts a sync, as the first time)
    const wasHolding = this.holds;
    const wasAnswering = this.swarmAnswered;
    this.swarmAnswered = round.swarmAnswered;
    this.leading = round.leading;
    this.validUntil = round.validUntil;
    this.holder = round.holder;
    this.status.role = round.leading ? 'leader' : 'standby';
    this.status.leader = round.holder;
    this.o.metrics.leader(round.leading);
    if (!round.leading && was)
      this.o.log.warn({ event: 'standby', leader: round.holder }, 'lost the lease; standing by');
    await this.refreshSuspendedBounded();
    if (round.leading && !wasHolding) {
      this.o.log.info({ event: 'leader', identity: this.o.settings.identity }, 'became leader');
      this.sync.trigger('startup');
    } else if (round.swarmAnswered && !wasAnswering) this.sync.trigger('poll'); // a standby loads what came during the outage
  }

  /**
   * The suspend record's read, waited for at most a third of the lease: an engine cut off from
   * quorum can hold it for as long as the cut lasts, and the lease rounds (which fence this
   * replica) must go on meanwhile. One read at a time; a late one still updates the record.
   */
  private refreshSuspendedBounded(): Promise<void> {
    this.suspendRead ??= this.refreshSuspended().finally(() => (this.suspendRead = undefined));
    const timer = new AbortController();
    return Promise.race([this.suspendRead, this.o.clock.sleep(this.lease.durationMs / 3, timer.signal)]).finally(() =>
      timer.abort(),
    );
  }

  /** A Swarm event: the key it names is looked at now (every key on a node event: tasks move). */
  onEvent(e: SwarmEvent): void {
    if (!this.holds || this.status.suspended) return;
    const name = e.Actor?.Attributes?.name;
    if (e.Type === 'node') {
      void this.enqueueAll();
      return;
    }
    if ((e.Type === 'service' || e.Type === 'network' || e.Type === 'config' || e.Type === 'secret') && name) {
      const key = this.reconciler.keyForSwarmName(e.Type, name);
      if (key) this.queue.add(key);
    }
  }

  /** Stops syncing and taking work; resolves when the work in flight is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.sync.stop();
    this.leading = false;
    this.o.metrics.leader(false);
    await this.queue.shutDown();
  }

  private async enqueueAll(): Promise<void> {
    try {
      for (const key of await this.reconciler.allKeys()) this.queue.add(key);
      this.o.metrics.queueDepth(this.queue.length);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'cannot list keys; will retry at the next resync');
    }
  }

  private async refreshSuspended(): Promise<void> {
    let state;
    try {
      state = await this.record.read();
    } catch {
      return; // keep the last known value
    }
    const requested = state.syncRequested;
    if (this.holds && requested && requested !== this.seenSyncRequest) {
      if (this.seenSyncRequest !== undefined) this.sync.trigger('webhook');
    }
    this.seenSyncRequest = requested ?? '';
    const manual = state.manualSyncRequested;
    if (this.holds && manual && manual !== this.seenManualRequest && this.seenManualRequest !== undefined) {
      this.o.log.info({ event: 'sync.manual-requested', request: manual }, 'manual sync requested');
      this.sync.trigger('manual');
    }
    this.seenManualRequest = manual ?? '';
    const bySpec = this.o.suspendedBySpec;
    const suspended = state.suspended || bySpec !== undefined;
    if (suspended !== this.status.suspended) {
      this.o.log.info(
        { event: suspended ? 'suspended' : 'resumed' },
        suspended ? 'reconciling suspended' : 'reconciling resumed',
      );
      this.status.suspended = suspended;
      if (!suspended && this.holds) this.sync.trigger('resume');
    }
    this.status.suspendedReason = state.suspended ? state.reason : bySpec;
    this.o.metrics.suspended(suspended);
  }

  /** Every object looked at again (events can be lost), with a fresh read of the Swarm. */
  private async resyncLoop(): Promise<void> {
    while (!this.stopped) {
      await this.o.clock.sleep(this.o.settings.resyncIntervalMs, this.abort.signal);
      if (this.stopped || !this.holds || this.status.suspended || !this.reconciler.desired) continue;
      this.o.cache.invalidate();
      await this.enqueueAll();
    }
  }
}
