/**
 * `controller run`: wires the source, the keyed work queue, the reconciler, the leader
 * lease, Swarm events, the periodic resync and the status. Only the leader reconciles;
 * standby replicas keep the lease loop, the status and the HTTP endpoints. Syncing a new
 * revision: fetch, validate (an invalid revision is refused and the last good one kept),
 * enqueue every key, wait until the queue drains, record the result.
 */
import { formatDiagnostic } from '../errors.js';
import type { ImageRegistry, SwarmAccess, SwarmEvents, SwarmRecords } from '../api/swarm-access.js';
import { servicesNaming, type ResolveImageMode } from '../apply/resolve-images.js';
import { ImageWatch, type ImageMetricsSink } from './image-watch.js';
import type { SwarmEvent } from '../api/swarm-types.js';
import type { Logger } from '../log.js';
import { loadManifests } from '../manifest/load.js';
import type { Clock } from '../queue/clock.js';
import { WorkQueue } from '../queue/work-queue.js';
import { LeaderLease } from './leader-lease.js';
import { LiveCache } from './live-cache.js';
import { reconcileHandler, type ReconcileMetricsSink } from './reconcile-handler.js';
import { Reconciler, type ReconcilerOptions } from './reconciler.js';
import { StatusStore, type SyncRecord } from './status.js';

export interface SnapshotSource {
  fetch(): Promise<{ revision: string; dir: string; message?: string }>;
  describe(): string;
}

export interface ControllerMetricsSink extends ImageMetricsSink, ReconcileMetricsSink {
  action(kind: string, action: string, result: string): void;
  drift(kind: string, mode: string): void;
  sync(result: string, seconds: number, at: number): void;
  leader(leading: boolean): void;
  suspended(value: boolean): void;
}

export interface ControllerOptions extends ReconcilerOptions {
  identity: string;
  pollIntervalMs: number;
  resyncIntervalMs: number;
  leaseDurationMs: number;
  concurrency: number;
  /** How long a sync waits for the queue to drain before recording its result. */
  syncTimeoutMs: number;
  /** --resolve-image at each new revision. */
  resolveImage: ResolveImageMode;
  /** --image-check: how often every image's digest is asked for again; 0: never. */
  imageCheckMs: number;
}

export const suspendRecordName = (applySet: string) => `swarm-controller-state.${applySet}`;
export const labelSuspended = 'swarm.controller/suspended';
export const labelSuspendReason = 'swarm.controller/suspend-reason';
/** Set by a standby that received a webhook; the leader syncs when it changes. */
export const labelSyncRequested = 'swarm.controller/sync-requested';

export class Controller {
  readonly status: StatusStore;
  readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly lease: LeaderLease;
  private readonly cache: LiveCache;
  readonly images: ImageWatch;
  private readonly abort = new AbortController();
  private syncing: Promise<void> | undefined;
  private seenSyncRequest: string | undefined;
  private pendingTrigger: SyncRecord['trigger'] | undefined;
  /** Set while a sync waits for its objects to converge: ends that wait when a newer revision is found. */
  private supersede: ((revision: string) => void) | undefined;
  private peeking = false;
  private stopped = false;
  private readonly eventListeners: ((e: SwarmEvent) => void)[] = [];

  constructor(
    private readonly swarm: SwarmAccess & SwarmRecords & SwarmEvents & ImageRegistry,
    private readonly source: SnapshotSource,
    private readonly options: ControllerOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: ControllerMetricsSink,
  ) {
    this.status = new StatusStore(
      { identity: options.identity, applySet: options.applySet, source: source.describe(), driftMode: options.drift },
      () => clock.now(),
    );
    this.cache = new LiveCache(swarm, clock, 1000);
    this.reconciler = new Reconciler(swarm, this.cache, this.status, options, {
      action: (k, a, r) => metrics.action(k, a, r),
      drift: (k, m) => metrics.drift(k, m),
    });
    this.queue = new WorkQueue({ concurrency: options.concurrency, clock });
    this.images = new ImageWatch(
      swarm,
      { mode: options.resolveImage, checkIntervalMs: options.imageCheckMs },
      log,
      metrics,
      () => clock.now(),
    );
    this.lease = new LeaderLease(swarm, {
      name: `swarm-controller-lease.${options.applySet}`,
      identity: options.identity,
      durationMs: options.leaseDurationMs,
      clock,
    });
  }

