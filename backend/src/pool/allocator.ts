import type { Clock } from '../core/clock';
import { InsufficientStorageError, ServiceUnavailableError } from '../core/errors';
import type { Logger } from '../core/logger';
import { QuotaExceededError, RateLimitedError } from '../providers/errors';
import type { StorageProvider, UploadHandle, UploadTarget } from '../providers/types';
import type { AccountRecord, MetadataStore } from '../store/types';
import { circuitOf, type PoolHealth } from './health';
import { type PlacementCandidate, rankForUpload } from './placement';
import type { AccountRegistry } from './registry';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface Placement {
  account: AccountRecord;
  provider: StorageProvider;
  handle: UploadHandle;
  placedAt: Date;
}

/**
 * Puts a new upload on a pool member (ARCHITECTURE.md, "Placement policy"):
 * rank the eligible members, reserve the size atomically on the best one, open
 * the upstream session there; if the reservation loses a race or the session
 * cannot start, give the reservation back, note the failure, try the next.
 * The reservation is what keeps concurrent uploads — in this process or
 * another sharing the store — from oversubscribing a member.
 */
export class Allocator {
  constructor(
    private readonly deps: { store: MetadataStore; registry: AccountRegistry; health: PoolHealth; clock: Clock; logger: Logger },
  ) {}

  /** Every account with what placement needs to judge it, ranked best first for `size`. */
  async rank(size: number, exclude: ReadonlySet<string> = new Set()): Promise<Array<PlacementCandidate & { record: AccountRecord }>> {
    const now = this.deps.clock.now();
    const [accounts, placed] = await Promise.all([
      this.deps.store.accounts.list(),
      this.deps.store.files.placedBytesSince(new Date(now.getTime() - DAY_MS)),
    ]);
    const candidates = accounts
      .filter((a) => !exclude.has(a.id))
      .map((record) => {
        const circuit = circuitOf(record, now, this.deps.health.breaker);
        return {
          record,
          // A member whose cool-down has passed gets a trial even though its last state was down.
          account: { ...record, health: circuit === 'half_open' && record.health === 'down' ? ('degraded' as const) : record.health },
          uploadedLast24h: placed[record.id] ?? 0,
          dailyCap: record.dailyCap,
          circuitClosed: circuit !== 'open',
        };
      });
    return rankForUpload(candidates, size) as Array<PlacementCandidate & { record: AccountRecord }>;
  }

  async place(target: UploadTarget, options: { exclude?: ReadonlySet<string> } = {}): Promise<Placement> {
    const ranked = await this.rank(target.size, options.exclude);
    let retryAfterMs: number | undefined;
    let onlyFull = true;
    for (const candidate of ranked) {
      const account = candidate.record;
      const placedAt = this.deps.clock.now();
      if (!(await this.deps.store.accounts.reserve(account.id, target.size, placedAt))) continue;
      try {
        const provider = this.deps.registry.providerFor(account);
        const handle = await provider.startUpload(target);
        await this.deps.health.recordSuccess(account);
        return { account, provider, handle, placedAt };
      } catch (err) {
        await this.deps.store.accounts.release(account.id, target.size);
        await this.deps.health.recordFailure(account, err);
        this.deps.logger.warn({ accountId: account.id, err }, 'could not start an upload on this account; trying the next');
        if (!(err instanceof QuotaExceededError)) onlyFull = false;
        if (err instanceof RateLimitedError) retryAfterMs = Math.max(retryAfterMs ?? 0, err.retryAfterMs);
      }
    }
    if (onlyFull) throw new InsufficientStorageError();
    // Members had room but none could start a session (outage, rate limits): worth retrying soon.
    throw new ServiceUnavailableError(
      'storage_unavailable',
      'No storage account could start the upload right now; please try again shortly',
      (retryAfterMs ?? 30_000) / 1000,
    );
  }
}
