import type { Readable } from 'node:stream';
import { TransientError } from '../providers/errors';
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
  /** Reads a copy for the backup jobs (verification), over the jobs' own connections. */
  read(remoteId: string, range?: ByteRange): Promise<{ stream: Readable; size: number }>;
  /**
   * Reads a copy for a download (fallback, ZIP), over connections of its own:
   * a download holds its connection at the client's pace, possibly for hours,
   * and must never hold up backups. When all of them are busy it fails at once
   * (TransientError) instead of queueing, so the client gets a quick 503.
   */
  readForDownload(remoteId: string, range?: ByteRange): Promise<{ stream: Readable; size: number }>;
  /** Idempotent. */
  remove(remoteId: string): Promise<void>;
  check(): Promise<Health>;
}

/** Backups are named after the file they copy: `objects/<fileId>` under the target's root. */
export const backupRemoteId = (fileId: string): string => `objects/${fileId}`;

export interface BackupTargetOptions {
  spoolDir: string;
  retry?: RetryPolicy;
  /** Connections for backup jobs: one per running backup, plus a few for deletions. */
  jobConnections: number;
  /** Connections for downloads reading from the backup (see readForDownload). */
  downloadConnections: number;
}

/**
 * Someone is waiting for a download: one quick second try, and a server that
 * does not answer within a few seconds counts as down (the backup jobs, with
 * nobody waiting, retry for minutes instead).
 */
export const DOWNLOAD_READ_RETRY: RetryPolicy = { attempts: 2, baseDelayMs: 250, maxDelayMs: 1000 };
const DOWNLOAD_READ_TIMEOUT_MS = 10_000;

export function openBackupTarget(config: { url: string; username: string; password: string; root: string }, options: BackupTargetOptions): BackupTarget {
  const adapter = (maxConnections: number, tuning: { retry?: RetryPolicy; timeoutMs?: number }) =>
    new WebDavProvider({
      url: config.url,
      username: config.username,
      password: config.password,
      root: config.root,
      // Backups never spool (they stream one PUT), but the adapter wants a place.
      spoolDir: options.spoolDir,
      maxConnections,
      ...(tuning.retry ? { retry: tuning.retry } : {}),
      ...(tuning.timeoutMs ? { timeoutMs: tuning.timeoutMs } : {}),
    });
  const jobs = adapter(options.jobConnections, { ...(options.retry ? { retry: options.retry } : {}) });
  const downloads = adapter(options.downloadConnections, { retry: DOWNLOAD_READ_RETRY, timeoutMs: DOWNLOAD_READ_TIMEOUT_MS });
  let downloadsOpen = 0;
  const url = new URL(config.url);
  return {
    description: `${url.origin}${config.root}`,
    writeObject: (remoteId, content, size, signal) => jobs.writeObject(remoteId, content, size, signal),
    read: (remoteId, range) => jobs.read(remoteId, range),
    async readForDownload(remoteId, range) {
      if (downloadsOpen >= options.downloadConnections) {
        throw new TransientError(`All ${options.downloadConnections} connections for downloads from the backup server are busy`);
      }
      downloadsOpen += 1;
      let opened: { stream: Readable; size: number };
      try {
        opened = await downloads.read(remoteId, range);
      } catch (err) {
        downloadsOpen -= 1;
        throw err;
      }
      opened.stream.once('close', () => (downloadsOpen -= 1));
      return opened;
    },
    remove: (remoteId) => jobs.remove(remoteId),
    check: () => jobs.check(),
  };
}