  /** Every Swarm event this controller sees, whatever its role (the route reconciler listens). */
  onSwarmEvent(listener: (e: SwarmEvent) => void): void {
    this.eventListeners.push(listener);
  }

  get isLeader(): boolean {
    return this.lease.isLeader;
  }

  /** Starts every loop; returns at once. */
  start(): void {
    this.queue.start(
      reconcileHandler({
        reconciler: this.reconciler,
        queue: this.queue,
        status: this.status,
        clock: this.clock,
        log: this.log,
        metrics: this.metrics,
        active: () => this.lease.isLeader && !this.status.suspended,
      }),
    );
    void this.leaseLoop();
    void this.pollLoop();
    void this.resyncLoop();
    void this.eventLoop();
    if (this.options.imageCheckMs > 0) void this.imageCheckLoop();
  }

  /**
   * Asks for a sync now (webhook); coalesces with one in progress. A standby that receives the
   * webhook passes it on through the shared state record, which the leader reads every lease round.
   */
  triggerSync(trigger: SyncRecord['trigger']): void {
    if (trigger === 'webhook' && !this.lease.isLeader) {
      void this.requestSyncFromLeader();
      return;
    }
    if (this.syncing) {
      this.pendingTrigger = trigger;
      if (this.supersede && trigger !== 'startup') void this.lookForNewerRevision();
      return;
    }
    this.syncing = this.sync(trigger).finally(() => {
      this.syncing = undefined;
      const next = this.pendingTrigger;
      this.pendingTrigger = undefined;
      if (next && !this.stopped) this.triggerSync(next);
    });
  }

  /**
   * A poll or webhook while a sync waits for convergence: fetch the source, and if it holds a
   * newer revision, stop that wait so the newer revision is applied now, not after every
   * service of the older one has converged (which after a lost node takes as long as Swarm
   * needs to notice it). The objects still converging go on being watched by the queue.
   */
  private async lookForNewerRevision(): Promise<void> {
    if (this.peeking) return;
    this.peeking = true;
    try {
      const snapshot = await this.source.fetch();
      if (snapshot.revision !== this.reconciler.desired?.revision) this.supersede?.(snapshot.revision);
    } catch {
      // the next sync reports a source that cannot be read
    } finally {
      this.peeking = false;
    }
  }

