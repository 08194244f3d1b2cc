/**
 * Deduplication of notification events: the same news (dedup key, events.ts) is sent once per
 * repeat interval; repeats in between are counted and the next message that goes out says how
 * many there were. A success of an app forgets that app's failures, so fail -> ok -> fail sends
 * three messages. Bounded memory: the oldest keys are forgotten first. Pure (time is passed in).
 */

import { dedupKey, type NotificationEvent } from './events.js';

export interface Repeats {
  /** How many times the same news was seen and not sent since the last message. */
  count: number;
  /** ms: when the first of those was seen. */
  since: number;
}

export type DedupVerdict = { send: true; repeats?: Repeats } | { send: false };

interface Seen {
  sentAt: number;
  suppressed: number;
  firstSuppressedAt: number;
  app: string;
}

export class Deduplicator {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly repeatIntervalMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  check(e: NotificationEvent): DedupVerdict {
    if (e.type === 'sync-succeeded') this.forgetProblems(e.app);
    const key = dedupKey(e);
    const s = this.seen.get(key);
    if (s && e.at - s.sentAt < this.repeatIntervalMs) {
      if (s.suppressed === 0) s.firstSuppressedAt = e.at;
      s.suppressed++;
      return { send: false };
    }
    const repeats = s && s.suppressed > 0 ? { count: s.suppressed, since: s.firstSuppressedAt } : undefined;
    this.seen.delete(key);
    this.seen.set(key, { sentAt: e.at, suppressed: 0, firstSuppressedAt: 0, app: e.app });
    if (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value as string);
    return repeats ? { send: true, repeats } : { send: true };
  }

  private forgetProblems(app: string): void {
    for (const [key, s] of this.seen) {
      if (s.app === app && (key.startsWith('sync-failed|') || key.startsWith('rollback|'))) this.seen.delete(key);
    }
  }
}
