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
import { nextStart, openInterval, type OpenInterval } from './occurrences.js';
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
const maxEdges = 20_000;

interface Verdict {
  allowed: boolean;
  manualOverride: boolean;
  why: 'none' | 'deny' | 'allow' | 'outside-allow' | 'deny-closed';
  windows: SyncWindow[];
  /** The zone `until` is shown in: the deciding windows', or the deny windows' when none is open. */
  timeZone: string;
}

/**
 * Whether a window is open at an instant, remembering the last answer: an open window stays
 * open until its end, a closed one stays closed until its next start, so walking forward from
 * edge to edge costs one computation per edge.
 */
class WindowTrack {
  private from = Infinity;
  private to = -Infinity;
  private open: OpenInterval | undefined;

  constructor(
    readonly window: SyncWindow,
    private readonly horizon: number,
  ) {}

  at(t: number): OpenInterval | undefined {
    if (t >= this.from && t < this.to) return this.open;
    const w = this.window;
    this.open = openInterval(w.schedule, w.timeZone, w.durationMs, t, this.horizon);
    this.from = t;
    this.to = this.open ? (this.open.end ?? Infinity) : (nextStart(w.schedule, w.timeZone, t) ?? Infinity);
    return this.open;
  }

  /** The next instant after t when this window opens or closes (call at(t) first). */
  edgeAfter(t: number): number | undefined {
    this.at(t);
    return Number.isFinite(this.to) && this.to > t ? this.to : undefined;
  }
}

function verdictAt(tracks: readonly WindowTrack[], at: number, manual: boolean): Verdict {
  const windows = tracks.map((t) => t.window);
  const denyZone = windows.find((w) => w.kind === 'deny')?.timeZone ?? 'UTC';
  if (windows.length === 0) return { allowed: true, manualOverride: false, why: 'none', windows: [], timeZone: 'UTC' };
  const open = tracks.filter((t) => t.at(at) !== undefined).map((t) => t.window);
  const denies = open.filter((w) => w.kind === 'deny');
  if (denies.length > 0) {
    const pass = manual && denies.every((w) => w.manualSync);
    return { allowed: pass, manualOverride: pass, why: 'deny', windows: denies, timeZone: denies[0].timeZone };
  }
  const allows = open.filter((w) => w.kind === 'allow');
  if (allows.length > 0) {
    return { allowed: true, manualOverride: false, why: 'allow', windows: allows, timeZone: allows[0].timeZone };
  }
  const closedAllows = windows.filter((w) => w.kind === 'allow');
  if (closedAllows.length > 0) {
    const pass = manual && closedAllows.some((w) => w.manualSync);
    return {
      allowed: pass,
      manualOverride: pass,
      why: 'outside-allow',
      windows: closedAllows,
      timeZone: closedAllows[0].timeZone,
    };
  }
  return { allowed: true, manualOverride: false, why: 'deny-closed', windows: [], timeZone: denyZone };
}

/** Whether a sync may run at `at` (ms), why, and until when. */
export function decideSync(
  windows: readonly SyncWindow[],
  at: number,
  options: { manual?: boolean } = {},
): SyncDecision {
  const manual = options.manual ?? false;
  const horizon = at + untilHorizonMs;
  const tracks = windows.map((w) => new WindowTrack(w, horizon));
  const now = verdictAt(tracks, at, manual);
  let until: number | undefined;
  if (now.why !== 'none') {
    let t = at;
    for (let i = 0; i < maxEdges; i++) {
      let edge: number | undefined;
      for (const track of tracks) {
        const e = track.edgeAfter(t);
        if (e !== undefined && (edge === undefined || e < edge)) edge = e;
      }
      if (edge === undefined || edge > horizon) break;
      if (verdictAt(tracks, edge, manual).allowed !== now.allowed) {
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
  const when = until === undefined ? undefined : formatInstant(until, v.timeZone);
  switch (v.why) {
    case 'none':
      return 'no sync windows: syncs run at any time';
    case 'deny-closed':
      return when ? `no deny window is open; the next closes syncs at ${when}` : 'no deny window is open';
    case 'allow':
      return `allowed by ${plural} ${names}${when ? ` until ${when}` : ''}`;
    case 'deny':
      if (v.manualOverride) return `manual sync allowed despite deny ${plural} ${names} (manualSync)`;
      return `denied by ${plural} ${names}${when ? ` until ${when}` : ', with no end found ahead'}`;
    case 'outside-allow':
      if (v.manualOverride) return `manual sync allowed outside allow ${plural} ${names} (manualSync)`;
      return `outside allow ${plural} ${names}${when ? `; the next opens ${when}` : '; none opens ahead'}`;
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
