/**
 * The notifier the loop calls: `notify(event)` returns at once, never throws and does no I/O
 * (fire and forget); the event is deduplicated (dedup.ts), then handed to the queue of each
 * receiver that wants it, whose worker delivers it in the background (delivery.ts). A failing or
 * slow receiver therefore never fails or delays a sync, nor another receiver.
 *
 * src/notify/ imports only src/queue/ (clock, backoff), src/log.ts, src/errors.ts, src/units.ts
 * and src/config/; nothing in plan/, manifest/, swarm/ or controller/.
 */

import type { Clock } from '../queue/clock.js';
import type { Logger } from '../log.js';
import type { NotificationsConfig } from './config.js';
import { Deduplicator } from './dedup.js';
import { ReceiverQueue, type NotifyMetricsSink } from './delivery.js';
import type { NotificationEvent } from './events.js';
import type { SenderContext } from './payload.js';
import { createReceiver } from './receivers.js';

export interface NotifierDeps {
  clock: Clock;
  log: Logger;
  sender: SenderContext;
  metrics?: NotifyMetricsSink;
  /** For the jitter of retry delays; Math.random unless a test injects one. */
  random?: () => number;
  /** First retry delay (default 1 s, doubling up to maxRetryDelayMs, default 60 s). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

const noMetrics: NotifyMetricsSink = { notification: () => {} };

export class Notifier {
  private readonly queues: ReceiverQueue[];
  private readonly dedup: Deduplicator;
  private readonly metrics: NotifyMetricsSink;
  private readonly log: Logger;

  constructor(
    config: NotificationsConfig,
    private readonly deps: NotifierDeps,
  ) {
    this.metrics = deps.metrics ?? noMetrics;
    this.log = deps.log.child({ component: 'notify' });
    this.dedup = new Deduplicator(config.repeatIntervalMs);
    this.queues = config.receivers.map(
      (r) =>
        new ReceiverQueue(createReceiver(r), {
          clock: deps.clock,
          log: this.log,
          metrics: this.metrics,
          random: deps.random ?? Math.random,
          queueSize: config.queueSize,
          baseDelayMs: deps.retryDelayMs,
          maxDelayMs: deps.maxRetryDelayMs,
        }),
    );
  }

  /** Hands the event to every receiver that wants it, unless it repeats recent news. Returns at once. */
  notify(event: NotificationEvent): void {
    try {
      const verdict = this.dedup.check(event);
      if (!verdict.send) {
        this.metrics.suppressed?.(event.type);
        this.log.debug(
          { event: event.type, app: event.app },
          'notification suppressed: the same news was sent recently',
        );
        return;
      }
      for (const q of this.queues) {
        if (!q.receiver.wants(event)) continue;
        q.push({ event, sender: this.deps.sender, ...(verdict.repeats ? { repeats: verdict.repeats } : {}) });
      }
    } catch (err) {
      this.log.error({ err: String(err), event: event?.type }, 'notification could not be queued');
    }
  }

  /** Messages waiting per receiver, for status. */
  backlog(): Record<string, number> {
    return Object.fromEntries(this.queues.map((q) => [q.receiver.config.name, q.waiting + (q.busy ? 1 : 0)]));
  }

  /** Resolves once every queue is empty and idle (tests; a graceful shutdown may wait on it, bounded). */
  async idle(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.idle()));
  }

  /** Stops every worker; returns how many waiting messages were abandoned. */
  async stop(): Promise<number> {
    const counts = await Promise.all(this.queues.map((q) => q.stop()));
    const abandoned = counts.reduce((a, b) => a + b, 0);
    if (abandoned > 0) this.log.warn({ abandoned }, 'notifier stopped with messages not sent');
    return abandoned;
  }
}
