/**
 * When a cron schedule fires, as instants, in a named time zone: the first start at or after an
 * instant, and the stretch of time a window of some duration is open around an instant. Works
 * in wall-clock days (so DST moves nothing a person would not expect, see zoned-time.ts) and
 * skips whole days and hours that lie before the instant asked about. Pure.
 */

import { cronMatchesDay, type CronSchedule } from './cron.js';
import { instantOf, wallClock } from './zoned-time.js';

/** A schedule that matches a real day fires within 8 years (29 February on a Monday: 28). */
export const searchDays = 366 * 8 + 2;
/** At most this many consecutive overlapping starts are chained to find where a window closes. */
export const chainLimit = 5000;

/** The first start at or after `from` (ms), or undefined when the schedule never fires again within 8 years. */
export function nextStart(schedule: CronSchedule, timeZone: string, from: number): number | undefined {
  // Begin a day early: near a DST change a wall time of the previous day can map close to `from`.
  const first = wallClock(from, timeZone);
  const base = Date.UTC(first.year, first.month - 1, first.day - 1);
  for (let i = 0; i < searchDays; i++) {
    const date = new Date(base + i * 86_400_000);
    const y = date.getUTCFullYear();
    const m = date.getUTCMonth() + 1;
    const d = date.getUTCDate();
    if (!cronMatchesDay(schedule, m, d, date.getUTCDay())) continue;
    // Every wall time of this day maps before the next day's midnight: skip days wholly past.
    if (instantOf(y, m, d + 1, 0, 0, timeZone) <= from) continue;
    for (const h of schedule.hours) {
      if (instantOf(y, m, d, h, 59, timeZone) < from) continue;
      for (const min of schedule.minutes) {
        const t = instantOf(y, m, d, h, min, timeZone);
        if (t >= from) return t;
      }
    }
  }
  return undefined;
}

export interface OpenInterval {
  /** The start that opened the window (the latest one at or before the instant asked about). */
  start: number;
  /** When it closes, overlapping later starts included; undefined when chaining them did not end. */
  end: number | undefined;
}

/**
 * The window (a start every time the schedule fires, open for `durationMs`) open at `at`, or
 * undefined when it is closed then. Open means some start s has s <= at < s + duration.
 */
export function openInterval(
  schedule: CronSchedule,
  timeZone: string,
  durationMs: number,
  at: number,
): OpenInterval | undefined {
  let last = nextStart(schedule, timeZone, at - durationMs + 1);
  if (last === undefined || last > at) return undefined;
  let steps = 0;
  for (;;) {
    const next = nextStart(schedule, timeZone, last + 1);
    if (next === undefined || next > at) break;
    last = next;
    if (++steps > chainLimit) return { start: last, end: undefined };
  }
  const start = last;
  let end = last + durationMs;
  for (;;) {
    const next = nextStart(schedule, timeZone, last + 1);
    // A start at or before the close keeps the window open without a break.
    if (next === undefined || next > end) return { start, end };
    last = next;
    end = Math.max(end, next + durationMs);
    if (++steps > chainLimit) return { start, end: undefined };
  }
}
