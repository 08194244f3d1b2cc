/**
 * Wall-clock time in a named IANA time zone with nothing but Node's Intl (its ICU carries the
 * time zone database): the wall-clock fields of an instant, and the instant of a wall-clock
 * time, including the two DST cases a schedule meets:
 *  - a gap (spring forward: 02:30 does not exist): the instant the gap ends, as ISC/Vixie cron
 *    runs a job of the skipped hour right after the change;
 *  - an overlap (fall back: 02:30 happens twice): the first occurrence only, as cron avoids
 *    running a job twice.
 * Pure apart from reading the time zone database. Imports nothing from the rest of the project.
 */

export interface WallClock {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday ... 6 = Saturday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const weekdays: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
      era: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when Intl knows the zone ("UTC", "Europe/Berlin"; not "CEST" or "+02:00"). */
export function isTimeZone(name: string): boolean {
  if (typeof name !== 'string' || name === '') return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock fields of an instant in the zone. */
export function wallClock(instant: number, timeZone: string): WallClock {
  const d = new Date(instant + offsetAt(instant, timeZone));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  };
}

/** What Intl says the wall clock shows (the slow path the zone tables are built from). */
export function intlWallClock(instant: number, timeZone: string): WallClock {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) parts[p.type] = p.value;
  const year = Number(parts.year);
  return {
    year: parts.era === 'BC' ? 1 - year : year,
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: weekdays[parts.weekday],
  };
}

function intlOffset(instant: number, timeZone: string): number {
  const w = intlWallClock(instant, timeZone);
  const whole = Math.floor(instant / 1000) * 1000;
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - whole;
}

/**
 * A zone's offsets for one UTC year: the offset at the year's start and each change after it,
 * found by sampling Intl every 6 hours and bisecting each change to the second. Zones change
 * at most a few times a year and never twice within 6 hours, so lookups need no Intl call.
 */
interface YearTable {
  startOffset: number;
  changes: { at: number; offset: number }[];
}

const sampleMs = 6 * 3_600_000;
const tables = new Map<string, Map<number, YearTable>>();

function yearTable(year: number, timeZone: string): YearTable {
  let byYear = tables.get(timeZone);
  if (!byYear) {
    byYear = new Map();
    tables.set(timeZone, byYear);
  }
  let table = byYear.get(year);
  if (!table) {
    const from = Date.UTC(year, 0, 1);
    const to = Date.UTC(year + 1, 0, 1);
    const startOffset = intlOffset(from, timeZone);
    const changes: YearTable['changes'] = [];
    let prevAt = from;
    let prev = startOffset;
    for (let t = from + sampleMs; t <= to; t = Math.min(t + sampleMs, to)) {
      const o = intlOffset(t, timeZone);
      if (o !== prev) {
        let lo = prevAt;
        let hi = t;
        while (hi - lo > 1000) {
          const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
          if (intlOffset(mid, timeZone) === prev) lo = mid;
          else hi = mid;
        }
        if (hi < to) changes.push({ at: hi, offset: o });
        prev = o;
      }
      prevAt = t;
      if (t === to) break;
    }
    table = { startOffset, changes };
    if (byYear.size > 64) byYear.clear();
    byYear.set(year, table);
  }
  return table;
}

/** The zone's offset from UTC at an instant, in ms (Berlin in summer: +7,200,000). */
export function offsetAt(instant: number, timeZone: string): number {
  if (timeZone === 'UTC') return 0;
  const table = yearTable(new Date(instant).getUTCFullYear(), timeZone);
  let offset = table.startOffset;
  for (const c of table.changes) {
    if (c.at > instant) break;
    offset = c.offset;
  }
  return offset;
}

/**
 * The instant at which the zone's clocks first show this wall-clock minute; in a DST gap, the
 * instant the gap ends. Month 1-12; day may overflow (Date.UTC normalises it).
 */
export function instantOf(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  timeZone: string,
): number {
  const local = Date.UTC(year, month - 1, day, hour, minute);
  // The offsets in force a day either side cover every transition a wall time can fall near.
  const offsets = [...new Set([offsetAt(local - 86_400_000, timeZone), offsetAt(local + 86_400_000, timeZone)])];
  const matches = offsets
    .map((o) => local - o)
    .filter((t) => offsetAt(t, timeZone) === local - t)
    .sort((a, b) => a - b);
  if (matches.length > 0) return matches[0];
  // A gap: read with the larger offset (the one after spring forward) the wall time is an instant
  // before the change, with the smaller one an instant after it. Find the change to the second.
  let lo = local - Math.max(...offsets);
  let hi = local - Math.min(...offsets);
  const before = offsetAt(lo, timeZone);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetAt(mid, timeZone) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** "2026-03-09 17:00" in the zone. */
export function formatWallClock(instant: number, timeZone: string): string {
  const w = wallClock(instant, timeZone);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${w.year}-${p(w.month)}-${p(w.day)} ${p(w.hour)}:${p(w.minute)}`;
}
