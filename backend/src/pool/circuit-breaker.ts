/**
 * Per-account circuit breaker. After `threshold` consecutive failures the
 * circuit opens and placement skips the account; once `coolDownMs` has passed
 * one trial is let through (half-open): success closes it, failure re-opens it
 * for another cool-down. Pure state transitions over stored fields
 * (`consecutiveFailures`, `lastCheckAt`), so every process agrees.
 */
export interface BreakerPolicy {
  threshold: number;
  coolDownMs: number;
}

export const DEFAULT_BREAKER: BreakerPolicy = { threshold: 3, coolDownMs: 5 * 60 * 1000 };

export interface BreakerState {
  consecutiveFailures: number;
  /** When the last failure happened; null if none. */
  lastFailureAt: Date | null;
}

export type CircuitStatus = 'closed' | 'open' | 'half_open';

export function circuitStatus(state: BreakerState, now: Date, policy: BreakerPolicy = DEFAULT_BREAKER): CircuitStatus {
  if (state.consecutiveFailures < policy.threshold) return 'closed';
  const since = state.lastFailureAt ? now.getTime() - state.lastFailureAt.getTime() : Number.POSITIVE_INFINITY;
  return since >= policy.coolDownMs ? 'half_open' : 'open';
}

export const recordSuccess = (): BreakerState => ({ consecutiveFailures: 0, lastFailureAt: null });

export const recordFailure = (state: BreakerState, now: Date): BreakerState => ({
  consecutiveFailures: state.consecutiveFailures + 1,
  lastFailureAt: now,
});
