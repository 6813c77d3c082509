import type { BackupState, StoredFile } from '../files/files.types';

/** Shapes of the admin backup API (ARCHITECTURE.md, "Admin"). */

export const BACKUP_STATES: readonly BackupState[] = [
  'pending',
  'running',
  'done',
  'failed',
  'disabled',
];

/** `GET /api/v1/admin/backups/summary`: how many files are in each backup state. */
export type BackupSummary = Record<BackupState, number>;

/** A file as the admin backup list shows it: the file object plus where its copies live. */
export interface BackupItem extends Omit<StoredFile, 'backup'> {
  ownerId: string;
  accountId: string | null;
  remoteId: string | null;
  backup: StoredFile['backup'] & {
    remotePath: string | null;
    nextAttemptAt: string | null;
    leaseUntil: string | null;
  };
}
