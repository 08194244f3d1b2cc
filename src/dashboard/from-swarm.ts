/**
 * The dashboard state of `controller dashboard`, from a read of the status documents in the
 * Swarm (src/status/reader.ts): every apply set or app the leaders wrote, the route tier's
 * document (the first, when several proxy tiers wrote one), and the documents that could not be
 * read, as messages. Pure.
 */
import type { StatusRead } from '../status/reader.js';
import { isAppStatus, isRoutesStatus } from '../status/reader.js';
import { dashboardStateVersion, type DashboardState } from './state.js';

export function swarmDashboardState(
  read: StatusRead,
  o: { server: string; actions: boolean; now: number },
): DashboardState {
  const apps = read.statuses.filter(isAppStatus);
  const routes = read.statuses.filter(isRoutesStatus)[0];
  const entry = <D>(s: { document: D; stale: boolean; ageMs: number }) => ({
    document: s.document,
    stale: s.stale,
    ageMs: s.ageMs,
  });
  return {
    version: dashboardStateVersion,
    at: new Date(o.now).toISOString(),
    origin: 'swarm',
    server: o.server,
    actions: o.actions,
    apps: apps.map(entry),
    routes: routes ? entry(routes) : null,
    problems: read.problems.map((p) => p.message),
  };
}
