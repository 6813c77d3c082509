import type { UploadedFile } from '../uploads/upload.types';

/** Shapes of the files API (ARCHITECTURE.md, "Files and downloads"). */

/** The file object of the API contract, as listed by `GET /api/v1/files`. */
export type StoredFile = UploadedFile;

export type BackupState = StoredFile['backup']['state'];

/** What `GET /api/v1/files?sort=` accepts: a field, descending with a leading `-`. */
export type FileSort = 'createdAt' | '-createdAt' | 'name' | '-name' | 'size' | '-size';

export interface FileQuery {
  /** 1-based. */
  page: number;
  /** At most 100. */
  limit: number;
  /** Matches file names; empty means all. */
  q: string;
  sort: FileSort;
}

/** Lists are `{items, total}`. */
export interface Page<T> {
  items: T[];
  total: number;
}

/** `POST /api/v1/download/tickets` → a same-origin URL that works without the bearer token for a few minutes. */
export interface DownloadTicket {
  url: string;
  expiresAt: string;
}
