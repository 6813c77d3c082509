import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../src/auth/throttle';
import { ManualClock } from '../../src/core/clock';

describe('LoginThrottle', () => {
  const policy = { windowMs: 60_000, perAccount: 3, perIp: 5 };

  it('blocks an account at its limit until the oldest failure leaves the window', () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock, policy);
    throttle.recordFailure('1.1.1.1', 'a');
    clock.advance(10_000);
    throttle.recordFailure('1.1.1.1', 'a');
    throttle.recordFailure('1.1.1.1', 'a');
    expect(throttle.retryAfter('1.1.1.1', 'a')).toBe(50);
    expect(throttle.retryAfter('2.2.2.2', 'b')).toBe(0);
    clock.advance(50_000);
    expect(throttle.retryAfter('1.1.1.1', 'a')).toBe(0);
  });

  it('blocks an IP across accounts, and ignores the account when none is given', () => {
    const throttle = new LoginThrottle(new ManualClock(), policy);
    for (const email of ['a', 'b', 'c', 'd', 'e']) throttle.recordFailure('9.9.9.9', email);
    expect(throttle.retryAfter('9.9.9.9')).toBe(60);
    expect(throttle.retryAfter('8.8.8.8', 'a')).toBe(0);
  });

  it('counts an attempt as soon as it begins, and forgets it when it succeeds', () => {
    const throttle = new LoginThrottle(new ManualClock(), policy);
    // Three attempts in flight at once use up the account's budget before any password is checked.
    expect([throttle.begin('1.1.1.1', 'a'), throttle.begin('1.1.1.1', 'a'), throttle.begin('1.1.1.1', 'a')]).toEqual([0, 0, 0]);
    expect(throttle.begin('1.1.1.1', 'a')).toBe(60);
    throttle.succeeded('1.1.1.1', 'a');
    expect(throttle.begin('1.1.1.2', 'a')).toBe(0);
  });

  it('does not let successes use up the IP budget', () => {
    const throttle = new LoginThrottle(new ManualClock(), policy);
    for (let i = 0; i < 20; i++) {
      expect(throttle.begin('7.7.7.7', `user${i}`)).toBe(0);
      throttle.succeeded('7.7.7.7', `user${i}`);
    }
  });
});
