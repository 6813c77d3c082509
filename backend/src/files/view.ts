import type { BackupState, FileRecord, FileState } from '../store/types';

/**
 * The file object of the API contract (ARCHITECTURE.md): what users see.
 * Where the bytes live (account, remote ids, backup path) is left out; only
 * admin views show it.
 */
export interface FileView {
  id: string;
  name: string;
  size: number;
  mimeType: string;
  sha256: string | null;
  state: FileState;
  createdAt: string;
  backup: { state: BackupState; attempts: number; lastError: string | null; backedUpAt: string | null };
}

export function toFileView(file: FileRecord): FileView {
  return {
    id: file.id,
    name: file.name,
    size: file.size,
    mimeType: file.mimeType,
    sha256: file.sha256,
    state: file.state,
    createdAt: file.createdAt.toISOString(),
    backup: {
      state: file.backup.state,
      attempts: file.backup.attempts,
      lastError: userFacingBackupError(file),
      backedUpAt: file.backup.backedUpAt ? file.backup.backedUpAt.toISOString() : null,
    },
  };
}

/**
 * What the owner learns when a backup is struggling: that it is, and whether
 * it will be retried — not the recorded error, which names servers, paths and
 * storage ids (those are for the admin backup views).
 */
function userFacingBackupError(file: FileRecord): string | null {
  if (file.backup.lastError === null) return null;
  return file.backup.state === 'failed' && file.backup.nextAttemptAt === null
    ? 'The backup copy could not be made; an administrator can retry it'
    : 'The backup copy could not be made yet; it is retried automatically';
}
