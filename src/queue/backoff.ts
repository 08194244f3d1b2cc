/** Exponential backoff: base x 2^(attempt-1), capped; optional jitter of up to +-20%. */

export interface BackoffPolicy {
  /** Attempts in all, including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  jitter?: boolean;
}

export const defaultBackoff: BackoffPolicy = { maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 10_000, jitter: true };

/** `random` is the jitter's source (default Math.random; tests fix it). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return policy.jitter ? Math.round(raw * (0.8 + 0.4 * random())) : raw;
}
