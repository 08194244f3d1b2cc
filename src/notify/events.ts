/**
 * What the loop tells the notifier: one event per thing that happened to an app (an apply set),
 * already free of secrets (the loop builds events from status and plans, which mask them). The
 * event types, their severity, and the rule that decides when a repeat is the same news
 * (the dedup key). Pure; imports nothing but types.
 */

export const eventTypes = [
  'sync-started',
  'sync-succeeded',
  'sync-failed',
  'rollback',
  'drift',
  'revision-refused',
  'rollout-promoted',
  'rollout-rolled-back',
  'rollout-aborted',
] as const;
export type EventType = (typeof eventTypes)[number];

/** The events a receiver gets when its config names none: every problem, not the routine. */
export const defaultEvents: readonly EventType[] = [
  'sync-failed',
  'rollback',
  'drift',
  'revision-refused',
  // A progressive rollout's outcome is what its owner waits for, good or bad (docs/rollouts.md).
  'rollout-promoted',
  'rollout-rolled-back',
  'rollout-aborted',
];

export type Severity = 'info' | 'warning' | 'error';

export const severityOf: Record<EventType, Severity> = {
  'sync-started': 'info',
  'sync-succeeded': 'info',
  'sync-failed': 'error',
  rollback: 'error',
  drift: 'warning',
  'revision-refused': 'error',
  'rollout-promoted': 'info',
  'rollout-rolled-back': 'error',
  'rollout-aborted': 'warning',
};

export interface ObjectNote {
  /** "Service/shop/web" */
  id: string;
  /** The phase reason (a task error, Swarm's rollback message, the drifted fields). */
  reason: string;
}

export interface NotificationEvent {
  type: EventType;
  /** ms since the epoch, from the loop's clock. */
  at: number;
  /** The apply set (the app). */
  app: string;
  /** The revision synced or refused: a commit for git sources, a content hash for directories. */
  revision?: string;
  /** The git commit, when the source is git: what commit statuses are set on. */
  commit?: string;
  /** The commit's subject line, when known. */
  commitMessage?: string;
  /** One sentence: what happened. */
  summary: string;
  /** Objects concerned (failed, rolled back, drifted), each with its reason. */
  objects?: ObjectNote[];
  /** Problems that refused a revision ("web.yaml:12:5: error SC2003 ..."), or other detail lines. */
  problems?: string[];
  /** For drift: whether it was put back (repair) or only reported. */
  driftMode?: 'repaired' | 'reported';
  /** For revision-refused: invalid manifests, or an image the registry refused. */
  refusal?: 'invalid' | 'image';
  /** For rollout-*: the progressive rollout that ended (docs/rollouts.md). */
  rollout?: RolloutNote;
}

export interface RolloutNote {
  /** The stable service's Swarm name ("shop_web"). */
  service: string;
  /** The route ("shop/web"). */
  route: string;
  strategy: 'canary' | 'blueGreen';
  /** The step reached (1-based) and the number of steps. */
  step: number;
  steps: number;
}

/**
 * The dedup key: two events with the same key are the same news. The rule, per type:
 *  - sync-started / sync-succeeded: app + revision (a revision starts and succeeds once; resyncs
 *    that change nothing send nothing);
 *  - sync-failed: app + revision + the failing objects (the same revision failing the same way on
 *    every retry is one message; another object failing, or another revision, is news);
 *  - rollback: app + revision + the objects rolled back (the reconciler sees the same rollback on
 *    every resync);
 *  - drift: app + each object with its drifted fields (the same fields drifting again and again,
 *    every 30 s resync, is one message; other fields or objects are news);
 *  - revision-refused: app + revision + the problems (a revision is refused once, however often
 *    the poll looks at it);
 *  - rollout-*: app + revision + the service (a rollout of one revision of one service ends
 *    once; the rollout record makes sure only the leader that wrote its end sends it).
 * Reasons with counters or times in them are not part of the key: only ids, fields and codes.
 */
export function dedupKey(e: NotificationEvent): string {
  const ids = (e.objects ?? []).map((o) => o.id).sort();
  switch (e.type) {
    case 'sync-started':
    case 'sync-succeeded':
      return [e.type, e.app, e.revision ?? ''].join('|');
    case 'sync-failed':
    case 'rollback':
      return [e.type, e.app, e.revision ?? '', ...ids].join('|');
    case 'drift':
      return [e.type, e.app, ...(e.objects ?? []).map((o) => `${o.id}=${driftFields(o.reason)}`).sort()].join('|');
    case 'revision-refused':
      return [e.type, e.app, e.revision ?? '', e.refusal ?? '', ...problemCodes(e.problems ?? [])].join('|');
    case 'rollout-promoted':
    case 'rollout-rolled-back':
    case 'rollout-aborted':
      return [e.type, e.app, e.revision ?? '', e.rollout?.service ?? '', ...ids].join('|');
  }
}

/** The field paths named in a drift reason ("drifted from the manifests (spec.env.A, spec.replicas)"). */
function driftFields(reason: string): string {
  const m = /\(([^()]*)\)/.exec(reason);
  return (m ? m[1] : reason)
    .split(',')
    .map((s) => s.trim())
    .sort()
    .join(',');
}

/** "file:line:col ... SC2003" -> "file SC2003": stable when the wording or the position moves. */
function problemCodes(problems: string[]): string[] {
  return problems.map((p) => `${/^[^:\s]+/.exec(p)?.[0] ?? ''} ${/SC\d{4}/.exec(p)?.[0] ?? p}`).sort();
}
