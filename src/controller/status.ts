/**
 * What `controller run` knows about itself, for /status, `controller status`, /readyz and
 * logs: the source and revision, each object's phase (Ready, Progressing, Failed or Stalled
 * with the reason), the recent syncs, leadership and suspension. Holds no secrets: it is built from
 * plans, which mask secret values, and from outcomes.
 */

import type { RouteSyncStatus } from '../routes/route-sync.js';
import type { ObjectDrift, ObjectPhase, SyncEntry } from '../status/format.js';
import type { ImageStatus } from './image-watch.js';
import type { SwarmAccessStatus } from './swarm-outage.js';

/**
 * Failed: the last attempt failed and the object is retried with backoff (or it is blocked, or
 * drifted under --drift=report). Stalled: a terminal error; not retried until something changes
 * (a new revision, a Swarm event on the object) or the next resync.
 */
export type Phase = ObjectPhase;

export interface ObjectStatus {
  id: string;
  kind: string;
  swarmName: string;
  phase: Phase;
  reason: string;
  /** The revision of the manifests this status was computed against. */
  revision?: string;
  updatedAt: string;
  /** The last drift seen; kept across later phases until the object is removed. */
  drift?: ObjectDrift;
}

export type { SyncResult } from '../status/format.js';

/** One sync, as the status format records it. */
export type SyncRecord = SyncEntry;

export interface ControllerStatus {
  identity: string;
  applySet: string;
  source: string;
  role: 'leader' | 'standby';
  leader: string;
  suspended: boolean;
  suspendedReason?: string;
  driftMode: 'repair' | 'report';
  /** The revision whose manifests are being applied (the last good one). */
  revision?: string;
  /** A newer valid revision held back (sync window, dependency), and why. */
  pendingRevision?: string;
  waiting?: string;
  lastSync?: SyncRecord;
  nextSyncAt?: string;
  syncs: SyncRecord[];
  objects: ObjectStatus[];
  counts: Record<Phase, number>;
  /** The route reconciler: the table pushed to the proxy tier and each replica's state; absent with --no-routes. */
  routes?: RouteSyncStatus;
  /** Image digests: --resolve-image, --image-check and what the last check found. */
  images?: ImageStatus;
  /** Whether the Swarm takes writes, as the last lease round found; since when and why not (swarm-outage.ts). */
  swarm?: SwarmAccessStatus;
}

export class StatusStore {
  private readonly objects = new Map<string, ObjectStatus>();
  private readonly syncs: SyncRecord[] = [];
  private waiters: (() => void)[] = [];
  private readonly listeners: ((o: ObjectStatus) => void)[] = [];
  role: 'leader' | 'standby' = 'standby';
  leader = '';
  suspended = false;
  suspendedReason: string | undefined;
  revision: string | undefined;
  pendingRevision: string | undefined;
  waiting: string | undefined;
  nextSyncAt: number | undefined;
  /** True once a revision has been loaded and reconciled at least once. */
  synced = false;

  constructor(
    private readonly fixed: { identity: string; applySet: string; source: string; driftMode: 'repair' | 'report' },
    private readonly now: () => number = Date.now,
  ) {}

  /** Records an object's phase; `updatedAt` moves only when phase or reason change, a drift seen earlier is kept. */
  setObject(s: Omit<ObjectStatus, 'updatedAt'>): void {
    const before = this.objects.get(s.id);
    const drift = s.drift ?? before?.drift;
    const same = before && before.phase === s.phase && before.reason === s.reason && before.revision === s.revision;
    const o: ObjectStatus = {
      ...s,
      updatedAt: same ? before.updatedAt : new Date(this.now()).toISOString(),
      ...(drift ? { drift } : {}),
    };
    this.objects.set(s.id, o);
    this.changed();
    for (const l of this.listeners) l(o);
  }

  /** Called with every object status recorded (an app's notices: drift, rollback). */
  onObject(listener: (o: ObjectStatus) => void): void {
    this.listeners.push(listener);
  }

  removeObject(id: string): void {
    this.objects.delete(id);
    this.changed();
  }

  /** The store's clock, as status timestamps are written. */
  nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  /** True while an object is Progressing or Pending: a sync that applied something waits for none. */
  get converging(): boolean {
    for (const o of this.objects.values()) if (o.phase === 'Progressing' || o.phase === 'Pending') return true;
    return false;
  }

