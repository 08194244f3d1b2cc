/**
 * The dashboard's wire format: what GET /dashboard/api/state returns and every server-sent
 * `state` event carries. It is the status documents of the status format v1
 * (src/status/format.ts: apply sets or apps, and the route tier) as the serving side has them,
 * plus whether actions are enabled and what could not be read. Pure types and a comparison;
 * the browser code imports these types only (erased when compiled).
 */
import type { AppStatusDocument, RoutesStatusDocument } from '../status/format.js';

export const dashboardStateVersion = 1;

/** One status document with what the reader knows of its freshness. */
export interface DashboardEntry<D> {
  document: D;
  /** Older than three heartbeats (a leader gone or unable to write); never for a run's own status. */
  stale: boolean;
  /** Milliseconds since it was written. */
  ageMs: number;
}

export interface DashboardState {
  version: typeof dashboardStateVersion;
  /** The server's time when the state was put together (ISO 8601). */
  at: string;
  /** `run`: served by controller run from its own memory; `swarm`: controller dashboard, read from the Swarm. */
  origin: 'run' | 'swarm';
  /** Who serves it (the run's identity, or "dashboard@host"). */
  server: string;
  /** Actions (sync now, suspend, resume) are enabled: a token is configured. They still need it per request. */
  actions: boolean;
  apps: DashboardEntry<AppStatusDocument>[];
  /** The route tier; null when no controller pushes routes (or --no-routes). */
  routes: DashboardEntry<RoutesStatusDocument> | null;
  /** Status documents that could not be read, as messages. */
  problems: string[];
}

/** The actions the dashboard offers; each needs the token. */
export const dashboardActions = ['sync', 'suspend', 'resume'] as const;
export type DashboardAction = (typeof dashboardActions)[number];

/**
 * The state as sent, without the fields that change on every read (`at`, the ages), so two
 * reads of an unchanged Swarm compare equal and no event is sent.
 */
export function stateFingerprint(s: DashboardState): string {
  return JSON.stringify({
    ...s,
    at: '',
    apps: s.apps.map((a) => ({ ...a, ageMs: 0 })),
    routes: s.routes ? { ...s.routes, ageMs: 0 } : null,
  });
}
