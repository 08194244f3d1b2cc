/**
 * The JSON Schema of sync windows, written in the conventions of crds/ (every property
 * described, every object closed with additionalProperties, sub-objects titled), so that the
 * app manifest kind can embed SyncWindow under its spec later. compile-windows.ts validates
 * with it, then checks what a schema cannot (cron fields, zones, durations, unique names).
 */

export const syncWindowSchema = {
  title: 'SyncWindow',
  description:
    'A stretch of time, opened by a cron schedule and kept open for a duration, during which syncs are allowed (kind allow) or held back (kind deny). Deny wins over allow; with allow windows, syncs wait outside them.',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'schedule', 'duration'],
  properties: {
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 63,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      description: 'The name status lines and logs use for the window, e.g. "business-hours"; unique in the list.',
    },
    kind: {
      type: 'string',
      enum: ['allow', 'deny'],
      description:
        'allow: syncs may run while the window is open and wait otherwise; deny: syncs wait while it is open.',
    },
    schedule: {
      type: 'string',
      minLength: 1,
      description:
        'When the window opens, in cron syntax with five fields (minute hour day-of-month month day-of-week) read in timeZone, e.g. "0 22 * * *" or "0 9 * * MON-FRI"; @daily, @weekly and the like are accepted.',
    },
    duration: {
      type: 'string',
      pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$',
      description: 'How long the window stays open after each start, as elapsed time, e.g. "8h" or "1h30m".',
    },
    timeZone: {
      type: 'string',
      minLength: 1,
      default: 'UTC',
      description:
        'The IANA time zone the schedule is read in, e.g. "Europe/Berlin"; daylight saving time is followed (a start in the skipped hour opens at the change, a start in the repeated hour opens once).',
    },
    manualSync: {
      type: 'boolean',
      default: false,
      description:
        'A manual sync (asked for from the CLI) may run despite this window: past a deny window only when every open deny window allows it; outside allow windows when any of them allows it.',
    },
  },
  examples: [
    { name: 'nightly', kind: 'allow', schedule: '0 22 * * *', duration: '8h', timeZone: 'Europe/Berlin' },
    { name: 'business-hours', kind: 'deny', schedule: '0 9 * * MON-FRI', duration: '8h', manualSync: true },
  ],
} as const;

export const syncWindowsSchema = {
  title: 'SyncWindows',
  description: 'The sync windows of an app, in any order; an empty list lets syncs run at any time.',
  type: 'array',
  maxItems: 100,
  items: { $ref: '#/$defs/SyncWindow' },
  $defs: { SyncWindow: syncWindowSchema },
} as const;
