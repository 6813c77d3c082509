import path from 'node:path';
import type { Logger } from '../core/logger';
import { GoogleDriveProvider } from '../providers/gdrive';
import { LocalDiskProvider } from '../providers/local';
import type { RetryPolicy } from '../providers/retry';
import type { StorageProvider } from '../providers/types';
import { WebDavProvider } from '../providers/webdav';
import type { AccountCredentials } from './credentials';
import type { ProviderFactory } from './registry';

export interface ProviderEnvironment {
  googleEndpoints: { apiRootUrl: string; tokenUrl: string };
  /** Where WebDAV members spool chunks until their one PUT; each member gets a folder of its own. */
  spoolDir: string;
  retry?: RetryPolicy;
  logger?: Logger;
}

/**
 * Retries while an admin waits for an account to be added: one more try soon,
 * then a clear answer (a server that is down is reported in seconds, not after
 * a minute of backoff).
 */
const SETUP_RETRY: RetryPolicy = { attempts: 2, baseDelayMs: 500, maxDelayMs: 2000 };

/** Builds the adapter for a pool member from its (opened) credentials and the process environment. */
export function createProviderFactory(env: ProviderEnvironment): ProviderFactory {
  return (account, value: AccountCredentials, setup = false): StorageProvider => {
    const policy = env.retry ?? (setup ? SETUP_RETRY : undefined);
    const retry = policy ? { retry: policy } : {};
    switch (value.provider) {
      case 'local':
        return new LocalDiskProvider(value.credentials.path, { initialise: setup });
      case 'gdrive':
        return new GoogleDriveProvider({
          credentials: value.credentials,
          endpoints: env.googleEndpoints,
          ...retry,
          ...(env.logger ? { logger: env.logger.child({ accountId: account.id }) } : {}),
        });
      case 'webdav':
        return new WebDavProvider({
          url: value.credentials.url,
          username: value.credentials.username,
          password: value.credentials.password,
          root: value.credentials.root,
          spoolDir: path.join(env.spoolDir, account.id),
          ...retry,
        });
    }
  };
}
