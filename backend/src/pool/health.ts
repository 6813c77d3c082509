import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import { AuthRevokedError, ProviderError, QuotaExceededError } from '../providers/errors';
import type { EventBus } from '../realtime/event-bus';
import type { AccountPatch, AccountRecord, Health, MetadataStore } from '../store/types';
import { type BreakerPolicy, circuitStatus, type CircuitStatus, DEFAULT_BREAKER } from './circuit-breaker';
import type { AccountRegistry } from './registry';

/** A short, log-safe description of what went wrong (never a credential). */
export function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const kind = err instanceof ProviderError ? err.name.replace(/Error$/, '') : 'Error';
  return `${kind}: ${message}`.slice(0, 500);
}

/** The circuit as placement and admin views see it, from the stored failure count and time. */
export function circuitOf(account: Pick<AccountRecord, 'consecutiveFailures' | 'lastFailureAt'>, now: Date, policy = DEFAULT_BREAKER): CircuitStatus {
  return circuitStatus({ consecutiveFailures: account.consecutiveFailures, lastFailureAt: account.lastFailureAt }, now, policy);
}

/**
 * Health of pool members: periodic probes (`quota()` doubles as the probe: it
 * proves the credentials and refreshes the numbers placement relies on) and
 * the outcome of every real operation feed one consecutive-failure circuit
 * breaker per account. Revoked credentials (Drive `invalid_grant`) disable the
 * account until an admin re-connects it.
 */
export class PoolHealth {
  private timer: NodeJS.Timeout | undefined;
  private sweep: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      store: MetadataStore;
      registry: AccountRegistry;
      clock: Clock;
      logger: Logger;
      events: EventBus;
      breaker?: BreakerPolicy;
    },
  ) {}

  get breaker(): BreakerPolicy {
    return this.deps.breaker ?? DEFAULT_BREAKER;
  }

  circuit(account: AccountRecord): CircuitStatus {
    return circuitOf(account, this.deps.clock.now(), this.breaker);
  }

  /** An operation on the account worked: the circuit closes. */
  async recordSuccess(account: AccountRecord): Promise<void> {
    if (account.consecutiveFailures === 0 && account.health === 'healthy') return;
    await this.apply(account, { consecutiveFailures: 0, lastFailureAt: null, health: 'healthy', lastError: null });
  }

  /** An operation on the account failed with `err`. */
  async recordFailure(account: AccountRecord, err: unknown): Promise<void> {
    const now = this.deps.clock.now();
    const reason = describeFailure(err);
    if (err instanceof AuthRevokedError) {
      this.deps.logger.warn({ accountId: account.id, reason }, 'storage account credentials revoked; account disabled');
      await this.apply(account, {
        enabled: false,
        health: 'down',
        lastError: `Access was revoked or expired; re-connect the account (${reason})`,
        consecutiveFailures: account.consecutiveFailures + 1,
        lastFailureAt: now,
      });
      return;
    }
    if (err instanceof QuotaExceededError && (await this.refreshQuota(account))) {
      // Full is not broken: the fresh numbers keep placement away until space frees up.
      await this.apply(account, { lastError: reason });
      return;
    }
    const failures = account.consecutiveFailures + 1;
    const open = circuitStatus({ consecutiveFailures: failures, lastFailureAt: now }, now, this.breaker) !== 'closed';
    this.deps.logger.warn({ accountId: account.id, failures, reason }, 'storage account operation failed');
    await this.apply(account, { consecutiveFailures: failures, lastFailureAt: now, lastError: reason, health: open ? 'down' : 'degraded' });
  }

  /** Probes one account now; returns the updated record. */
  async check(account: AccountRecord): Promise<AccountRecord> {
    const now = this.deps.clock.now();
    try {
      const provider = this.deps.registry.providerFor(account);
      const quota = await provider.quota();
      const patch: AccountPatch = { lastCheckAt: now, consecutiveFailures: 0, lastFailureAt: null, health: 'healthy', lastError: null };
      if (provider.capabilities.reportsQuota) {
        patch.quotaLimit = quota.limit;
        patch.quotaUsed = quota.used;
      }
      return await this.apply(account, patch);
    } catch (err) {
      await this.deps.store.accounts.update(account.id, { lastCheckAt: now });
      await this.recordFailure({ ...account, lastCheckAt: now }, err);
      return (await this.deps.store.accounts.findById(account.id)) ?? account;
    }
  }

  /** Probes every enabled account, a few at a time. */
  async checkAll(): Promise<void> {
    const accounts = (await this.deps.store.accounts.list()).filter((a) => a.enabled);
    const queue = [...accounts];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await this.check(next);
    };
    await Promise.all(Array.from({ length: Math.min(4, queue.length) }, worker));
  }

  /** Runs `checkAll` now and then every `intervalMs` (0: never). One sweep at a time. */
  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.timer) return;
    const run = () => {
      if (this.sweep) return;
      this.sweep = this.checkAll()
        .catch((err: unknown) => this.deps.logger.error({ err }, 'pool health sweep failed'))
        .finally(() => (this.sweep = undefined));
    };
    run();
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sweep;
  }

  private async refreshQuota(account: AccountRecord): Promise<boolean> {
    try {
      const provider = this.deps.registry.providerFor(account);
      if (!provider.capabilities.reportsQuota) return false;
      const quota = await provider.quota();
      await this.deps.store.accounts.update(account.id, { quotaLimit: quota.limit, quotaUsed: quota.used, lastCheckAt: this.deps.clock.now() });
      return true;
    } catch {
      return false;
    }
  }

  private async apply(account: AccountRecord, patch: AccountPatch): Promise<AccountRecord> {
    const updated = (await this.deps.store.accounts.update(account.id, patch)) ?? { ...account, ...patch };
    if (updated.health !== account.health || updated.enabled !== account.enabled || updated.lastError !== account.lastError) {
      this.deps.events.publish({
        type: 'account.health',
        accountId: account.id,
        health: updated.health as Health,
        enabled: updated.enabled,
        lastError: updated.lastError,
        at: this.deps.clock.now().toISOString(),
      });
    }
    return updated;
  }
}
