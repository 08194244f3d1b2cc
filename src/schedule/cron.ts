/**
 * Cron expressions of sync windows: the five standard fields (minute hour day-of-month month
 * day-of-week), as Vixie cron and Argo CD's parser (robfig/cron) read them. Pure: parsing and
 * matching a wall-clock date; time zones and instants are zoned-time.ts's job.
 *
 * Accepted: `*`, `?` (same as `*`), numbers, ranges `1-5`, steps `*\/15`, `1-30/2`, `5/10`,
 * lists `1,15,30`, month names `JAN`-`DEC`, day names `SUN`-`SAT`, 7 for Sunday, and the
 * descriptors `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@midnight` `@hourly`.
 * As in Vixie cron, when both day-of-month and day-of-week are restricted (neither starts with
 * `*` or `?`), a day matches if EITHER matches; otherwise both must.
 * Imports nothing from the rest of the project.
 */

export interface CronSchedule {
  /** The expression as written. */
  source: string;
  minutes: readonly number[];
  hours: readonly number[];
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 = Sunday ... 6 = Saturday. */
  daysOfWeek: ReadonlySet<number>;
  domStar: boolean;
  dowStar: boolean;
}

const descriptors: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const monthNames = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const dayNames = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** The first name stands for this number (JAN = 1, SUN = 0). */
  namesFrom?: number;
}

const fields: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: monthNames, namesFrom: 1 },
  // 7 is Sunday too; folded into 0 below.
  { name: 'day of week', min: 0, max: 7, names: dayNames, namesFrom: 0 },
];

/** A cron expression that cannot be read; the message names the field and what is wrong. */
export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

export function parseCron(expression: string): CronSchedule {
  if (typeof expression !== 'string') throw new CronError('a schedule must be a string such as "0 22 * * *"');
  const trimmed = expression.trim();
  const expanded = trimmed.startsWith('@') ? descriptors[trimmed.toLowerCase()] : trimmed;
  if (expanded === undefined) {
    throw new CronError(`unknown descriptor "${trimmed}"; use one of ${Object.keys(descriptors).join(', ')}`);
  }
  const parts = expanded.split(/\s+/).filter(Boolean);
  if (parts.length !== 5) {
    throw new CronError(
      `"${expression}" has ${parts.length} field(s); a schedule has 5: minute hour day-of-month month day-of-week, e.g. "0 22 * * *"`,
    );
  }
  const values = parts.map((p, i) => parseField(p, fields[i]));
  const dow = new Set([...values[4]].map((d) => (d === 7 ? 0 : d)));
  return {
    source: expression,
    minutes: [...values[0]].sort((a, b) => a - b),
    hours: [...values[1]].sort((a, b) => a - b),
    daysOfMonth: values[2],
    months: values[3],
    daysOfWeek: dow,
    domStar: /^[*?]/.test(parts[2]),
    dowStar: /^[*?]/.test(parts[4]),
  };
}

/** Whether the schedule fires on this calendar day (month 1-12, weekday 0 = Sunday). */
export function cronMatchesDay(s: CronSchedule, month: number, day: number, weekday: number): boolean {
  if (!s.months.has(month)) return false;
  const dom = s.daysOfMonth.has(day);
  const dow = s.daysOfWeek.has(weekday);
  if (s.domStar || s.dowStar) return dom && dow;
  return dom || dow;
}

function parseField(text: string, spec: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') throw new CronError(`${spec.name} "${text}" has an empty list item`);
    const [rangePart, stepPart, extra] = item.split('/');
    if (extra !== undefined) throw new CronError(`${spec.name} "${item}" has more than one "/"`);
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) === 0) {
        throw new CronError(`${spec.name} "${item}": the step after "/" must be a positive number`);
      }
      step = Number(stepPart);
    }
    let lo: number;
    let hi: number;
    if (rangePart === '*' || rangePart === '?') {
      lo = spec.min;
      hi = spec.name === 'day of week' ? 6 : spec.max;
    } else if (rangePart.includes('-')) {
      const [a, b, more] = rangePart.split('-');
      if (more !== undefined) throw new CronError(`${spec.name} "${item}" is not a range such as 1-5`);
      lo = value(a, spec, item);
      hi = value(b, spec, item);
      if (lo > hi) throw new CronError(`${spec.name} "${item}": the range starts after it ends`);
    } else {
      lo = value(rangePart, spec, item);
      // "5/10" means from 5 to the end, every 10 (robfig/cron and Vixie cron agree).
      hi = stepPart !== undefined ? spec.max : lo;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function value(token: string, spec: FieldSpec, item: string): number {
  const upper = token.toUpperCase();
  const named = spec.names?.indexOf(upper) ?? -1;
  if (named >= 0) return named + (spec.namesFrom ?? 0);
  if (!/^\d+$/.test(token)) {
    const names = spec.names ? ` or a name (${spec.names[0]}-${spec.names[spec.names.length - 1]})` : '';
    throw new CronError(`${spec.name} "${item}": "${token}" is not a number${names}`);
  }
  const n = Number(token);
  if (n < spec.min || n > spec.max) {
    throw new CronError(`${spec.name} "${item}": ${n} is outside ${spec.min}-${spec.max}`);
  }
  return n;
}
