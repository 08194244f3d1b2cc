/**
 * The revision sync of one apply set: brings new revisions of the source in. A sync fetches the
 * source; a new revision is validated (an invalid one is refused and the last good one kept) and
 * its images resolved as --resolve-image says (image-watch.ts; a refused image refuses the
 * revision); then, when this replica leads and is not suspended, every key is enqueued and the
 * sync waits until they settle (the work queue idle and no object Progressing or Pending: woken
 * by each recorded object status, never by polling), a newer revision found meanwhile ending
 * that wait at once (superseded), or the timeout. Each sync's result is recorded in the status,
 * the metrics and the log. Syncs are triggered at start, by the poll loop (jittered), by
 * webhooks and on resume; a trigger during a sync coalesces into one more sync after it.
 * With --image-check, every image is asked for again on that interval and a moved digest rolled out.
 */
import type { ImageRegistry, SwarmReader } from '../api/swarm-access.js';
import { servicesNaming, type ResolveImageMode } from '../apply/resolve-images.js';
import { formatDiagnostic, type Diagnostic } from '../errors.js';
import type { Logger } from '../log.js';
import { loadManifests, type LoadedManifests, type LoadOptions } from '../manifest/load.js';
import type { Clock, Random } from '../queue/clock.js';
import type { WorkQueue } from '../queue/work-queue.js';
import { ImageWatch, type ImageMetricsSink } from './image-watch.js';
import type { Reconciler } from './reconciler.js';
import type { StatusStore, SyncRecord } from './status.js';

export interface SnapshotSource {
  fetch(): Promise<{ revision: string; dir: string; message?: string }>;
  describe(): string;
}

export type SyncTrigger = SyncRecord['trigger'];

export interface RevisionSyncMetricsSink extends ImageMetricsSink {
  sync(result: string, seconds: number, at: number): void;
}

/**
 * What an app (issue 14) adds to a sync; every hook is optional and `controller run`'s own apply
 * set uses those it needs. A hook that throws refuses the revision (load options) or is logged.
 */
export interface RevisionSyncHooks {
  /** How to load a new revision: the age keys for SOPS files, the app's variables. Throwing refuses it. */
  loadOptions?(): Promise<LoadOptions>;
  /** A new revision passed validation and is about to be applied (or held by the gate). */
  loaded?(revision: string, loaded: LoadedManifests): void;
  /**
   * May a new revision be applied now (sync windows, dependencies)? `manual`: asked for from the
   * CLI. A refusal keeps the revision waiting, with the reason in status, and asks again at
   * every trigger.
   */
  gate?(manual: boolean): Promise<{ allowed: boolean; reason: string }>;
  /** A new revision starts being applied by the leader. */
  applying?(revision: string, message: string | undefined): void;
  /** Every sync recorded, with whether this replica led it. */
  recorded?(record: SyncRecord, leading: boolean): void;
}

export interface RevisionSyncOptions extends RevisionSyncHooks {
  source: SnapshotSource;
  /** Asked for image digests, and for the live services their pins are compared with. */
  registry: ImageRegistry & Pick<SwarmReader, 'listServices'>;
  reconciler: Reconciler;
  queue: WorkQueue;
  status: StatusStore;
  clock: Clock;
  /** The poll interval's jitter (±10%). */
  random: Random;
  log: Logger;
  metrics: RevisionSyncMetricsSink;
  /** Every key of the apply set onto the work queue. */
  enqueueAll(): Promise<void>;
  /** True while this replica holds the apply set's lease. */
  isLeader(): boolean;
  /**
   * False while the last lease round found the Swarm unable to answer (swarm-outage.ts): the
   * polls then do not sync (a sync reads the Swarm), and the lease round that finds it again
   * starts the sync. Default: always true.
   */
  swarmAnswers?(): boolean;
  pollIntervalMs: number;
  /** How long a sync waits for its objects to settle before recording its result. */
  syncTimeoutMs: number;
  resolveImage: ResolveImageMode;
  /** --image-check: how often every image's digest is asked for again; 0: never. */
  imageCheckMs: number;
}

export class RevisionSync {
  readonly images: ImageWatch;
  private readonly abort = new AbortController();
  private syncing: Promise<void> | undefined;
  private pendingTrigger: SyncTrigger | undefined;
  /** Set while a sync waits for its objects to settle: ends that wait when a newer revision is found. */
  private supersede: ((revision: string) => void) | undefined;
  private peeking = false;
  private stopped = false;

  constructor(private readonly o: RevisionSyncOptions) {
    this.images = new ImageWatch(
      o.registry,
      { mode: o.resolveImage, checkIntervalMs: o.imageCheckMs },
      o.log,
      o.metrics,
      () => o.clock.now(),
    );
  }

  /** Starts the poll loop (its first sync at once) and the image check; returns at once. */
  start(): void {
    void this.pollLoop();
    if (this.o.imageCheckMs > 0) void this.imageCheckLoop();
  }

