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
      lastError: file.backup.lastError,
      backedUpAt: file.backup.backedUpAt ? file.backup.backedUpAt.toISOString() : null,
    },
  };
}
