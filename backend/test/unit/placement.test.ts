import { describe, expect, it } from 'vitest';
import { circuitStatus, recordFailure, recordSuccess } from '../../src/pool/circuit-breaker';
import { GOOGLE_DAILY_CAP_BYTES, ineligibility, type PlacementCandidate, rankForUpload } from '../../src/pool/placement';

const GB = 1000 ** 3;

function candidate(id: string, over: Partial<PlacementCandidate['account']> = {}, extra: Partial<Omit<PlacementCandidate, 'account'>> = {}): PlacementCandidate {
  return {
    account: { id, enabled: true, draining: false, health: 'healthy', quotaLimit: 100, quotaUsed: 0, reserved: 0, lastChosenAt: null, ...over },
    uploadedLast24h: 0,
    dailyCap: null,
    circuitClosed: true,
    ...extra,
  };
}

describe('placement', () => {
  it('prefers the most free space after reservations', () => {
    const ranked = rankForUpload(
      [candidate('a', { quotaUsed: 50 }), candidate('b', { quotaUsed: 10, reserved: 30 }), candidate('c', { quotaUsed: 5 })],
      10,
    );
    expect(ranked.map((c) => c.account.id)).toEqual(['c', 'b', 'a']);
  });

  it('treats an unlimited member as having the most space', () => {
    expect(rankForUpload([candidate('small'), candidate('unlimited', { quotaLimit: null })], 1)[0]?.account.id).toBe('unlimited');
  });

  it('breaks ties by least recently chosen, never-chosen first', () => {
    const ranked = rankForUpload(
      [
        candidate('recent', { lastChosenAt: new Date('2026-01-02') }),
        candidate('older', { lastChosenAt: new Date('2026-01-01') }),
        candidate('never'),
      ],
      1,
    );
    expect(ranked.map((c) => c.account.id)).toEqual(['never', 'older', 'recent']);
  });

  it.each([
    ['disabled', candidate('x', { enabled: false })],
    ['draining', candidate('x', { draining: true })],
    ['unhealthy', candidate('x', { health: 'down' })],
    ['circuit_open', candidate('x', {}, { circuitClosed: false })],
    ['no_space', candidate('x', { quotaUsed: 60, reserved: 31 })],
    ['daily_cap', candidate('x', { quotaLimit: null }, { dailyCap: GOOGLE_DAILY_CAP_BYTES, uploadedLast24h: 745 * GB })],
  ])('excludes an account that is %s', (reason, c) => {
    const size = reason === 'daily_cap' ? 6 * GB : 10;
    expect(ineligibility(c, size)).toBe(reason);
    expect(rankForUpload([c], size)).toEqual([]);
  });

  it('lets a file that exactly fills the free space in', () => {
    expect(ineligibility(candidate('x', { quotaUsed: 60, reserved: 30 }), 10)).toBeNull();
    expect(ineligibility(candidate('x', {}, { dailyCap: 100, uploadedLast24h: 90 }), 10)).toBeNull();
  });
});

describe('circuit breaker', () => {
  const policy = { threshold: 3, coolDownMs: 60_000 };
  const t0 = new Date('2026-01-01T00:00:00Z');

  it('opens after the threshold of consecutive failures, half-opens after the cool-down, closes on success', () => {
    let state = recordSuccess();
    for (let i = 0; i < 2; i++) state = recordFailure(state, t0);
    expect(circuitStatus(state, t0, policy)).toBe('closed');
    state = recordFailure(state, t0);
    expect(circuitStatus(state, new Date(t0.getTime() + 59_999), policy)).toBe('open');
    expect(circuitStatus(state, new Date(t0.getTime() + 60_000), policy)).toBe('half_open');
    // A failed trial re-opens it for another cool-down.
    const later = new Date(t0.getTime() + 61_000);
    state = recordFailure(state, later);
    expect(circuitStatus(state, new Date(later.getTime() + 1_000), policy)).toBe('open');
    expect(circuitStatus(recordSuccess(), later, policy)).toBe('closed');
  });
});
