/**
 * What `controller run` does while the Swarm cannot take writes (no Raft quorum among the
 * managers, its engine gone, or no answer in time): the one policy for how often it asks the
 * Swarm again, and the record of the outage that status, logs and metrics show.
 *
 * The lease rounds are the controller's look at the Swarm (manager.ts): every third of the lease
 * while the Swarm answers, and while it does not, spaced by `outageBackoff`: the same third of
 * the lease, doubling each round, up to the whole lease, with +-20% jitter so replicas do not
 * come back in step: at most one lease (and its jitter) passes between quorum's return and the
 * next look, so a takeover after an outage costs one lease more, not more. The event stream's
 * reconnects follow the same policy from 1 s up to `outageMaxDelayMs`. Reconciles do not run
 * meanwhile: a replica that cannot renew its lease stops leading (leader-lease.ts), and the work
 * queue drops the keys of a replica that does not lead; what fails before that is retried by the
 * reconcile handler's per-key backoff (reconcile-handler.ts). `attemptsWithin` is the most rounds
 * the policy allows in an outage of a given length, the bound a test holds the engine's request
 * count to. No I/O.
 */
import { SwarmUnavailableError, type SwarmCondition } from '../errors.js';
import { backoffDelay, type BackoffPolicy } from '../queue/backoff.js';

/** The event stream's longest wait between reconnects to an engine that does not answer. */
export const outageMaxDelayMs = 10_000;

/**
 * The spacing of the looks while the Swarm cannot answer: from `firstMs` (the lease rounds' normal
 * spacing, a third of the lease), doubling, up to `maxMs` (for the lease rounds: the lease).
 */
export function outageBackoff(firstMs: number, maxMs = 3 * firstMs): BackoffPolicy {
  return {
    maxAttempts: Number.POSITIVE_INFINITY,
    baseDelayMs: firstMs,
    maxDelayMs: Math.max(firstMs, maxMs),
    jitter: true,
  };
}

/** The wait after the `failures`-th round in a row that could not reach the Swarm (1, 2, ...). */
export function outageDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  return backoffDelay(policy, failures, random);
}

/**
 * The most attempts `policy` makes in `ms` when the first comes at once and each wait is the
 * shortest its jitter allows (80%): the bound on the rounds of an outage that long.
 */
export function attemptsWithin(policy: BackoffPolicy, ms: number): number {
  const shortest = (n: number) => backoffDelay({ ...policy, jitter: false }, n) * (policy.jitter ? 0.8 : 1);
  let attempts = 1;
  for (let elapsed = shortest(1); elapsed <= ms; elapsed += shortest(attempts)) attempts++;
  return attempts;
}

/** The Swarm as this replica last found it, for /status (`swarm`), /healthz and the logs. */
export interface SwarmAccessStatus {
  /** False while the last look at the Swarm found it unable to take writes. */
  writable: boolean;
  condition?: SwarmCondition;
  /** When the outage began (the first look that failed), ISO time. */
  since?: string;
  /** The engine's words, or why the look had no answer. */
  reason?: string;
  /** Looks at the Swarm that failed in this outage. */
  failedLooks?: number;
  /** When the Swarm answered again after the last outage, ISO time. */
  recoveredAt?: string;
  /** How long the last outage lasted, in seconds. */
  lastOutageSeconds?: number;
}

/** The outage record: one look at a time, from the lease rounds. */
export class SwarmOutage {
  private state: SwarmAccessStatus = { writable: true };
  private sinceMs = 0;

  constructor(private readonly now: () => number) {}

  get status(): SwarmAccessStatus {
    return { ...this.state };
  }

  /**
   * One look's result: undefined when the Swarm answered. Returns what changed: 'lost' at the
   * first failed look, 'recovered' at the first answer after an outage.
   */
  look(problem: { condition: SwarmCondition; message: string } | undefined): 'lost' | 'recovered' | undefined {
    const now = this.now();
    if (problem) {
      const lost = this.state.writable;
      if (lost) this.sinceMs = now;
      this.state = {
        writable: false,
        condition: problem.condition,
        since: new Date(this.sinceMs).toISOString(),
        reason: problem.message,
        failedLooks: (lost ? 0 : (this.state.failedLooks ?? 0)) + 1,
        ...(this.state.recoveredAt ? { recoveredAt: this.state.recoveredAt } : {}),
        ...(this.state.lastOutageSeconds !== undefined ? { lastOutageSeconds: this.state.lastOutageSeconds } : {}),
      };
      return lost ? 'lost' : undefined;
    }
    if (this.state.writable) return undefined;
    this.state = {
      writable: true,
      recoveredAt: new Date(now).toISOString(),
      lastOutageSeconds: Math.round(now - this.sinceMs) / 1000,
    };
    return 'recovered';
  }
}

/** A request's result as `swarm_controller_engine_requests_total` counts it. */
export function requestResult(error: Error | undefined): 'ok' | 'no_quorum' | 'engine_unreachable' | 'error' {
  if (!error) return 'ok';
  if (error instanceof SwarmUnavailableError)
    return error.condition === 'engine-unreachable' ? 'engine_unreachable' : 'no_quorum';
  return 'error';
}

/** /healthz: "ok", and while the Swarm cannot take writes, which condition since when and why. */
export function healthText(s: SwarmAccessStatus): string {
  if (s.writable) return 'ok\n';
  return `ok: serving status, but the Swarm cannot take writes: ${s.condition} since ${s.since} (${s.failedLooks} looks failed; last: ${s.reason})\n`;
}
