/**
 * The dashboard as `controller run` serves it on its own HTTP server: the state from the run's
 * memory (from-run.ts), read every second while a page is open, and the actions carried out
 * here: sync now (as the webhook does: a standby forwards it to the leader through the state
 * record), suspend and resume (the shared suspend record, as `controller suspend` writes it).
 */
import { readFileSync } from 'node:fs';
import type { SwarmRecords } from '../api/swarm-access.js';
import type { ControllerStatus } from '../controller/status.js';
import { SuspendRecord } from '../controller/suspend-record.js';
import type { SyncTrigger } from '../controller/revision-sync.js';
import type { Clock } from '../queue/clock.js';
import type { RouteSyncStatus } from '../routes/route-sync.js';
import type { RolloutStatusEntry } from '../status/format.js';
import { runDashboardState } from './from-run.js';
import { dashboardHandler, type DashboardHandler } from './server.js';
import type { DashboardAction } from './state.js';

export interface RunDashboardOptions {
  applySet: string;
  status(): ControllerStatus;
  routes(): RouteSyncStatus | undefined;
  /** The rollouts of the apply set (absent: no rollout controller). */
  rollouts?(): RolloutStatusEntry[];
  triggerSync(trigger: SyncTrigger): void;
  records: SwarmRecords;
  version: string;
  /** --dashboard-token-file; absent: read-only. */
  tokenFile?: string;
  clock: Clock;
}

/** Reads the token file (trimmed); an empty file is refused rather than enabling an empty token. */
export function readDashboardToken(file: string | undefined): string {
  if (!file) return '';
  const token = readFileSync(file, 'utf8').trim();
  if (!token) throw new Error(`--dashboard-token-file ${file} is empty`);
  return token;
}

export function runDashboard(o: RunDashboardOptions): DashboardHandler {
  const token = readDashboardToken(o.tokenFile);
  return dashboardHandler({
    token,
    pollMs: 1000,
    clock: o.clock,
    state: async () => {
      const routes = o.routes();
      return runDashboardState({
        status: o.status(),
        ...(routes ? { routes } : {}),
        ...(o.rollouts ? { rollouts: o.rollouts() } : {}),
        version: o.version,
        actions: token !== '',
        now: o.clock.now(),
      });
    },
    act: async (action: DashboardAction, set: string) => {
      if (set !== o.applySet) throw new Error(`this controller runs apply set "${o.applySet}", not "${set}"`);
      if (action === 'sync') {
        o.triggerSync('webhook');
        return `sync of "${set}" requested`;
      }
      return setSuspended(new SuspendRecord({ records: o.records, applySet: set, clock: o.clock }), set, action);
    },
  });
}

/** Suspend or resume from the dashboard: the shared suspend record, as `controller suspend` and `resume` write it. */
export async function setSuspended(record: SuspendRecord, set: string, action: 'suspend' | 'resume'): Promise<string> {
  await record.setSuspended(action === 'suspend', action === 'suspend' ? 'suspended from the dashboard' : undefined);
  return action === 'suspend'
    ? `apply set "${set}" suspended: reconciling stops within a lease round`
    : `apply set "${set}" resumed`;
}
