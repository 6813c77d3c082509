import path from 'node:path';
import { LocalDiskProvider } from '../providers/local';
import type { RetryPolicy } from '../providers/retry';
import type { StorageProvider } from '../providers/types';
import type { AccountCredentials } from './credentials';
import type { ProviderFactory } from './registry';

export interface ProviderEnvironment {
  googleEndpoints: { apiRootUrl: string; tokenUrl: string };
  /** Where WebDAV members spool chunks until the one PUT (a folder per account). */
  spoolDir: string;
  retry?: RetryPolicy;
}

/** The adapters for every kind of pool member, configured from the environment. */
export function createProviderFactory(env: ProviderEnvironment): ProviderFactory {
  return (account, value: AccountCredentials): StorageProvider => {
    switch (value.provider) {
      case 'local':
        return new LocalDiskProvider(value.credentials.path);
      case 'gdrive':
      case 'webdav':
        throw new Error(`${value.provider} members are not wired yet (${path.join(env.spoolDir, account.id)})`);
    }
  };
}
