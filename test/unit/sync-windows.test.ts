/** Sync windows: cron parsing, time zone math through DST, Argo CD's allow/deny rules, and config problems. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CronError, cronMatchesDay, parseCron } from '../../src/schedule/cron.js';
import { instantOf, intlWallClock, wallClock } from '../../src/schedule/zoned-time.js';
import { nextStart, openInterval } from '../../src/schedule/occurrences.js';
import { decideSync, type SyncWindowSpec } from '../../src/schedule/windows.js';
import { compileWindows } from '../../src/schedule/compile-windows.js';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

function windows(...specs: SyncWindowSpec[]) {
  const c = compileWindows(specs);
  assert.deepEqual(c.problems, []);
  return c.windows;
}

describe('cron schedules', () => {
  it('reads numbers, ranges, steps, lists and names in the five fields', () => {
    const s = parseCron('*/15 9-17/4 1,15 JAN-mar MON-FRI');
    assert.deepEqual(s.minutes, [0, 15, 30, 45]);
    assert.deepEqual(s.hours, [9, 13, 17]);
    assert.deepEqual(
      [...s.daysOfMonth].sort((a, b) => a - b),
      [1, 15],
    );
    assert.deepEqual([...s.months].sort(), [1, 2, 3]);
    assert.deepEqual([...s.daysOfWeek].sort(), [1, 2, 3, 4, 5]);
  });

  it('reads 7 as Sunday, "5/10" as from 5 every 10, and the descriptors', () => {
    assert.deepEqual([...parseCron('0 0 * * 7').daysOfWeek], [0]);
    assert.deepEqual(parseCron('5/20 * * * *').minutes, [5, 25, 45]);
    assert.deepEqual(parseCron('@daily').hours, [0]);
    assert.deepEqual(parseCron('@hourly').minutes, [0]);
    assert.deepEqual([...parseCron('@weekly').daysOfWeek], [0]);
  });

  it('matches a day when EITHER restricted day field matches, as Vixie cron does', () => {
    const both = parseCron('0 0 13 * FRI'); // the 13th, or any Friday
    assert.equal(cronMatchesDay(both, 3, 13, 5), true);
    assert.equal(cronMatchesDay(both, 3, 14, 5), true); // a Friday the 14th
    assert.equal(cronMatchesDay(both, 3, 13, 2), true); // a Tuesday the 13th
    assert.equal(cronMatchesDay(both, 3, 14, 2), false);
    const dowOnly = parseCron('0 0 * * FRI');
    assert.equal(cronMatchesDay(dowOnly, 3, 13, 2), false);
    const stepDom = parseCron('0 0 */2 * MON'); // a day field starting with * counts as unrestricted
    assert.equal(cronMatchesDay(stepDom, 3, 3, 1), true);
    assert.equal(cronMatchesDay(stepDom, 3, 3, 2), false);
  });

  it('names the field and the problem of a bad expression', () => {
    const cases: [string, RegExp][] = [
      ['0 22 * *', /has 4 field\(s\); a schedule has 5/],
      ['60 * * * *', /minute "60": 60 is outside 0-59/],
      ['0 25 * * *', /hour "25": 25 is outside 0-23/],
      ['0 0 * FOO *', /month "FOO": "FOO" is not a number or a name \(JAN-DEC\)/],
      ['0 0 * * MON-SUN7', /day of week "MON-SUN7"/],
      ['*/0 * * * *', /minute "\*\/0": the step after "\/" must be a positive number/],
      ['0 0 10-5 * *', /day of month "10-5": the range starts after it ends/],
      ['@fortnightly', /unknown descriptor "@fortnightly"/],
    ];
    for (const [expr, re] of cases)
      assert.throws(
        () => parseCron(expr),
        (e: unknown) => e instanceof CronError && re.test(e.message),
        expr,
      );
  });
});

