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
/** At most this many jumps (each one duration or more) are made to find where a window closes. */
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

/** The last start at or before `at` (ms), or undefined when there is none within 8 years before it. */
export function prevStart(schedule: CronSchedule, timeZone: string, at: number): number | undefined {
  // Begin a day late: a wall time maps to an instant at or after it, never before (DST gaps).
  const last = wallClock(at, timeZone);
  const base = Date.UTC(last.year, last.month - 1, last.day + 1);
  const hours = [...schedule.hours].reverse();
  const minutes = [...schedule.minutes].reverse();
  for (let i = 0; i < searchDays; i++) {
    const date = new Date(base - i * 86_400_000);
    const y = date.getUTCFullYear();
    const m = date.getUTCMonth() + 1;
    const d = date.getUTCDate();
    if (!cronMatchesDay(schedule, m, d, date.getUTCDay())) continue;
    if (instantOf(y, m, d, 0, 0, timeZone) > at) continue;
    for (const h of hours) {
      if (instantOf(y, m, d, h, 0, timeZone) > at) continue;
      for (const min of minutes) {
        const t = instantOf(y, m, d, h, min, timeZone);
        if (t <= at) return t;
      }
    }
  }
  return undefined;
}

export interface OpenInterval {
  /** The latest start at or before the instant asked about. */
  start: number;
  /** When it closes, overlapping later starts included; undefined when that is past `horizon`. */
  end: number | undefined;
}

/**
 * The window (a start every time the schedule fires, open for `durationMs`) open at `at`, or
 * undefined when it is closed then. Open means some start s has s <= at < s + duration. Later
 * starts before it closes keep it open; the close is looked for up to `horizon` (ms).
 */
export function openInterval(
  schedule: CronSchedule,
  timeZone: string,
  durationMs: number,
  at: number,
  horizon: number = at + 400 * 86_400_000,
): OpenInterval | undefined {
  const start = prevStart(schedule, timeZone, at);
  if (start === undefined || start + durationMs <= at) return undefined;
  let last = start;
  let end = start + durationMs;
  for (let steps = 0; steps < chainLimit; steps++) {
    // The latest start at or before the close: a start exactly at the close keeps it open.
    const p = prevStart(schedule, timeZone, end);
    if (p === undefined || p <= last) return { start, end };
    last = p;
    end = p + durationMs;
    if (end > horizon) return { start, end: undefined };
  }
  return { start, end: undefined };
}
