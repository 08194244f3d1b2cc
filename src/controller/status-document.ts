/**
 * Turns what `controller run` knows (status.ts's ControllerStatus, route-sync.ts's status) into
 * the bodies of the status format's documents (src/status/format.ts). Pure; the publisher adds
 * the carrier's fields (sequence, time, writer) and writes them.
 */
import type { RouteSyncStatus } from '../routes/route-sync.js';
import type { AppStatusDocument, RolloutStatusEntry, RoutesStatusDocument, SyncState } from '../status/format.js';
import type { ControllerStatus } from './status.js';

/** The fields a publisher fills in. */
type CarrierFields = 'apiVersion' | 'sequence' | 'writtenAt' | 'writer' | 'heartbeatMs' | 'truncated';
export type AppStatusBody = Omit<AppStatusDocument, CarrierFields>;
export type RoutesStatusBody = Omit<RoutesStatusDocument, CarrierFields>;
export type StatusBody = AppStatusBody | RoutesStatusBody;

export function syncState(s: Pick<ControllerStatus, 'revision' | 'lastSync' | 'counts'>): SyncState {
  if (s.lastSync && s.lastSync.result !== 'success') return 'SyncFailed';
  if (!s.revision && !s.lastSync) return 'Unknown';
  if (s.counts.Failed + s.counts.Stalled > 0) return 'Degraded';
  if (s.counts.Progressing + s.counts.Pending > 0) return 'Progressing';
  return s.lastSync ? 'Synced' : 'Progressing';
}

export function appStatusBody(s: ControllerStatus, kind: 'ApplySet' | 'App' = 'ApplySet'): AppStatusBody {
  return {
    kind,
    name: s.applySet,
    applySet: s.applySet,
    source: s.source,
    leader: s.leader,
    suspended: s.suspended,
    ...(s.suspendedReason ? { suspendedReason: s.suspendedReason } : {}),
    driftMode: s.driftMode,
    ...(s.revision ? { revision: s.revision } : {}),
    syncState: syncState(s),
    ...(s.lastSync ? { lastSync: s.lastSync } : {}),
    ...(s.nextSyncAt ? { nextSyncAt: s.nextSyncAt } : {}),
    history: s.syncs,
    objects: s.objects,
    counts: s.counts,
    drifted: s.objects.filter((o) => o.drift).length,
    ...(s.images ? { images: s.images } : {}),
    ...(s.pendingRevision ? { pendingRevision: s.pendingRevision } : {}),
    ...(s.waiting ? { waiting: s.waiting } : {}),
  };
}

/** The route tier's body; `rollouts` (already in the status shape) when the rollout controller runs. */
export function routesStatusBody(r: RouteSyncStatus, rollouts?: RolloutStatusEntry[]): RoutesStatusBody {
  return {
    kind: 'Routes',
    name: r.proxyService,
    proxyService: r.proxyService,
    proxyNetwork: r.proxyNetwork,
    active: r.active,
    ...(r.note ? { note: r.note } : {}),
    generation: r.generation,
    checksum: r.checksum,
    served: r.served.map((x) => ({
      route: x.route,
      hosts: x.hosts,
      pathPrefix: x.pathPrefix,
      backends: x.backends.map((b) => ({ service: b.service, weight: b.weight, servers: b.members ?? [] })),
    })),
    broken: r.broken,
    unreadable: r.unreadable,
    replicas: r.replicas,
    ...(r.observeIntervalMs !== undefined ? { observeIntervalMs: r.observeIntervalMs } : {}),
    ...(rollouts?.length ? { rollouts } : {}),
    lastChangeAt: r.lastChangeAt,
    lastError: r.lastError,
  };
}
