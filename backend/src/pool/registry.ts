import { NotFoundError } from '../core/errors';
import type { StorageProvider } from '../providers/types';
import type { AccountRecord, MetadataStore } from '../store/types';
import { type AccountCredentials, openCredentials } from './credentials';

/** Builds the adapter for one pool member from its opened credentials. */
/** `setup`: the adapter tests credentials of a member being added (a local member may then create its directory). */
export type ProviderFactory = (account: Pick<AccountRecord, 'id' | 'provider'>, credentials: AccountCredentials, setup?: boolean) => StorageProvider;

/**
 * Where pool members' adapters come from. Adapters are cached per account and
 * rebuilt when the sealed credentials change (a re-connected account), so a
 * Drive client keeps its access token and app-folder id between calls.
 */
export class AccountRegistry {
  private readonly cache = new Map<string, { sealed: string; provider: StorageProvider }>();

  constructor(
    private readonly deps: { store: MetadataStore; masterKey: Buffer; factory: ProviderFactory },
  ) {}

  credentialsOf(account: Pick<AccountRecord, 'provider' | 'credentials'>): AccountCredentials {
    return openCredentials(account.provider, account.credentials, this.deps.masterKey);
  }

  providerFor(account: AccountRecord): StorageProvider {
    const cached = this.cache.get(account.id);
    if (cached && cached.sealed === account.credentials) return cached.provider;
    const provider = this.deps.factory(account, this.credentialsOf(account));
    this.cache.set(account.id, { sealed: account.credentials, provider });
    return provider;
  }

  /** A provider for credentials not stored yet (to test them before an account is added). */
  probe(credentials: AccountCredentials): StorageProvider {
    return this.deps.factory({ id: 'probe', provider: credentials.provider }, credentials, true);
  }

  async get(id: string): Promise<AccountRecord> {
    const account = await this.deps.store.accounts.findById(id);
    if (!account) throw new NotFoundError('No such storage account', 'account_not_found');
    return account;
  }

  forget(id: string): void {
    this.cache.delete(id);
  }
}
