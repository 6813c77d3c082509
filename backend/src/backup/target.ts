import type { Readable } from 'node:stream';
import { WebDavProvider } from '../providers/webdav';
import type { RetryPolicy } from '../providers/retry';
import type { ByteRange } from '../providers/types';
import type { Health } from '../store/types';

/**
 * Where the second copy of every file goes: a WebDAV server (a Hetzner
 * Storage Box in production) behind the same adapter as WebDAV pool members,
 * used through the few operations a backup needs.
 */
export interface BackupTarget {
  /** Where the backups live, for logs and admin views (no credentials). */
  readonly description: string;
  /** One PUT of exactly `size` bytes from `content`; resolves once the server holds them. `signal` aborts it. */
  writeObject(remoteId: string, content: AsyncIterable<Buffer>, size: number, signal?: AbortSignal): Promise<void>;
  read(remoteId: string, range?: ByteRange): Promise<{ stream: Readable; size: number }>;
  /** Idempotent. */
  remove(remoteId: string): Promise<void>;
  check(): Promise<Health>;
}

/** Backups are named after the file they copy: `objects/<fileId>` under the target's root. */
export const backupRemoteId = (fileId: string): string => `objects/${fileId}`;

export function openBackupTarget(
  config: { url: string; username: string; password: string; root: string },
  options: { spoolDir: string; retry?: RetryPolicy; maxConnections?: number },
): BackupTarget {
  const provider = new WebDavProvider({
    url: config.url,
    username: config.username,
    password: config.password,
    root: config.root,
    // Backups never spool (they stream one PUT), but the adapter wants a place.
    spoolDir: options.spoolDir,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
  });
  const url = new URL(config.url);
  return {
    description: `${url.origin}${config.root}`,
    writeObject: (remoteId, content, size, signal) => provider.writeObject(remoteId, content, size, signal),
    read: (remoteId, range) => provider.read(remoteId, range),
    remove: (remoteId) => provider.remove(remoteId),
    check: () => provider.check(),
  };
}
