/** Shapes of the upload API (ARCHITECTURE.md, "Upload"). */

/** `POST /api/v1/upload/initiate` → 201. */
export interface InitiatedUpload {
  fileId: string;
  /** A path on this origin, e.g. `/ws_api/upload/<fileId>`. */
  uploadUrl: string;
  uploadToken: string;
  chunkSize: number;
}

export type FileState = 'pending' | 'uploading' | 'complete' | 'cancelled' | 'expired' | 'failed';

/** The file object of the API contract. */
export interface UploadedFile {
  id: string;
  name: string;
  size: number;
  mimeType: string;
  sha256: string | null;
  state: FileState;
  createdAt: string;
  backup: {
    state: 'disabled' | 'pending' | 'running' | 'done' | 'failed';
    attempts: number;
    lastError: string | null;
    backedUpAt: string | null;
  };
}

/** What the server sends on `/ws_api/upload/<fileId>`. */
export type ServerMessage =
  | { type: 'ready'; offset: number }
  | { type: 'progress'; committed: number; received: number }
  | { type: 'complete'; file: UploadedFile }
  | { type: 'cancelled'; file: UploadedFile }
  | { type: 'error'; code: string; message: string; retryable: boolean };

/**
 * Where one file's upload stands, as the dashboard shows it:
 * waiting → uploading ⇄ reconnecting → complete | failed | cancelled
 * (cancelling in between while the server confirms a cancel).
 */
export type UploadPhase =
  'waiting' | 'uploading' | 'reconnecting' | 'cancelling' | 'complete' | 'failed' | 'cancelled';

export interface UploadSnapshot {
  phase: UploadPhase;
  /** Bytes durably stored upstream. */
  committed: number;
  /** Bytes the gateway has received (≥ committed). */
  received: number;
  /** While reconnecting: whole seconds until the next attempt. */
  retryInSeconds: number | null;
  /** Why it is reconnecting or failed (or a note on a cancel the server could not confirm). */
  message: string | null;
  /** Set once complete. */
  file: UploadedFile | null;
  /** A failed upload may be retried; `resumable` says whether that continues it or starts over. */
  resumable: boolean;
}

export const TERMINAL_PHASES: readonly UploadPhase[] = ['complete', 'failed', 'cancelled'];
