import type { AccountRecord } from '../store/types';

/** Google's documented per-user upload allowance per rolling day: 750 GB. */
export const GOOGLE_DAILY_CAP_BYTES = 750 * 1000 ** 3;

/** An account as placement sees it: the stored record plus its rolling-day upload total. */
export interface PlacementCandidate {
  account: Pick<AccountRecord, 'id' | 'enabled' | 'draining' | 'health' | 'quotaLimit' | 'quotaUsed' | 'reserved' | 'lastChosenAt'>;
  /** Bytes uploaded to this account in the last 24 hours (including reservations in flight). */
  uploadedLast24h: number;
  /** Null when the member has no daily cap. */
  dailyCap: number | null;
  /** False while the account's circuit breaker is open. */
  circuitClosed: boolean;
}

/** Why an account cannot take an upload; shown in admin views and logs. */
export type Ineligibility = 'disabled' | 'draining' | 'unhealthy' | 'circuit_open' | 'no_space' | 'daily_cap';

/** Free bytes after reservations; Infinity when the member reports no limit. */
export function freeAfterReservations(a: PlacementCandidate['account']): number {
  return a.quotaLimit === null ? Number.POSITIVE_INFINITY : a.quotaLimit - a.quotaUsed - a.reserved;
}

export function ineligibility(c: PlacementCandidate, size: number): Ineligibility | null {
  const a = c.account;
  if (!a.enabled) return 'disabled';
  if (a.draining) return 'draining';
  if (a.health === 'down') return 'unhealthy';
  if (!c.circuitClosed) return 'circuit_open';
  if (freeAfterReservations(a) < size) return 'no_space';
  if (c.dailyCap !== null && c.uploadedLast24h + size > c.dailyCap) return 'daily_cap';
  return null;
}

/**
 * The placement policy (ARCHITECTURE.md): eligible accounts, most free space
 * after reservations first; ties go to the one chosen least recently (never
 * chosen counts as longest ago), then to the id for a stable order. The caller
 * tries them in this order, reserving atomically, and moves on when a
 * reservation or the upstream session fails.
 */
export function rankForUpload(candidates: PlacementCandidate[], size: number): PlacementCandidate[] {
  return candidates
    .filter((c) => ineligibility(c, size) === null)
    .sort((x, y) => {
      const freeX = freeAfterReservations(x.account);
      const freeY = freeAfterReservations(y.account);
      if (freeX !== freeY) return freeY > freeX ? 1 : -1;
      const chosenX = x.account.lastChosenAt?.getTime() ?? Number.NEGATIVE_INFINITY;
      const chosenY = y.account.lastChosenAt?.getTime() ?? Number.NEGATIVE_INFINITY;
      if (chosenX !== chosenY) return chosenX < chosenY ? -1 : 1;
      return x.account.id < y.account.id ? -1 : x.account.id > y.account.id ? 1 : 0;
    });
}
