import type { Clock } from '../core/clock';

export interface ThrottlePolicy {
  windowMs: number;
  /** Failed logins for one account within the window before it is throttled. */
  perAccount: number;
  /** Failed auth requests (login or refresh) from one IP within the window. */
  perIp: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { windowMs: 15 * 60 * 1000, perAccount: 5, perIp: 50 };

/** Upper bound on tracked keys, so a flood of distinct emails cannot grow memory without limit. */
const MAX_KEYS = 100_000;

/**
 * Counts failures only: a user who logs in successfully is never slowed down,
 * and a success clears that account's failures. Sliding window per key.
 *
 * In-process state: with several API replicas each counts on its own, so the
 * effective limit is per replica. Good enough for brute-force protection;
 * move it to Redis when replicas are introduced.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly policy: ThrottlePolicy = DEFAULT_THROTTLE,
  ) {}

  /** Seconds until another attempt is allowed, or 0 if it is allowed now. */
  retryAfter(ip: string, email?: string): number {
    const now = this.clock.now().getTime();
    const waits = [this.wait(`ip:${ip}`, this.policy.perIp, now)];
    if (email !== undefined) waits.push(this.wait(`account:${email}`, this.policy.perAccount, now));
    return Math.max(...waits);
  }

  /**
   * Checks and, if allowed, counts the attempt as a failure straight away, in
   * one synchronous step. A password check takes tens of milliseconds; counting
   * only after it would let a burst of parallel guesses all pass the check.
   * Call `succeeded` when the attempt turns out fine.
   */
  begin(ip: string, email?: string): number {
    const wait = this.retryAfter(ip, email);
    if (wait === 0) this.recordFailure(ip, email);
    return wait;
  }

  /** Undoes `begin`'s provisional failure: successes are never counted, and clear the account. */
  succeeded(ip: string, email?: string): void {
    const key = `ip:${ip}`;
    const times = this.failures.get(key);
    times?.pop();
    if (times?.length === 0) this.failures.delete(key);
    if (email !== undefined) this.failures.delete(`account:${email}`);
  }

  recordFailure(ip: string, email?: string): void {
    const now = this.clock.now().getTime();
    this.push(`ip:${ip}`, now);
    if (email !== undefined) this.push(`account:${email}`, now);
  }

  private wait(key: string, limit: number, now: number): number {
    const times = this.recent(key, now);
    if (times.length < limit) return 0;
    // Blocked until enough of the oldest failures leave the window.
    const unblockAt = (times[times.length - limit] ?? now) + this.policy.windowMs;
    return Math.max(1, Math.ceil((unblockAt - now) / 1000));
  }

  private recent(key: string, now: number): number[] {
    const times = this.failures.get(key);
    if (!times) return [];
    const fresh = times.filter((t) => now - t < this.policy.windowMs);
    if (fresh.length === 0) this.failures.delete(key);
    else if (fresh.length !== times.length) this.failures.set(key, fresh);
    return fresh;
  }

  private push(key: string, now: number): void {
    const times = this.recent(key, now);
    times.push(now);
    if (!this.failures.has(key) && this.failures.size >= MAX_KEYS) this.evictOldest();
    this.failures.set(key, times);
  }

  private evictOldest(): void {
    const first = this.failures.keys().next();
    if (!first.done) this.failures.delete(first.value);
  }
}