describe('time zones without a library', () => {
  it('gives the same wall clock as Intl, every 7h13m through 2026 in zones with odd rules', () => {
    for (const tz of [
      'Europe/Berlin',
      'America/New_York',
      'Australia/Lord_Howe',
      'Asia/Kolkata',
      'America/Sao_Paulo',
    ]) {
      for (let t = at('2026-01-01T00:00:00Z'); t < at('2027-01-01T00:00:00Z'); t += 7 * 3_600_000 + 13 * 60_000) {
        assert.deepEqual(wallClock(t, tz), intlWallClock(t, tz), `${tz} at ${iso(t)}`);
      }
    }
  });

  it('maps a wall time in the spring-forward gap to the instant the gap ends', () => {
    // Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z); 02:30 does not exist.
    assert.equal(iso(instantOf(2026, 3, 29, 2, 30, 'Europe/Berlin')), '2026-03-29T01:00:00.000Z');
    assert.equal(iso(instantOf(2026, 3, 29, 3, 0, 'Europe/Berlin')), '2026-03-29T01:00:00.000Z');
    assert.equal(iso(instantOf(2026, 3, 29, 1, 59, 'Europe/Berlin')), '2026-03-29T00:59:00.000Z');
  });

  it('maps a wall time of the repeated fall-back hour to its first occurrence', () => {
    // Berlin, 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens at 00:30Z and 01:30Z.
    assert.equal(iso(instantOf(2026, 10, 25, 2, 30, 'Europe/Berlin')), '2026-10-25T00:30:00.000Z');
    // New York, 2026-11-01: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
    assert.equal(iso(instantOf(2026, 11, 1, 1, 30, 'America/New_York')), '2026-11-01T05:30:00.000Z');
  });
});

describe('when a schedule fires', () => {
  it("finds the next start at or after an instant, in the schedule's zone", () => {
    const s = parseCron('0 22 * * *');
    assert.equal(iso(nextStart(s, 'UTC', at('2026-03-09T10:00:00Z'))), '2026-03-09T22:00:00.000Z');
    assert.equal(iso(nextStart(s, 'UTC', at('2026-03-09T22:00:00Z'))), '2026-03-09T22:00:00.000Z');
    assert.equal(iso(nextStart(s, 'Europe/Berlin', at('2026-03-09T10:00:00Z'))), '2026-03-09T21:00:00.000Z');
    assert.equal(iso(nextStart(s, 'America/New_York', at('2026-03-09T10:00:00Z'))), '2026-03-10T02:00:00.000Z');
  });

  it('starts a window of the skipped hour when the clocks change, and one of the repeated hour once', () => {
    const s = parseCron('30 2 * * *');
    assert.equal(iso(nextStart(s, 'Europe/Berlin', at('2026-03-28T12:00:00Z'))), '2026-03-29T01:00:00.000Z');
    assert.equal(iso(nextStart(s, 'Europe/Berlin', at('2026-03-29T01:00:01Z'))), '2026-03-30T00:30:00.000Z');
    assert.equal(iso(nextStart(s, 'Europe/Berlin', at('2026-10-24T12:00:00Z'))), '2026-10-25T00:30:00.000Z');
    // Not again at 01:30Z, when the wall clock shows 02:30 a second time.
    assert.equal(iso(nextStart(s, 'Europe/Berlin', at('2026-10-25T00:30:01Z'))), '2026-10-26T01:30:00.000Z');
  });

  it('finds 29 February years ahead, and gives up on a day that never comes', () => {
    assert.equal(
      iso(nextStart(parseCron('0 0 29 2 *'), 'UTC', at('2026-03-01T00:00:00Z'))),
      '2028-02-29T00:00:00.000Z',
    );
    assert.equal(nextStart(parseCron('0 0 30 2 *'), 'UTC', at('2026-03-01T00:00:00Z')), undefined);
  });

  it('keeps a window open through overlapping starts, and measures its duration in elapsed time', () => {
    const hourly = parseCron('0 * * * *');
    const open = openInterval(hourly, 'UTC', 90 * 60_000, at('2026-03-09T10:10:00Z'));
    assert.equal(iso(open?.start), '2026-03-09T10:00:00.000Z');
    assert.equal(open?.end, undefined, 'an hourly start every hour with 90 minutes open never closes');
    // 22:00 Berlin + 8h across the fall back: closes at 05:00 wall clock, 8 real hours later.
    const nightly = openInterval(parseCron('0 22 * * *'), 'Europe/Berlin', 8 * 3_600_000, at('2026-10-25T01:00:00Z'));
    assert.deepEqual(
      [iso(nightly?.start), iso(nightly?.end)],
      ['2026-10-24T20:00:00.000Z', '2026-10-25T04:00:00.000Z'],
    );
    assert.equal(openInterval(parseCron('0 22 * * *'), 'UTC', 3_600_000, at('2026-03-09T23:00:00Z')), undefined);
  });
});

