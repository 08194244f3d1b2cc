/**
 * Sync window specs (from flags or, later, an app manifest) -> windows ready to evaluate, with
 * every problem reported at once as SC8002 diagnostics naming the field and the fix. A list
 * with any problem compiles to no windows at all, so a typo never silently opens a freeze.
 */

import type { Diagnostic, SourcePosition } from '../errors.js';
import { problem, schemaProblems, type CheckContext } from '../config/schema-check.js';
import { parseDuration } from '../units.js';
import { CronError, parseCron } from './cron.js';
import { nextStart } from './occurrences.js';
import { isTimeZone } from './zoned-time.js';
import type { SyncWindow, SyncWindowSpec } from './windows.js';
import { syncWindowsSchema } from './window-schema.js';

export interface CompiledWindows {
  windows: SyncWindow[];
  problems: Diagnostic[];
}

/** A fixed reference instant for "does this schedule ever fire" (2000-01-01, a leap year follows). */
const probeFrom = Date.UTC(2000, 0, 1);

export function compileWindows(
  input: unknown,
  options: { field?: string; position?: (field: string) => SourcePosition | undefined } = {},
): CompiledWindows {
  const ctx: CheckContext = { code: 'SC8002', field: options.field ?? 'syncWindows', position: options.position };
  const structural = schemaProblems(syncWindowsSchema, input, ctx);
  if (structural.length > 0) return { windows: [], problems: structural };
  const specs = input as SyncWindowSpec[];
  const problems: Diagnostic[] = [];
  const windows: SyncWindow[] = [];
  const names = new Map<string, number>();
  specs.forEach((spec, i) => {
    const at = (f: string) => `${ctx.field}[${i}].${f}`;
    const earlier = names.get(spec.name);
    if (earlier !== undefined) {
      problems.push(
        problem(
          ctx,
          at('name'),
          `"${spec.name}" is also the name of window ${earlier}`,
          'give each window its own name',
        ),
      );
    }
    names.set(spec.name, i);
    const timeZone = spec.timeZone ?? 'UTC';
    const zoneOk = isTimeZone(timeZone);
    if (!zoneOk) {
      problems.push(
        problem(
          ctx,
          at('timeZone'),
          `"${timeZone}" is not a time zone this runtime knows`,
          'write an IANA name such as "UTC", "Europe/Berlin" or "America/New_York" (not an abbreviation like "CET")',
        ),
      );
    }
    const ns = parseDuration(spec.duration);
    const durationMs = ns === undefined ? undefined : Math.round(ns / 1e6);
    if (durationMs === undefined || durationMs < 60_000) {
      problems.push(
        problem(
          ctx,
          at('duration'),
          `"${spec.duration}" is not a duration of at least one minute`,
          'write e.g. "30m", "8h" or "1h30m"',
        ),
      );
    }
    let schedule;
    try {
      schedule = parseCron(spec.schedule);
    } catch (err) {
      if (!(err instanceof CronError)) throw err;
      problems.push(
        problem(ctx, at('schedule'), err.message, 'write five fields: minute hour day-of-month month day-of-week'),
      );
    }
    if (schedule && zoneOk && nextStart(schedule, timeZone, probeFrom) === undefined) {
      problems.push(
        problem(
          ctx,
          at('schedule'),
          `"${spec.schedule}" never fires (no such day in the calendar)`,
          'check the day of month against the month, e.g. 30 February does not exist',
        ),
      );
      schedule = undefined;
    }
    if (schedule && zoneOk && durationMs !== undefined && durationMs >= 60_000) {
      windows.push({
        name: spec.name,
        kind: spec.kind,
        schedule,
        durationMs,
        timeZone,
        manualSync: spec.manualSync ?? false,
      });
    }
  });
  return problems.length > 0 ? { windows: [], problems } : { windows, problems };
}
