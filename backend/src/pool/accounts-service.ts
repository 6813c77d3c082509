import { z } from 'zod';
import type { Clock } from '../core/clock';
import { AppError, BadGatewayError, BadRequestError, ConflictError } from '../core/errors';
import type { Logger } from '../core/logger';
import { AuthRevokedError, PermanentError, ProviderError } from '../providers/errors';
import type { QuotaReport, StorageProvider } from '../providers/types';
import type { AccountRecord, Health, MetadataStore, Provider } from '../store/types';
import type { CircuitStatus } from './circuit-breaker';
import { type AccountCredentials, gdriveCredentials, localCredentials, publicDetails, sealCredentials, webdavCredentials } from './credentials';
import { circuitOf, describeFailure, type PoolHealth } from './health';
import type { AccountRegistry } from './registry';

const DAY_MS = 24 * 60 * 60 * 1000;

const name = z.string({ error: 'name is required' }).trim().min(1, 'name is required').max(100, 'name is too long');
const dailyCap = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().optional();

/** The admin API's "add an account" body, one shape per provider (ARCHITECTURE.md). */
export const addAccountBody = z.discriminatedUnion(
  'provider',
  [
    z.strictObject({ provider: z.literal('gdrive'), name, dailyCap, ...gdriveCredentials.shape }),
    z.strictObject({ provider: z.literal('webdav'), name, dailyCap, ...webdavCredentials.shape }),
    z.strictObject({
      provider: z.literal('local'),
      name,
      dailyCap,
      path: localCredentials.shape.path
        .refine((p) => p.startsWith('/'), 'must be an absolute path')
        // Kernel and device trees are not storage (and a recursive mkdir under /proc never returns).
        .refine((p) => !/^\/(proc|sys|dev)(\/|$)/.test(p), 'must not be under /proc, /sys or /dev'),
    }),
  ],
  { error: 'provider must be one of gdrive, webdav, local' },
);
export type AddAccountInput = z.output<typeof addAccountBody>;

export const patchAccountBody = z
  .strictObject({ name: name.optional(), enabled: z.boolean().optional(), draining: z.boolean().optional(), dailyCap })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'nothing to change');
export type PatchAccountInput = z.output<typeof patchAccountBody>;

/** An account as the admin API shows it (ARCHITECTURE.md): no credential ever. */
export interface AccountView {
  id: string;
  provider: Provider;
  name: string;
  enabled: boolean;
  draining: boolean;
  health: Health;
  circuit: CircuitStatus;
  quota: { limit: number | null; used: number; reserved: number };
  uploadedLast24h: number;
  dailyCap: number | null;
  lastCheckAt: string | null;
  lastError: string | null;
  details: Record<string, string>;
  createdAt: string;
}

export interface Actor {
  id: string | null;
  ip: string | null;
}

/**
 * The admin side of the pool: add (after proving the credentials work), list
 * with live numbers, enable/disable/drain, check now, remove. Every change is
 * audited.
 */
export class AccountsService {
  constructor(
    private readonly deps: {
      store: MetadataStore;
      registry: AccountRegistry;
      health: PoolHealth;
      clock: Clock;
      logger: Logger;
      masterKey: Buffer;
      googleDailyCapBytes: number;
    },
  ) {}

  async list(): Promise<{ items: AccountView[]; total: number }> {
    const now = this.deps.clock.now();
    const [accounts, placed] = await Promise.all([
      this.deps.store.accounts.list(),
      this.deps.store.files.placedBytesSince(new Date(now.getTime() - DAY_MS)),
    ]);
    const items = accounts.map((a) => this.view(a, placed[a.id] ?? 0, now));
    return { items, total: items.length };
  }

  async get(id: string): Promise<AccountView> {
    const account = await this.deps.registry.get(id);
    const now = this.deps.clock.now();
    const placed = await this.deps.store.files.placedBytesSince(new Date(now.getTime() - DAY_MS));
    return this.view(account, placed[id] ?? 0, now);
  }

  /** Adds a member after a real round trip proves its credentials and reads its quota. */
  async add(input: AddAccountInput, actor: Actor): Promise<AccountView> {
    const credentials = toCredentials(input);
    const { provider, quota } = await this.verify(credentials);
    const defaultCap = input.provider === 'gdrive' ? this.deps.googleDailyCapBytes : null;
    const account = await this.deps.store.accounts.create({
      provider: input.provider,
      name: input.name,
      credentials: sealCredentials(credentials, this.deps.masterKey),
      quotaLimit: provider.capabilities.reportsQuota ? quota.limit : null,
      quotaUsed: provider.capabilities.reportsQuota ? quota.used : 0,
      dailyCap: input.dailyCap === undefined ? defaultCap : input.dailyCap,
    });
    const checked = await this.deps.store.accounts.update(account.id, { health: 'healthy', lastCheckAt: this.deps.clock.now() });
    await this.audit(actor, 'account.add', account.id, { provider: account.provider, name: account.name });
    this.deps.logger.info({ accountId: account.id, provider: account.provider }, 'storage account added');
    return this.get((checked ?? account).id);
  }