describe("decideSync: Argo CD's rules", () => {
  const nightly: SyncWindowSpec = { name: 'nightly', kind: 'allow', schedule: '0 22 * * *', duration: '8h' };
  const business: SyncWindowSpec = {
    name: 'business-hours',
    kind: 'deny',
    schedule: '0 9 * * MON-FRI',
    duration: '8h',
    timeZone: 'Europe/Berlin',
  };

  it('lets every sync run when there are no windows', () => {
    assert.deepEqual(decideSync([], at('2026-03-09T10:00:00Z')), {
      allowed: true,
      reason: 'no sync windows: syncs run at any time',
      windows: [],
      manualOverride: false,
    });
  });

  it("denies inside a deny window and says until when, in the window's zone and in UTC", () => {
    // Monday 2026-03-09, 11:00 Berlin.
    assert.deepEqual(decideSync(windows(business), at('2026-03-09T10:00:00Z')), {
      allowed: false,
      reason: 'denied by window "business-hours" until 2026-03-09 17:00 Europe/Berlin (16:00 UTC)',
      windows: ['business-hours'],
      until: at('2026-03-09T16:00:00Z'),
      manualOverride: false,
    });
  });

  it('allows outside a deny window, naming when the next one starts', () => {
    const d = decideSync(windows(business), at('2026-03-07T10:00:00Z')); // a Saturday
    assert.equal(d.allowed, true);
    assert.equal(
      d.reason,
      'no deny window is open; the next closes syncs at 2026-03-09 09:00 Europe/Berlin (08:00 UTC)',
    );
    assert.equal(iso(d.until), '2026-03-09T08:00:00.000Z');
  });

  it('holds syncs outside allow windows until the next one opens, and allows inside until it closes', () => {
    const w = windows(nightly);
    assert.deepEqual(decideSync(w, at('2026-03-09T20:00:00Z')), {
      allowed: false,
      reason: 'outside allow window "nightly"; the next opens 2026-03-09 22:00 UTC',
      windows: ['nightly'],
      until: at('2026-03-09T22:00:00Z'),
      manualOverride: false,
    });
    const inside = decideSync(w, at('2026-03-10T01:00:00Z'));
    assert.equal(inside.allowed, true);
    assert.equal(inside.reason, 'allowed by window "nightly" until 2026-03-10 06:00 UTC');
  });

  it('denies when an allow and a deny window are both open: deny wins', () => {
    const always: SyncWindowSpec = { name: 'weekdays', kind: 'allow', schedule: '0 0 * * *', duration: '24h' };
    const d = decideSync(windows(always, business), at('2026-03-09T10:00:00Z'));
    assert.equal(d.allowed, false);
    assert.deepEqual(d.windows, ['business-hours']);
    assert.equal(iso(d.until), '2026-03-09T16:00:00.000Z');
  });

  it("waits for the end of overlapping and back-to-back deny windows, not the first one's", () => {
    const morning: SyncWindowSpec = { name: 'morning', kind: 'deny', schedule: '0 8 * * *', duration: '4h' };
    const noon: SyncWindowSpec = { name: 'noon', kind: 'deny', schedule: '0 11 * * *', duration: '2h' };
    const afternoon: SyncWindowSpec = { name: 'afternoon', kind: 'deny', schedule: '0 13 * * *', duration: '1h' };
    const d = decideSync(windows(morning, noon, afternoon), at('2026-03-09T11:30:00Z'));
    assert.equal(d.reason, 'denied by windows "morning", "noon" until 2026-03-09 14:00 UTC');
    assert.equal(iso(d.until), '2026-03-09T14:00:00.000Z');
  });

  it('lets a manual sync past deny windows only when every open one has manualSync', () => {
    const freeze: SyncWindowSpec = { name: 'freeze', kind: 'deny', schedule: '0 0 * * *', duration: '24h' };
    const lenient = { ...business, manualSync: true };
    const onlyLenient = decideSync(windows(lenient), at('2026-03-09T10:00:00Z'), { manual: true });
    assert.equal(onlyLenient.allowed, true);
    assert.equal(onlyLenient.manualOverride, true);
    assert.equal(onlyLenient.reason, 'manual sync allowed despite deny window "business-hours" (manualSync)');
    assert.equal(
      decideSync(windows(lenient), at('2026-03-09T10:00:00Z')).allowed,
      false,
      'an automatic sync still waits',
    );
    const mixed = decideSync(windows(lenient, freeze), at('2026-03-09T10:00:00Z'), { manual: true });
    assert.equal(mixed.allowed, false);
    assert.deepEqual(mixed.windows, ['business-hours', 'freeze']);
  });

  it('lets a manual sync run outside allow windows when any of them has manualSync', () => {
    const other: SyncWindowSpec = { name: 'sunday', kind: 'allow', schedule: '0 6 * * SUN', duration: '2h' };
    const w = windows({ ...nightly, manualSync: true }, other);
    const d = decideSync(w, at('2026-03-09T20:00:00Z'), { manual: true });
    assert.equal(d.allowed, true);
    assert.equal(d.reason, 'manual sync allowed outside allow windows "nightly", "sunday" (manualSync)');
    assert.equal(decideSync(windows(nightly, other), at('2026-03-09T20:00:00Z'), { manual: true }).allowed, false);
  });

  it('follows a window through the spring-forward night in its own zone', () => {
    // 22:00 Berlin on 2026-03-28 is 21:00Z; 8 elapsed hours later is 05:00Z (07:00 CEST).
    const w = windows({ ...nightly, timeZone: 'Europe/Berlin' });
    const d = decideSync(w, at('2026-03-29T03:00:00Z'));
    assert.equal(d.reason, 'allowed by window "nightly" until 2026-03-29 07:00 Europe/Berlin (05:00 UTC)');
  });
});

