import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/backup/worker';

/** The backup retry schedule: min(base·2^(attempts−1) + jitter, max), never sooner than a server's Retry-After (within max). */
describe('backup retry schedule', () => {
  const policy = { maxAttempts: 8, baseMs: 30_000, maxMs: 3_600_000 };

  it('doubles from the base after each failed attempt, with up to one base of jitter', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, policy, () => 0))).toEqual([30_000, 60_000, 120_000, 240_000, 480_000]);
    expect(retryDelayMs(1, policy, () => 0.5)).toBe(45_000);
    expect(retryDelayMs(3, policy, () => 0.999)).toBeLessThan(150_000);
  });

  it('never waits longer than the maximum', () => {
    expect(retryDelayMs(8, policy, () => 0)).toBe(3_600_000);
    expect(retryDelayMs(50, policy, () => 1)).toBe(3_600_000);
  });

  it("waits at least as long as the server's Retry-After, still capped", () => {
    expect(retryDelayMs(1, policy, () => 0, 600_000)).toBe(600_000);
    expect(retryDelayMs(1, policy, () => 0, 10_000)).toBe(30_000);
    expect(retryDelayMs(1, policy, () => 0, 99_000_000)).toBe(3_600_000);
  });
});
