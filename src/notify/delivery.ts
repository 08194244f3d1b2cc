/**
 * One receiver's queue and its worker: messages wait in a bounded queue (when full, the oldest
 * is dropped and counted) and are delivered one at a time, in order, each with retries:
 * exponential backoff with jitter (src/queue/backoff.ts, injected random), Retry-After honoured,
 * at most maxAttempts attempts and no attempt later than maxRetryTime after the first; then
 * the message is given up with a log line and a metric. Every text logged is scrubbed of the
 * secrets the deliveries used. Time comes from the injected clock: tests step it.
 */

import { backoffDelay, type BackoffPolicy } from '../queue/backoff.js';
import type { Clock } from '../queue/clock.js';
import type { Logger } from '../log.js';
import type { EventType } from './events.js';
import { attempt } from './http-attempt.js';
import type { Message } from './payload.js';
import { originOf, Redactor } from './redact.js';
import { SecretFileError, type Receiver } from './receivers.js';

export type DeliveryResult = 'delivered' | 'rejected' | 'gave-up' | 'dropped';

export interface NotifyMetricsSink {
  /** What became of a message at a receiver. */
  notification(receiver: string, event: EventType, result: DeliveryResult): void;
  /** One HTTP attempt and how long it took. */
  attempt?(receiver: string, ok: boolean, seconds: number): void;
  /** An event not sent because it repeats news sent within the repeat interval. */
  suppressed?(event: EventType): void;
}

export interface DeliveryDeps {
  clock: Clock;
  log: Logger;
  metrics: NotifyMetricsSink;
  random: () => number;
  queueSize: number;
  /** First retry delay; doubles up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class ReceiverQueue {
  private readonly items: Message[] = [];
  private running = false;
  private stopped = false;
  private wakeStop: () => void = () => {};
  private readonly cancel = new AbortController();
  private readonly stopping: Promise<void>;
  private idleWaiters: (() => void)[] = [];
  private readonly redactor = new Redactor();
  private readonly log: Logger;

  constructor(
    readonly receiver: Receiver,
    private readonly deps: DeliveryDeps,
  ) {
    this.stopping = new Promise((resolve) => (this.wakeStop = resolve));
    this.log = deps.log.child({ receiver: receiver.config.name, receiverType: receiver.config.type });
  }

  /** Messages waiting (not counting the one being delivered). */
  get waiting(): number {
    return this.items.length;
  }

  get busy(): boolean {
    return this.running;
  }

  push(m: Message): void {
    if (this.stopped) return;
    if (this.items.length >= this.deps.queueSize) {
      const dropped = this.items.shift() as Message;
      this.deps.metrics.notification(this.receiver.config.name, dropped.event.type, 'dropped');
      this.log.warn(
        { event: dropped.event.type, app: dropped.event.app, queueSize: this.deps.queueSize },
        'notification queue full: the oldest message was dropped',
      );
    }
    this.items.push(m);
    if (!this.running) void this.run();
  }

  /** Resolves once the queue is empty and nothing is being delivered. */
  idle(): Promise<void> {
    if (!this.running && this.items.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops: waiting messages are abandoned, a backoff wait ends now, an attempt in flight is cancelled. */
  async stop(): Promise<number> {
    this.stopped = true;
    const abandoned = this.items.length;
    this.items.length = 0;
    this.wakeStop();
    this.cancel.abort();
    await this.idle();
    return abandoned;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.items.length > 0 && !this.stopped) {
        const m = this.items.shift() as Message;
        try {
          await this.deliver(m);
        } catch (err) {
          // deliver handles every failure it knows; this is a bug, and it must not stop the worker.
          this.log.error({ err: this.redactor.scrub(String(err)) }, 'notification delivery failed unexpectedly');
        }
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async deliver(m: Message): Promise<void> {
    const { clock, metrics } = this.deps;
    const r = this.receiver.config;
    const policy: BackoffPolicy = {
      maxAttempts: r.maxAttempts,
      baseDelayMs: this.deps.baseDelayMs ?? 1000,
      maxDelayMs: this.deps.maxDelayMs ?? 60_000,
      jitter: true,
    };
    const fields = { event: m.event.type, app: m.event.app };
    const first = clock.now();
    for (let n = 1; ; n++) {
      let req;
      try {
        req = await this.receiver.prepare(m, this.redactor);
      } catch (err) {
        const error = err instanceof SecretFileError ? err.message : `cannot build the request: ${String(err)}`;
        metrics.notification(r.name, m.event.type, 'rejected');
        this.log.warn({ ...fields, error: this.redactor.scrub(error) }, 'notification not sent');
        return;
      }
      const started = clock.now();
      const result = await attempt(req, r.timeoutMs, clock, this.cancel.signal);
      const ok =
        result.outcome === 'delivered' ||
        (result.outcome === 'rejected' && this.receiver.acceptsRefusal(result.status, result.body));
      metrics.attempt?.(r.name, ok, (clock.now() - started) / 1000);
      const target = originOf(req.url);
      if (ok) {
        metrics.notification(r.name, m.event.type, 'delivered');
        this.log.debug({ ...fields, target, attempts: n, status: result.status }, 'notification delivered');
        return;
      }
      if (result.outcome === 'rejected') {
        metrics.notification(r.name, m.event.type, 'rejected');
        this.log.warn(
          { ...fields, target, attempts: n, status: result.status, error: this.redactor.scrub(result.error) },
          'notification refused by the receiver; not retried',
        );
        return;
      }
      if (result.outcome !== 'retry') return;
      const error = this.redactor.scrub(result.error);
      const delay = Math.max(backoffDelay(policy, n, this.deps.random), result.retryAfterMs ?? 0);
      const tooLate = clock.now() + delay - first > r.maxRetryMs;
      if (n >= r.maxAttempts || tooLate || this.stopped) {
        metrics.notification(r.name, m.event.type, 'gave-up');
        const why = this.stopped
          ? 'the notifier is stopping'
          : n >= r.maxAttempts
            ? `${n} attempt(s) failed`
            : `the next attempt would start past maxRetryTime (${r.maxRetryMs} ms)`;
        this.log.warn({ ...fields, target, attempts: n, error }, `notification given up: ${why}`);
        return;
      }
      this.log.debug(
        { ...fields, target, attempt: n, error, retryInMs: delay },
        'notification attempt failed; retrying',
      );
      await Promise.race([clock.sleep(delay), this.stopping]);
    }
  }
}