  async update(id: string, patch: PatchAccountInput, actor: Actor): Promise<AccountView> {
    await this.deps.registry.get(id);
    await this.deps.store.accounts.update(id, {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      ...(patch.draining !== undefined ? { draining: patch.draining } : {}),
      ...(patch.dailyCap !== undefined ? { dailyCap: patch.dailyCap } : {}),
      // Re-enabling is an admin's call that the problem is fixed: give it a clean slate.
      ...(patch.enabled === true ? { consecutiveFailures: 0, lastFailureAt: null } : {}),
    });
    await this.audit(actor, 'account.update', id, { ...patch });
    return this.get(id);
  }

  /**
   * Removes a member. Refused while files live on it, unless `force`: then those
   * files lose their primary copy (served from the backup where one exists) and
   * unfinished uploads move to another member when their client reconnects.
   */
  async remove(id: string, force: boolean, actor: Actor): Promise<void> {
    const account = await this.deps.registry.get(id);
    const files = await this.deps.store.files.countLiveOnAccount(id);
    if (files > 0 && !force) {
      throw new ConflictError(
        'account_in_use',
        `This account holds ${files} file(s). Drain it and move them first, or remove it with ?force=true (those files then rely on their backup).`,
      );
    }
    // Disabled first, so placement stops choosing it before its files are let go.
    await this.deps.store.accounts.update(id, { enabled: false });
    const detached = await this.deps.store.files.detachAccount(id);
    await this.deps.store.accounts.remove(id);
    this.deps.registry.forget(id);
    await this.audit(actor, 'account.remove', id, { provider: account.provider, name: account.name, force, files, detached });
    this.deps.logger.warn({ accountId: id, force, files }, 'storage account removed');
  }

  async check(id: string, actor: Actor): Promise<AccountView> {
    const account = await this.deps.registry.get(id);
    await this.deps.health.check(account);
    await this.audit(actor, 'account.check', id, {});
    return this.get(id);
  }

  /**
   * The embedded default: on a first start with an empty pool, the local disk
   * directory becomes the one member, so `npm start` can take uploads at once.
   */
  async ensureEmbeddedMember(dir: string | null): Promise<AccountRecord | null> {
    if (dir === null || (await this.deps.store.accounts.list()).length > 0) return null;
    const credentials: AccountCredentials = { provider: 'local', credentials: { path: dir } };
    const { quota } = await this.verify(credentials);
    const account = await this.deps.store.accounts.create({
      provider: 'local',
      name: 'Local disk',
      credentials: sealCredentials(credentials, this.deps.masterKey),
      quotaLimit: quota.limit,
      quotaUsed: quota.used,
      dailyCap: null,
    });
    await this.deps.store.accounts.update(account.id, { health: 'healthy', lastCheckAt: this.deps.clock.now() });
    await this.audit({ id: null, ip: null }, 'account.add', account.id, { provider: 'local', name: account.name, embedded: true });
    this.deps.logger.info({ accountId: account.id, dir }, 'embedded local storage member created');
    return account;
  }

  /** Builds the adapter for not-yet-stored credentials and proves them with a quota read and a test write. */
  private async verify(credentials: AccountCredentials): Promise<{ provider: StorageProvider; quota: QuotaReport }> {
    try {
      // The constructor itself may refuse (a URL with credentials in it, a bad root).
      const provider = this.deps.registry.probe(credentials);
      const quota = await provider.quota();
      if ((await provider.check()) !== 'healthy') throw new PermanentError('the member answered, but a test write failed');
      return { provider, quota };
    } catch (err) {
      if (err instanceof AppError) throw err;
      const reason = describeFailure(err);
      if (err instanceof AuthRevokedError) throw new BadRequestError('invalid_credentials', `The credentials were refused: ${reason}`);
      if (err instanceof PermanentError) throw new BadRequestError('account_unusable', `This account cannot be used: ${reason}`);
      if (err instanceof ProviderError) throw new BadGatewayError('account_unreachable', `The account could not be reached: ${reason}`);
      throw err;
    }
  }

  private view(a: AccountRecord, uploadedLast24h: number, now: Date): AccountView {
    let details: Record<string, string> = {};
    try {
      details = publicDetails(this.deps.registry.credentialsOf(a));
    } catch {
      // A record sealed under another MASTER_KEY: listable, but not usable until re-added.
      details = { error: 'credentials cannot be opened with this MASTER_KEY' };
    }
    return {
      id: a.id,
      provider: a.provider,
      name: a.name,
      enabled: a.enabled,
      draining: a.draining,
      health: a.health,
      circuit: circuitOf(a, now, this.deps.health.breaker),
      quota: { limit: a.quotaLimit, used: a.quotaUsed, reserved: a.reserved },
      uploadedLast24h,
      dailyCap: a.dailyCap,
      lastCheckAt: a.lastCheckAt ? a.lastCheckAt.toISOString() : null,
      lastError: a.lastError,
      details,
      createdAt: a.createdAt.toISOString(),
    };
  }

  private async audit(actor: Actor, action: string, accountId: string, details: Record<string, unknown>): Promise<void> {
    await this.deps.store.audit.append({ actorId: actor.id, action, targetType: 'account', targetId: accountId, ip: actor.ip, details });
  }
}

function toCredentials(input: AddAccountInput): AccountCredentials {
  switch (input.provider) {
    case 'gdrive':
      return { provider: 'gdrive', credentials: { clientId: input.clientId, clientSecret: input.clientSecret, refreshToken: input.refreshToken } };
    case 'webdav':
      return { provider: 'webdav', credentials: { url: input.url, username: input.username, password: input.password, root: input.root } };
    case 'local':
      return { provider: 'local', credentials: { path: input.path } };
  }
}