describe('sync window configuration', () => {
  it('reports every problem with its field and a fix, and compiles to no windows', () => {
    const c = compileWindows(
      [
        { name: 'a', kind: 'deny', schedule: '0 0 30 2 *', duration: '8h', timeZone: 'CEST' },
        { name: 'a', kind: 'deny', schedule: '0 25 * * *', duration: '30s' },
        { name: 'b', kind: 'sometimes', schedule: '0 0 * * *', duration: '1h', colour: 'red' },
      ],
      { field: 'spec.syncWindows' },
    );
    assert.deepEqual(c.windows, []);
    assert.deepEqual(
      c.problems.map((p) => `${p.code} ${p.field}: ${p.message}`),
      [
        'SC8002 spec.syncWindows[2].colour: is not a known field',
        'SC8002 spec.syncWindows[2].kind: must be one of "allow", "deny"',
      ],
      'structural problems come first, alone',
    );
    const second = compileWindows([
      { name: 'a', kind: 'deny', schedule: '0 0 30 2 *', duration: '8h', timeZone: 'CEST' },
      { name: 'a', kind: 'deny', schedule: '0 25 * * *', duration: '30s' },
      { name: 'b', kind: 'allow', schedule: '0 0 30 2 *', duration: '1h' },
    ]);
    assert.deepEqual(
      second.problems.map((p) => `${p.field}: ${p.message}`),
      [
        'syncWindows[0].timeZone: "CEST" is not a time zone this runtime knows',
        'syncWindows[1].name: "a" is also the name of window 0',
        'syncWindows[1].duration: "30s" is not a duration of at least one minute',
        'syncWindows[1].schedule: hour "25": 25 is outside 0-23',
        'syncWindows[2].schedule: "0 0 30 2 *" never fires (no such day in the calendar)',
      ],
    );
    assert.ok(second.problems.every((p) => p.fix && p.code === 'SC8002'));
  });

  it('fills in UTC and manualSync false', () => {
    const [w] = windows({ name: 'x', kind: 'allow', schedule: '@daily', duration: '1h30m' });
    assert.deepEqual(
      { name: w.name, kind: w.kind, durationMs: w.durationMs, timeZone: w.timeZone, manualSync: w.manualSync },
      { name: 'x', kind: 'allow', durationMs: 5_400_000, timeZone: 'UTC', manualSync: false },
    );
  });
});