  /** Resolves at the next object status recorded (set or removed), or at once when `signal` aborts. */
  nextChange(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        this.waiters = this.waiters.filter((w) => w !== done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private changed(): void {
    for (const w of [...this.waiters]) w();
  }

  object(id: string): ObjectStatus | undefined {
    return this.objects.get(id);
  }

  recordSync(r: SyncRecord): void {
    this.syncs.unshift(r);
    this.syncs.length = Math.min(this.syncs.length, 20);
  }

  get lastSync(): SyncRecord | undefined {
    return this.syncs[0];
  }

  toJSON(): ControllerStatus {
    const objects = [...this.objects.values()].sort((a, b) => a.id.localeCompare(b.id));
    const counts: Record<Phase, number> = { Ready: 0, Progressing: 0, Failed: 0, Stalled: 0, Pending: 0 };
    for (const o of objects) counts[o.phase]++;
    return {
      ...this.fixed,
      role: this.role,
      leader: this.leader,
      suspended: this.suspended,
      ...(this.suspendedReason ? { suspendedReason: this.suspendedReason } : {}),
      ...(this.revision ? { revision: this.revision } : {}),
      ...(this.pendingRevision ? { pendingRevision: this.pendingRevision } : {}),
      ...(this.waiting ? { waiting: this.waiting } : {}),
      ...(this.syncs[0] ? { lastSync: this.syncs[0] } : {}),
      ...(this.nextSyncAt ? { nextSyncAt: new Date(this.nextSyncAt).toISOString() } : {}),
      syncs: this.syncs,
      objects,
      counts,
    };
  }
}

/** `controller status`: the status for a person. */
export function renderStatus(s: ControllerStatus): string {
  const lines = [
    `swarm-controller ${s.identity}: ${s.role}${s.role === 'standby' && s.leader ? ` (leader: ${s.leader})` : ''}${s.suspended ? `, SUSPENDED${s.suspendedReason ? ` (${s.suspendedReason})` : ''}` : ''}`,
    `apply set "${s.applySet}" from ${s.source}, drift: ${s.driftMode}`,
    `revision: ${s.revision ?? '(none yet)'}`,
  ];
  if (s.lastSync) {
    const l = s.lastSync;
    lines.push(
      `last sync: ${l.result} at ${l.startedAt} (${(l.durationMs / 1000).toFixed(1)}s, ${l.trigger}${l.revision ? `, ${l.revision.slice(0, 12)}` : ''})${l.detail ? `: ${l.detail}` : ''}`,
    );
  }
  if (s.waiting) lines.push(`waiting: ${s.waiting}`);
  if (s.nextSyncAt) lines.push(`next sync: ${s.nextSyncAt}`);
  lines.push(
    `objects: ${s.counts.Ready} ready, ${s.counts.Progressing} progressing, ${s.counts.Failed} failed, ${s.counts.Stalled ?? 0} stalled, ${s.counts.Pending} pending`,
  );
  for (const o of s.objects)
    if (o.phase !== 'Ready') lines.push(`  ${o.phase.padEnd(11)} ${o.id}${o.reason ? `: ${o.reason}` : ''}`);
  if (s.images) lines.push(...renderImages(s.images));
  if (s.routes) lines.push(...renderRoutes(s.routes));
  return lines.join('\n') + '\n';
}

function renderImages(i: ImageStatus): string[] {
  const every = i.checkIntervalMs ? `checked every ${i.checkIntervalMs / 1000}s` : 'not checked between revisions';
  const lines = [`images: --resolve-image ${i.mode}, ${i.pinned} pinned to a digest, ${every}`];
  const c = i.lastCheck;
  if (c) {
    lines.push(
      `  last check ${c.at}: ${c.checked} image(s), ${c.changed.length} new digest(s), ${c.failed.length} failed`,
    );
    for (const x of c.failed) lines.push(`  failed ${x.image}: ${x.error}`);
  }
  if (i.lastChange) {
    lines.push(`  last new digest found ${i.lastChange.at}:`);
    for (const x of i.lastChange.changed) lines.push(`    ${x.image}: ${x.from ?? '(none)'} -> ${x.to}`);
  }
  return lines;
}

function renderRoutes(r: RouteSyncStatus): string[] {
  if (!r.active) return [`routes: not pushed here${r.note ? ` (${r.note})` : ''}`];
  const inSync = r.replicas.filter((x) => x.inSync).length;
  const lines = [
    `routes: generation ${r.generation}, ${r.routes} route(s), ${r.servers} server(s); proxy ${r.proxyService}: ${inSync}/${r.replicas.length} replica(s) in sync${r.note ? ` (${r.note})` : ''}`,
  ];
  for (const b of r.broken) lines.push(`  Broken      ${b.route}: ${b.problem}`);
  for (const u of r.unreadable) lines.push(`  Unreadable  ${u.configName}: ${u.problem}`);
  for (const x of r.replicas)
    if (!x.inSync)
      lines.push(
        `  Behind      ${x.task} (${x.address}) at generation ${x.generation ?? '?'}${x.lastError ? `: ${x.lastError}` : ''}`,
      );
  if (r.lastError) lines.push(`  last error: ${r.lastError}`);
  return lines;
}
