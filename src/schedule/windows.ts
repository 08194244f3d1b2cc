/**
 * Sync windows: when `controller run` may change the Swarm. A pure function of the windows, an
 * instant and whether the sync was asked for by hand, with Argo CD's rules:
 *  - no windows: every sync may run;
 *  - an open deny window blocks every sync; a manual one passes only when EVERY open deny window
 *    has manualSync (deny wins over allow: an open allow window does not help);
 *  - otherwise an open allow window lets every sync run;
 *  - otherwise, when there are allow windows (all closed), syncs wait for one to open; a manual
 *    one passes when ANY of them has manualSync;
 *  - otherwise (only deny windows, all closed) every sync may run.
 * The answer says why, and until when it holds, in words a status line can show.
 */

import type { CronSchedule } from './cron.js';
import { nextStart, openInterval } from './occurrences.js';
import { formatWallClock } from './zoned-time.js';

export type WindowKind = 'allow' | 'deny';

/** A window as a user writes it (the manifest's and the flags' shape; see window-schema.ts). */
export interface SyncWindowSpec {
  name: string;
  kind: WindowKind;
  /** Cron, five fields, in timeZone: when the window opens. */
  schedule: string;
  /** How long it stays open after each start ("8h", "30m", "1h30m"): elapsed time. */
  duration: string;
  /** IANA zone name; default UTC. */
  timeZone?: string;
  /** A manual sync may run despite this window. Default false. */
  manualSync?: boolean;
}

/** A window ready to evaluate (compile-windows.ts makes these from specs, with diagnostics). */
export interface SyncWindow {
  name: string;
  kind: WindowKind;
  schedule: CronSchedule;
  durationMs: number;
  timeZone: string;
  manualSync: boolean;
}

export interface SyncDecision {
  allowed: boolean;
  /** One line for status and logs: which windows decided, and until when. */
  reason: string;
  /** The windows that decided, by name (empty when none applies). */
  windows: string[];
  /**
   * When the answer changes next (ms): for a refusal, when a sync may run; for a permission
   * that windows limit, when it ends. Absent when nothing changes within the search horizon.
   */
  until?: number;
  /** True when the sync passes only because it is manual and the windows allow that. */
  manualOverride: boolean;
}

/** How far ahead `until` is looked for: a year and a bit, in at most this many window edges. */
export const untilHorizonMs = 400 * 86_400_000;
const maxEdges = 1000;

interface Verdict {
  allowed: boolean;
  manualOverride: boolean;
  why: 'none' | 'deny' | 'allow' | 'outside-allow' | 'deny-closed';
  windows: SyncWindow[];
}

function verdictAt(windows: readonly SyncWindow[], at: number, manual: boolean): Verdict {
  if (windows.length === 0) return { allowed: true, manualOverride: false, why: 'none', windows: [] };
  const open = windows.filter((w) => openInterval(w.schedule, w.timeZone, w.durationMs, at) !== undefined);
  const denies = open.filter((w) => w.kind === 'deny');
  if (denies.length > 0) {
    const pass = manual && denies.every((w) => w.manualSync);
    return { allowed: pass, manualOverride: pass, why: 'deny', windows: denies };
  }
  const allows = open.filter((w) => w.kind === 'allow');
  if (allows.length > 0) return { allowed: true, manualOverride: false, why: 'allow', windows: allows };
  const closedAllows = windows.filter((w) => w.kind === 'allow');
  if (closedAllows.length > 0) {
    const pass = manual && closedAllows.some((w) => w.manualSync);
    return { allowed: pass, manualOverride: pass, why: 'outside-allow', windows: closedAllows };
  }
  return { allowed: true, manualOverride: false, why: 'deny-closed', windows: [] };
}

/** The next instant after `at` at which some window opens or closes, or undefined. */
function nextEdge(windows: readonly SyncWindow[], at: number): number | undefined {
  let best: number | undefined;
  for (const w of windows) {
    const open = openInterval(w.schedule, w.timeZone, w.durationMs, at);
    const edge = open ? open.end : nextStart(w.schedule, w.timeZone, at + 1);
    if (edge !== undefined && edge > at && (best === undefined || edge < best)) best = edge;
  }
  return best;
}

/** Whether a sync may run at `at` (ms), why, and until when. */
export function decideSync(
  windows: readonly SyncWindow[],
  at: number,
  options: { manual?: boolean } = {},
): SyncDecision {
  const manual = options.manual ?? false;
  const now = verdictAt(windows, at, manual);
  let until: number | undefined;
  if (now.why !== 'none') {
    let t = at;
    for (let i = 0; i < maxEdges; i++) {
      const edge = nextEdge(windows, t);
      if (edge === undefined || edge - at > untilHorizonMs) break;
      if (verdictAt(windows, edge, manual).allowed !== now.allowed) {
        until = edge;
        break;
      }
      t = edge;
    }
  }
  return {
    allowed: now.allowed,
    reason: describe(now, until),
    windows: now.windows.map((w) => w.name),
    ...(until !== undefined ? { until } : {}),
    manualOverride: now.manualOverride,
  };
}

function describe(v: Verdict, until: number | undefined): string {
  const names = v.windows.map((w) => `"${w.name}"`).join(', ');
  const plural = v.windows.length > 1 ? 'windows' : 'window';
  const zone = v.windows[0]?.timeZone ?? 'UTC';
  const when = until === undefined ? undefined : formatInstant(until, zone);
  switch (v.why) {
    case 'none':
      return 'no sync windows: syncs run at any time';
    case 'deny-closed':
      return when ? `no deny window is open; the next closes syncs at ${when}` : 'no deny window is open';
    case 'allow':
      return `allowed by ${plural} ${names}${when ? ` until ${when}` : ''}`;
    case 'deny':
      if (v.manualOverride) return `manual sync allowed despite deny ${plural} ${names} (manualSync)`;
      return `denied by ${plural} ${names}${when ? ` until ${when}` : ' with no end found within 400 days'}`;
    case 'outside-allow':
      if (v.manualOverride) return `manual sync allowed outside allow ${plural} ${names} (manualSync)`;
      return `outside allow ${plural} ${names}${when ? `; the next opens ${when}` : '; none opens within 400 days'}`;
  }
}

/** "2026-03-09 17:00 Europe/Berlin (16:00 UTC)", or "2026-03-09 16:00 UTC". */
export function formatInstant(at: number, timeZone: string): string {
  const local = `${formatWallClock(at, timeZone)} ${timeZone}`;
  if (timeZone === 'UTC') return local;
  const utc = formatWallClock(at, 'UTC');
  const sameDay = utc.slice(0, 10) === local.slice(0, 10);
  return `${local} (${sameDay ? utc.slice(11) : utc} UTC)`;
}