  /** SIGTERM: stop taking work, let the action in flight finish within `graceMs`, release the lease. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.race([this.queue.shutDown(), new Promise((r) => setTimeout(r, graceMs))]);
    await this.lease.release();
    this.metrics.leader(false);
  }

  private async sync(trigger: SyncRecord['trigger']): Promise<void> {
    const started = this.clock.now();
    const record = (r: Omit<SyncRecord, 'trigger' | 'startedAt' | 'durationMs'>) => {
      const durationMs = this.clock.now() - started;
      const full: SyncRecord = { trigger, startedAt: new Date(started).toISOString(), durationMs, ...r };
      this.status.recordSync(full);
      this.metrics.sync(r.result, durationMs / 1000, this.clock.now() / 1000);
      const level = r.result === 'success' ? 'info' : 'error';
      this.log[level](
        { event: 'sync', ...full },
        `sync ${r.result}${r.revision ? ` at ${r.revision.slice(0, 12)}` : ''}`,
      );
    };
    let snapshot;
    try {
      snapshot = await this.source.fetch();
    } catch (err) {
      record({ result: 'fetch-failed', detail: (err as Error).message });
      return;
    }
    const changed = snapshot.revision !== this.reconciler.desired?.revision;
    if (changed) {
      const loaded = await loadManifests([snapshot.dir]);
      const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length) {
        const shown = errors
          .slice(0, 5)
          .map(
            (d) =>
              formatDiagnostic({
                ...d,
                ...(d.position
                  ? { position: { ...d.position, file: d.position.file.replace(snapshot.dir + '/', '') } }
                  : {}),
              }).split('\n')[0],
          )
          .join('; ');
        record({
          revision: snapshot.revision,
          ...(snapshot.message ? { message: snapshot.message } : {}),
          result: 'invalid',
          detail: `${errors.length} problem(s); revision not applied, ${this.reconciler.desired ? `still applying ${this.reconciler.desired.revision.slice(0, 12)}` : 'nothing applied yet'}: ${shown}`,
        });
        return;
      }
      let images;
      try {
        images = await this.images.forRevision(loaded.desired, await this.swarm.listServices());
      } catch (err) {
        record({
          revision: snapshot.revision,
          result: 'failed',
          detail: `cannot resolve images: ${(err as Error).message}`,
        });
        return;
      }
      if (images.problems.length) {
        record({
          revision: snapshot.revision,
          ...(snapshot.message ? { message: snapshot.message } : {}),
          result: 'invalid',
          detail: `${images.problems.length} image(s) refused by their registry; revision not applied, ${this.reconciler.desired ? `still applying ${this.reconciler.desired.revision.slice(0, 12)}` : 'nothing applied yet'}: ${images.problems.map((p) => `${servicesNaming(p)}: ${p.error.message}`).join('; ')}`,
        });
        return;
      }
      this.reconciler.desired = { revision: snapshot.revision, desired: images.desired };
      this.status.revision = snapshot.revision;
    }
    if (!changed && trigger === 'poll') return; // nothing new: the resync loop keeps things level
    if (!this.lease.isLeader || this.status.suspended) {
      record({
        revision: snapshot.revision,
        result: 'success',
        detail: this.status.suspended ? 'loaded; not applied while suspended' : 'loaded; applied by the leader',
      });
      return;
    }
    await this.enqueueAll();
    let newer: string | undefined;
    const superseded = new Promise<'superseded'>(
      (r) =>
        (this.supersede = (revision) => {
          newer = revision;
          r('superseded');
        }),
    );
    const wait = { over: false };
    const ended = await Promise.race([
      this.drain(wait).then(() => 'drained' as const),
      this.clock.sleep(this.options.syncTimeoutMs).then(() => 'timeout' as const),
      superseded,
    ]);
    wait.over = true;
    this.supersede = undefined;
    const drained = ended === 'drained';
    const objects = this.status.toJSON().objects;
    const failed = objects.filter((o) => o.phase === 'Failed' || o.phase === 'Stalled');
    this.status.synced = true;
    if (drained) {
      try {
        const removed = await this.reconciler.collectOldVersions();
        if (removed.length)
          this.log.info(
            { event: 'versions.collected', removed },
            `removed ${removed.length} old config/secret version(s)`,
          );
      } catch (err) {
        this.log.warn(
          { err: (err as Error).message },
          'could not collect old config/secret versions; will retry at the next sync',
        );
      }
    }
    if (ended === 'superseded') {
      const waiting = objects.filter((o) => o.phase === 'Progressing' || o.phase === 'Pending').map((o) => o.id);
      record({
        revision: snapshot.revision,
        ...(snapshot.message ? { message: snapshot.message } : {}),
        result: failed.length ? 'failed' : 'success',
        detail: `${failed.length ? `${failed.length} object(s) failed: ${failed.map((f) => f.id).join(', ')}; ` : ''}revision ${newer!.slice(0, 12)} arrived while ${waiting.length} object(s) were converging (${waiting.join(', ')}): applying it now`,
      });
      return;
    }
    record({
      revision: snapshot.revision,
      ...(snapshot.message ? { message: snapshot.message } : {}),
      result: failed.length || !drained ? 'failed' : 'success',
      detail: !drained
        ? `not finished after ${this.options.syncTimeoutMs / 1000}s`
        : failed.length
          ? `${failed.length} object(s) failed: ${failed.map((f) => f.id).join(', ')}`
          : changed
            ? 'applied'
            : 'in sync',
    });
  }

  /** Waits until no key is queued, in flight or about to be re-checked for progress. */
  private async drain(wait: { over: boolean } = { over: false }): Promise<void> {
    for (;;) {
      await this.queue.idle();
      const progressing = this.status.toJSON().objects.some((o) => o.phase === 'Progressing' || o.phase === 'Pending');
      if (!progressing || this.stopped || wait.over) return;
      await this.clock.sleep(500);
    }
  }

  private async enqueueAll(): Promise<void> {
    try {
      for (const key of await this.reconciler.allKeys()) this.queue.add(key);
      this.metrics.queueDepth(this.queue.length);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot list keys; will retry at the next resync');
    }
  }

  private async leaseLoop(): Promise<void> {
    const every = Math.max(200, Math.floor(this.options.leaseDurationMs / 3));
    let wasLeader = false;
    while (!this.stopped) {
      const leading = await this.lease.tryAcquireOrRenew();
      this.status.role = leading ? 'leader' : 'standby';
      this.status.leader = this.lease.holder;
      this.metrics.leader(leading);
      await this.refreshSuspended();
      if (leading && !wasLeader) {
        this.log.info({ event: 'leader', identity: this.options.identity }, 'became leader');
        this.cache.invalidate();
        this.triggerSync('startup');
      } else if (!leading && wasLeader) {
        this.log.warn({ event: 'standby', leader: this.lease.holder }, 'lost the lease; standing by');
      }
      wasLeader = leading;
      await this.clock.sleep(every);
    }
  }

