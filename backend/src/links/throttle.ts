import type { Clock } from '../core/clock';

export interface PasswordThrottlePolicy {
  /** Wrong passwords allowed per link within the window. */
  limit: number;
  windowMs: number;
}

export const DEFAULT_LINK_THROTTLE: PasswordThrottlePolicy = { limit: 10, windowMs: 15 * 60 * 1000 };

/** Upper bound on tracked links, so a flood of guesses against many links cannot grow memory without limit. */
const MAX_KEYS = 100_000;

/**
 * Wrong link passwords, counted per link in a sliding window. Like the login
 * throttle (auth/throttle.ts) an attempt counts as a failure the moment it
 * starts and is taken back when the password turns out right, so a burst of
 * parallel guesses cannot all slip past the check while argon2 is busy.
 * In-process: with several API replicas the limit applies per replica.
 */
export class LinkPasswordThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly policy: PasswordThrottlePolicy = DEFAULT_LINK_THROTTLE,
  ) {}

  /** Seconds to wait before another guess (0: go ahead — and the guess is counted until `succeeded`). */
  begin(linkId: string): number {
    const now = this.clock.now().getTime();
    const times = (this.failures.get(linkId) ?? []).filter((t) => now - t < this.policy.windowMs);
    if (times.length >= this.policy.limit) {
      this.failures.set(linkId, times);
      const unblockAt = (times[times.length - this.policy.limit] ?? now) + this.policy.windowMs;
      return Math.max(1, Math.ceil((unblockAt - now) / 1000));
    }
    times.push(now);
    this.failures.delete(linkId);
    if (this.failures.size >= MAX_KEYS) {
      // Forget the longest-untouched link (Map keeps insertion order; touched ones are re-inserted).
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(linkId, times);
    return 0;
  }

  /** The password was right: the guess `begin` counted is taken back. */
  succeeded(linkId: string): void {
    const times = this.failures.get(linkId);
    times?.pop();
    if (times?.length === 0) this.failures.delete(linkId);
  }
}
