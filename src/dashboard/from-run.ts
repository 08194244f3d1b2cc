/**
 * The dashboard state of `controller run`, from its own memory: its ControllerStatus (status.ts)
 * and route status (route-sync.ts) turned into status documents of the format v1
 * (src/status/format.ts), as the leader also writes them into the Swarm, so the page renders one
 * shape whichever side serves it. Pure.
 */
import type { ControllerStatus } from '../controller/status.js';
import type { RouteSyncStatus } from '../routes/route-sync.js';
import {
  statusApiVersion,
  type AppStatusDocument,
  type RoutesStatusDocument,
  type SyncState,
} from '../status/format.js';
import { dashboardStateVersion, type DashboardState } from './state.js';

export interface RunSnapshot {
  status: ControllerStatus;
  routes?: RouteSyncStatus;
  version: string;
  /** Actions are enabled (a dashboard token is configured). */
  actions: boolean;
  now: number;
}

/** Synced, Progressing, Degraded, SyncFailed or Unknown, as the status format defines them. */
export function syncStateOf(s: Pick<ControllerStatus, 'revision' | 'lastSync' | 'counts'>): SyncState {
  if (s.lastSync && s.lastSync.result !== 'success') return 'SyncFailed';
  if (!s.revision && !s.lastSync) return 'Unknown';
  if (s.counts.Failed + s.counts.Stalled > 0) return 'Degraded';
  if (s.counts.Progressing + s.counts.Pending > 0) return 'Progressing';
  return s.lastSync ? 'Synced' : 'Progressing';
}

export function runDashboardState(r: RunSnapshot): DashboardState {
  const s = r.status;
  const writtenAt = new Date(r.now).toISOString();
  const carrier = {
    apiVersion: statusApiVersion,
    sequence: 0,
    writtenAt,
    writer: { identity: s.identity, version: r.version },
    heartbeatMs: 0,
  } as const;
  const app: AppStatusDocument = {
    ...carrier,
    kind: 'ApplySet',
    name: s.applySet,
    applySet: s.applySet,
    source: s.source,
    leader: s.leader,
    suspended: s.suspended,
    ...(s.suspendedReason ? { suspendedReason: s.suspendedReason } : {}),
    driftMode: s.driftMode,
    ...(s.revision ? { revision: s.revision } : {}),
    syncState: syncStateOf(s),
    ...(s.lastSync ? { lastSync: s.lastSync } : {}),
    ...(s.nextSyncAt ? { nextSyncAt: s.nextSyncAt } : {}),
    history: s.syncs,
    objects: s.objects,
    counts: s.counts,
    drifted: s.objects.filter((o) => 'drift' in o && o.drift).length,
    ...(s.images ? { images: s.images } : {}),
  };
  let routes: RoutesStatusDocument | undefined;
  if (r.routes) {
    const x = r.routes;
    routes = {
      ...carrier,
      kind: 'Routes',
      name: x.proxyService,
      proxyService: x.proxyService,
      proxyNetwork: x.proxyNetwork,
      active: x.active,
      ...(x.note ? { note: x.note } : {}),
      generation: x.generation,
      checksum: x.checksum,
      served: x.served.map((v) => ({
        route: v.route,
        hosts: v.hosts,
        pathPrefix: v.pathPrefix,
        backends: v.backends.map((b) => ({ service: b.service, weight: b.weight, servers: [] })),
      })),
      broken: x.broken,
      unreadable: x.unreadable,
      replicas: x.replicas,
      lastChangeAt: x.lastChangeAt,
      lastError: x.lastError,
    };
  }
  return {
    version: dashboardStateVersion,
    at: writtenAt,
    origin: 'run',
    server: s.identity,
    actions: r.actions,
    apps: [{ document: app, stale: false, ageMs: 0 }],
    routes: routes ? { document: routes, stale: false, ageMs: 0 } : null,
    problems: [],
  };
}