  private async requestSyncFromLeader(): Promise<void> {
    const name = suspendRecordName(this.options.applySet);
    const stamp = `${new Date(this.clock.now()).toISOString()} ${this.options.identity}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const rec = await this.swarm.findConfig(name);
        if (!rec)
          await this.swarm.createConfig(
            name,
            { [labelSuspended]: 'false', [labelSyncRequested]: stamp },
            `state of apply set ${this.options.applySet}`,
          );
        else await this.swarm.updateConfigLabels(rec, { ...rec.Spec.Labels, [labelSyncRequested]: stamp });
        this.log.info(
          { event: 'sync.forwarded', leader: this.lease.holder },
          'webhook received by a standby; asked the leader to sync',
        );
        return;
      } catch {
        await this.clock.sleep(100);
      }
    }
  }

  private async refreshSuspended(): Promise<void> {
    try {
      const rec = await this.swarm.findConfig(suspendRecordName(this.options.applySet));
      const requested = rec?.Spec.Labels?.[labelSyncRequested];
      if (this.lease.isLeader && requested && requested !== this.seenSyncRequest) {
        if (this.seenSyncRequest !== undefined) this.triggerSync('webhook');
      }
      this.seenSyncRequest = requested ?? '';
      const suspended = rec?.Spec.Labels?.[labelSuspended] === 'true';
      if (suspended !== this.status.suspended) {
        this.log.info(
          { event: suspended ? 'suspended' : 'resumed' },
          suspended ? 'reconciling suspended' : 'reconciling resumed',
        );
        this.status.suspended = suspended;
        if (!suspended && this.lease.isLeader) this.triggerSync('resume');
      }
      this.status.suspendedReason = suspended ? rec?.Spec.Labels?.[labelSuspendReason] : undefined;
      this.metrics.suspended(suspended);
    } catch {
      // keep the last known value
    }
  }

  private async pollLoop(): Promise<void> {
    // the first sync runs when the lease is settled (leaseLoop); standbys still load and validate
    this.triggerSync('startup');
    while (!this.stopped) {
      const jitter = 0.9 + Math.random() * 0.2;
      const wait = Math.round(this.options.pollIntervalMs * jitter);
      this.status.nextSyncAt = this.clock.now() + wait;
      await this.clock.sleep(wait);
      if (!this.stopped) this.triggerSync('poll');
    }
  }

  /** --image-check: every image asked for again; a moved digest is rolled out like any change. */
  private async imageCheckLoop(): Promise<void> {
    while (!this.stopped) {
      await this.clock.sleep(this.options.imageCheckMs);
      const current = this.reconciler.desired;
      if (this.stopped || !this.lease.isLeader || this.status.suspended || !current) continue;
      try {
        const updated = await this.images.check(current.desired);
        // A sync may have brought a newer revision meanwhile: it has its own pins.
        if (updated && this.reconciler.desired === current) {
          this.reconciler.desired = { ...current, desired: updated };
          await this.enqueueAll();
        }
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'image check failed; trying again at the next interval');
      }
    }
  }

  private async resyncLoop(): Promise<void> {
    while (!this.stopped) {
      await this.clock.sleep(this.options.resyncIntervalMs);
      if (this.stopped || !this.lease.isLeader || this.status.suspended || !this.reconciler.desired) continue;
      this.cache.invalidate();
      await this.enqueueAll();
    }
  }

  private async eventLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.swarm.streamEvents((e) => this.onEvent(e), this.abort.signal);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'event stream lost; reconnecting');
      }
      if (!this.stopped) await this.clock.sleep(1000);
    }
  }

  private onEvent(e: SwarmEvent): void {
    for (const l of this.eventListeners) l(e);
    if (!this.lease.isLeader || this.status.suspended) return;
    this.cache.invalidate();
    const name = e.Actor?.Attributes?.name;
    if (e.Type === 'node') {
      void this.enqueueAll(); // tasks move when nodes change; look at everything
      return;
    }
    if ((e.Type === 'service' || e.Type === 'network' || e.Type === 'config' || e.Type === 'secret') && name) {
      const key = this.reconciler.keyForSwarmName(e.Type, name);
      if (key) this.queue.add(key);
    }
  }
}