  /** Stops triggering; a sync waiting for its objects stops waiting. */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }

  /** Asks for a sync now; coalesces with one in progress (which then looks for a newer revision). */
  trigger(trigger: SyncTrigger): void {
    if (this.syncing) {
      // A poll does not replace another pending trigger: a poll that finds nothing new returns
      // at once, and the startup sync of a replica that takes the lease again must still apply
      // what it loaded as a standby.
      if (trigger !== 'poll' || !this.pendingTrigger) this.pendingTrigger = trigger;
      if (this.supersede && trigger !== 'startup') void this.lookForNewerRevision();
      return;
    }
    this.syncing = this.sync(trigger).finally(() => {
      this.syncing = undefined;
      const next = this.pendingTrigger;
      this.pendingTrigger = undefined;
      if (next && !this.stopped) this.trigger(next);
    });
  }

  /**
   * A poll or webhook while a sync waits for its objects: fetch the source, and if it holds a
   * newer revision, stop that wait so the newer revision is applied now, not after every
   * service of the older one has converged (which after a lost node takes as long as Swarm
   * needs to notice it). The objects still converging go on being watched by the queue.
   */
  private async lookForNewerRevision(): Promise<void> {
    if (this.peeking) return;
    this.peeking = true;
    try {
      const snapshot = await this.o.source.fetch();
      if (snapshot.revision !== this.o.reconciler.desired?.revision) this.supersede?.(snapshot.revision);
    } catch {
      // the next sync reports a source that cannot be read
    } finally {
      this.peeking = false;
    }
  }

  private async sync(trigger: SyncTrigger): Promise<void> {
    const { clock, reconciler, status } = this.o;
    const started = clock.now();
    const record = (r: Omit<SyncRecord, 'trigger' | 'startedAt' | 'durationMs'>) => {
      const durationMs = clock.now() - started;
      const full: SyncRecord = { trigger, startedAt: new Date(started).toISOString(), durationMs, ...r };
      status.recordSync(full);
      try {
        this.o.recorded?.(full, this.o.isLeader() && !status.suspended);
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'a sync listener failed');
      }
      this.o.metrics.sync(r.result, durationMs / 1000, clock.now() / 1000);
      const level = r.result === 'success' ? 'info' : r.result === 'waiting' ? 'warn' : 'error';
      this.o.log[level](
        { event: 'sync', ...full },
        `sync ${r.result}${r.revision ? ` at ${r.revision.slice(0, 12)}` : ''}`,
      );
    };
    let snapshot;
    try {
      snapshot = await this.o.source.fetch();
    } catch (err) {
      record({ result: 'fetch-failed', detail: (err as Error).message });
      return;
    }
    const message = snapshot.message ? { message: snapshot.message } : {};
    const keeping = () =>
      `revision not applied, ${reconciler.desired ? `still applying ${reconciler.desired.revision.slice(0, 12)}` : 'nothing applied yet'}`;
    const changed = snapshot.revision !== reconciler.desired?.revision;
    if (changed) {
      let options: LoadOptions;
      try {
        options = (await this.o.loadOptions?.()) ?? {};
      } catch (err) {
        record({
          revision: snapshot.revision,
          ...message,
          result: 'invalid',
          detail: `${codeOf(err)}${(err as Error).message}; ${keeping()}`,
        });
        return;
      }
      const loaded = await loadManifests([snapshot.dir], undefined, options);
      const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length) {
        record({
          revision: snapshot.revision,
          ...message,
          result: 'invalid',
          detail: `${errors.length} problem(s); ${keeping()}: ${firstLines(errors, snapshot.dir)}`,
        });
        return;
      }
      let images;
      try {
        images = await this.images.forRevision(loaded.desired, await this.o.registry.listServices());
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
          ...message,
          result: 'invalid',
          detail: `${images.problems.length} image(s) refused by their registry; ${keeping()}: ${images.problems.map((p) => `${servicesNaming(p)}: ${p.error.message}`).join('; ')}`,
        });
        return;
      }
      this.o.loaded?.(snapshot.revision, loaded);
      const gate = await this.o.gate?.(trigger === 'manual');
      if (gate && !gate.allowed) {
        const waiting = `revision ${snapshot.revision.slice(0, 12)} waits: ${gate.reason}`;
        if (status.waiting !== waiting || trigger === 'manual')
          record({ revision: snapshot.revision, ...message, result: 'waiting', detail: waiting });
        status.waiting = waiting;
        status.pendingRevision = snapshot.revision;
        return;
      }
      status.waiting = undefined;
      status.pendingRevision = undefined;
      if (gate?.reason && trigger === 'manual')
        this.o.log.info({ event: 'sync.manual', reason: gate.reason }, gate.reason);
      reconciler.desired = { revision: snapshot.revision, desired: images.desired };
      status.revision = snapshot.revision;
    }
    if (!changed && trigger === 'poll') return; // nothing new: the resync loop keeps things level
    if (!this.o.isLeader() || status.suspended) {
      record({
        revision: snapshot.revision,
        result: 'success',
        detail: status.suspended ? 'loaded; not applied while suspended' : 'loaded; applied by the leader',
      });
      return;
    }
    if (changed) this.o.applying?.(snapshot.revision, snapshot.message);
    await this.o.enqueueAll();
    const ended = await this.settle();
    const drained = ended.how === 'settled';
    const objects = status.toJSON().objects;
    const failed = objects.filter((o) => o.phase === 'Failed' || o.phase === 'Stalled');
    status.synced = true;
    if (drained) await this.collectOldVersions();
    const failures = failed.length ? `${failed.length} object(s) failed: ${failed.map((f) => f.id).join(', ')}` : '';
    if (ended.how === 'superseded') {
      const waiting = objects.filter((o) => o.phase === 'Progressing' || o.phase === 'Pending').map((o) => o.id);
      record({
        revision: snapshot.revision,
        ...message,
        result: failed.length ? 'failed' : 'success',
        detail: `${failures ? `${failures}; ` : ''}revision ${ended.newer.slice(0, 12)} arrived while ${waiting.length} object(s) were converging (${waiting.join(', ')}): applying it now`,
      });
      return;
    }
    record({
      revision: snapshot.revision,
      ...message,
      result: failed.length || !drained ? 'failed' : 'success',
      detail: !drained
        ? `not finished after ${this.o.syncTimeoutMs / 1000}s`
        : failures || (changed ? 'applied' : 'in sync'),
    });
  }

  /**
   * Waits until the enqueued keys settle, a newer revision supersedes this one, or the sync
   * times out, whichever comes first; then stops the other waits.
   */
  private async settle(): Promise<{ how: 'settled' | 'timeout' } | { how: 'superseded'; newer: string }> {
    const over = new AbortController();
    const signal = AbortSignal.any([over.signal, this.abort.signal]);
    const superseded = new Promise<{ how: 'superseded'; newer: string }>(
      (resolve) => (this.supersede = (newer) => resolve({ how: 'superseded', newer })),
    );
    try {
      return await Promise.race([
        // Stopping ends this wait too, and the sync is recorded as it stands.
        this.settled(signal).then(() => ({ how: 'settled' as const })),
        this.o.clock.sleep(this.o.syncTimeoutMs, over.signal).then(() => ({ how: 'timeout' as const })),
        superseded,
      ]);
    } finally {
      this.supersede = undefined;
      over.abort();
    }
  }

  /** Resolves when nothing is queued or in flight and no object is Progressing or Pending (or `signal` aborts). */
  private async settled(signal: AbortSignal): Promise<void> {
    for (;;) {
      await this.o.queue.idle();
      // Listen before looking, so a status recorded in between is not missed.
      const next = this.o.status.nextChange(signal);
      if (!this.o.status.converging || signal.aborted) return;
      await next;
    }
  }

  private async collectOldVersions(): Promise<void> {
    try {
      const removed = await this.o.reconciler.collectOldVersions();
      if (removed.length)
        this.o.log.info(
          { event: 'versions.collected', removed },
          `removed ${removed.length} old config/secret version(s)`,
        );
    } catch (err) {
      this.o.log.warn(
        { err: (err as Error).message },
        'could not collect old config/secret versions; will retry at the next sync',
      );
    }
  }

  private async pollLoop(): Promise<void> {
    // the first sync runs when the lease is settled too (the lease round); standbys still load and validate
    this.trigger('startup');
    while (!this.stopped) {
      const jitter = 0.9 + this.o.random() * 0.2;
      const wait = Math.round(this.o.pollIntervalMs * jitter);
      this.o.status.nextSyncAt = this.o.clock.now() + wait;
      await this.o.clock.sleep(wait, this.abort.signal);
      if (!this.stopped && (this.o.swarmAnswers?.() ?? true)) this.trigger('poll');
    }
  }

  /** --image-check: every image asked for again; a moved digest is rolled out like any change. */
  private async imageCheckLoop(): Promise<void> {
    const { reconciler, status } = this.o;
    while (!this.stopped) {
      await this.o.clock.sleep(this.o.imageCheckMs, this.abort.signal);
      const current = reconciler.desired;
      if (this.stopped || !this.o.isLeader() || status.suspended || !current) continue;
      try {
        const updated = await this.images.check(current.desired);
        // A sync may have brought a newer revision meanwhile: it has its own pins.
        if (updated && reconciler.desired === current) {
          reconciler.desired = { ...current, desired: updated };
          await this.o.enqueueAll();
        }
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'image check failed; trying again at the next interval');
      }
    }
  }
}

/** "error SC8102: " for an error that carries a code (as the command line prints it), else "". */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^SC\d{4}$/.test(code) && !(err as Error).message.startsWith('error ')
    ? `error ${code}: `
    : '';
}

/** The first line of the first five problems, with paths relative to the checkout. */
function firstLines(errors: Diagnostic[], dir: string): string {
  return errors
    .slice(0, 5)
    .map(
      (d) =>
        formatDiagnostic({
          ...d,
          ...(d.position ? { position: { ...d.position, file: d.position.file.replace(dir + '/', '') } } : {}),
        }).split('\n')[0],
    )
    .join('; ');
}
