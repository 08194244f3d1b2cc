/**
 * The dashboard state of `controller run`, from its own memory: its ControllerStatus and route
 * status made into status documents of the format v1 by the same functions its status publisher
 * uses (src/controller/status-document.ts), so the page renders one shape whichever side serves
 * it. Pure.
 */
import { appStatusBody, routesStatusBody } from '../controller/status-document.js';
import type { ControllerStatus } from '../controller/status.js';
import type { RouteSyncStatus } from '../routes/route-sync.js';
import { statusApiVersion, type RolloutStatusEntry } from '../status/format.js';
import { dashboardStateVersion, type DashboardState } from './state.js';

export interface RunSnapshot {
  status: ControllerStatus;
  routes?: RouteSyncStatus;
  /** The rollouts, in the status shape (src/rollout/rollout-status.ts). */
  rollouts?: RolloutStatusEntry[];
  version: string;
  /** Actions are enabled (a dashboard token is configured). */
  actions: boolean;
  now: number;
}

export function runDashboardState(r: RunSnapshot): DashboardState {
  const writtenAt = new Date(r.now).toISOString();
  // The carrier's fields as a publisher would fill them; from memory there is no sequence and no heartbeat.
  const carrier = {
    apiVersion: statusApiVersion,
    sequence: 0,
    writtenAt,
    writer: { identity: r.status.identity, version: r.version },
    heartbeatMs: 0,
  } as const;
  const app = { ...carrier, ...appStatusBody(r.status) };
  const routes = r.routes ? { ...carrier, ...routesStatusBody(r.routes, r.rollouts) } : undefined;
  return {
    version: dashboardStateVersion,
    at: writtenAt,
    origin: 'run',
    server: r.status.identity,
    actions: r.actions,
    apps: [{ document: app, stale: false, ageMs: 0 }],
    routes: routes ? { document: routes, stale: false, ageMs: 0 } : null,
    problems: [],
  };
}
