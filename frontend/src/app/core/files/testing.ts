import type { StoredFile } from './files.types';

/** A file object as `GET /api/v1/files` lists it (specs only). */
export function storedFile(patch: Partial<StoredFile> = {}): StoredFile {
  return {
    id: '0b6f3c1e-1111-4111-8111-111111111111',
    name: 'report.pdf',
    size: 1536,
    mimeType: 'application/pdf',
    sha256: 'ab'.repeat(32),
    state: 'complete',
    createdAt: '2026-03-01T10:00:00.000Z',
    backup: { state: 'done', attempts: 1, lastError: null, backedUpAt: '2026-03-01T10:01:00.000Z' },
    ...patch,
  };
}
