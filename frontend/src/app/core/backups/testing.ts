import type { BackupItem } from './backups.types';

/** A file as the admin backup list shows it (specs only). */
export function backupItem(patch: Partial<BackupItem> = {}): BackupItem {
  return {
    id: '0b6f3c1e-2222-4222-8222-222222222222',
    name: 'video.mp4',
    size: 5 * 1024 ** 2,
    mimeType: 'video/mp4',
    sha256: 'cd'.repeat(32),
    state: 'complete',
    createdAt: '2026-03-01T10:00:00.000Z',
    ownerId: 'u1',
    accountId: 'acc1',
    remoteId: 'r1',
    backup: {
      state: 'failed',
      attempts: 5,
      lastError: 'Storage Box refused the upload',
      backedUpAt: null,
      remotePath: null,
      nextAttemptAt: null,
      leaseUntil: null,
    },
    ...patch,
  };
}
