/**
 * Backoff for talking to pool members. Google's rule for rate limits and 5xx
 * (FACTS.md): wait `min(2^n s + random ≤ 1 s, max)` and try again. Every
 * adapter takes a `RetryPolicy` so tests can shrink the waits to milliseconds.
 */
export interface RetryPolicy {
  /** How many times one operation is tried in all (the first try included). */
  attempts: number;
  /** The unit of the exponential: attempt n waits 2^n × base plus up to one base of jitter. */
  baseDelayMs: number;
  /** No single wait is longer than this. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 7, baseDelayMs: 1000, maxDelayMs: 32_000 };

/** The wait before retry number `retry` (0 for the first retry), with full-unit jitter. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = 2 ** retry * policy.baseDelayMs;
  return Math.min(exponential + random() * policy.baseDelayMs, policy.maxDelayMs);
}

/** The longer of the server's `Retry-After` and our own backoff, never past `maxDelayMs`. */
export function delayFor(retry: number, policy: RetryPolicy, retryAfterMs?: number, random?: () => number): number {
  return Math.min(Math.max(backoffDelay(retry, policy, random), retryAfterMs ?? 0), policy.maxDelayMs);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
