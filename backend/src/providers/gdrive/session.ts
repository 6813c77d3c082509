import { PermanentError } from '../errors';

/** Drive's chunk unit: every chunk but the last is a multiple of 256 KiB. */
export const DRIVE_CHUNK = 256 * 1024;

/** Drive file ids: URL-safe base64 characters only. Anything else cannot name a file. */
export const DRIVE_ID = /^[A-Za-z0-9_-]{1,200}$/;

/**
 * A resumable upload as persisted in the file record: the session URI is the
 * whole credential for continuing it (Google authorises session requests by
 * the URI), so a new provider instance — after a gateway restart — needs
 * nothing else.
 */
export interface DriveUploadHandle {
  v: 1;
  provider: 'gdrive';
  uri: string;
  size: number;
  name: string;
}

export function encodeHandle(handle: Omit<DriveUploadHandle, 'v' | 'provider'>): string {
  const full: DriveUploadHandle = { v: 1, provider: 'gdrive', uri: handle.uri, size: handle.size, name: handle.name };
  return JSON.stringify(full);
}

export function decodeHandle(raw: string): DriveUploadHandle {
  let h: Partial<DriveUploadHandle> | undefined;
  try {
    h = JSON.parse(raw) as Partial<DriveUploadHandle>;
  } catch {
    h = undefined;
  }
  if (
    h &&
    h.v === 1 &&
    h.provider === 'gdrive' &&
    typeof h.uri === 'string' &&
    isHttpUrl(h.uri) &&
    typeof h.size === 'number' &&
    Number.isSafeInteger(h.size) &&
    h.size >= 0 &&
    typeof h.name === 'string'
  ) {
    return { v: 1, provider: 'gdrive', uri: h.uri, size: h.size, name: h.name };
  }
  throw new PermanentError('Not an upload handle of the Google Drive provider');
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** `Content-Range` for `length` bytes at `offset` of a `size`-byte upload; an empty body is a status query (`bytes *\/size`). */
export function contentRange(offset: number, length: number, size: number): string {
  return length === 0 ? `bytes */${size}` : `bytes ${offset}-${offset + length - 1}/${size}`;
}

/**
 * Bytes committed according to a 308's `Range: bytes=0-N` (N + 1). No header
 * means nothing is committed yet. A header that is not a prefix range is a
 * protocol violation we refuse to guess about.
 */
export function committedFromRange(range: string | null | undefined): number {
  if (range === null || range === undefined || range.trim() === '') return 0;
  const m = /^bytes=0-(\d+)$/.exec(range.trim());
  if (!m) throw new PermanentError(`Unreadable Range header from Drive: ${JSON.stringify(range)}`);
  return Number(m[1]) + 1;
}

/** How much of a chunk Drive can take: all of a final chunk, else the largest 256 KiB multiple. */
export function sendableLength(offset: number, length: number, size: number): number {
  return offset + length === size ? length : length - (length % DRIVE_CHUNK);
}

/** Escapes a value for a single-quoted string in Drive's `q` language. */
export function quoteQueryValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Size of a file from a media reply: the total of a 206's Content-Range, else Content-Length. */
export function sizeFromMediaHeaders(status: number, contentRange: string | null, contentLength: string | null): number | undefined {
  if (status === 206 && contentRange) {
    const m = /^bytes \d+-\d+\/(\d+)$/.exec(contentRange.trim());
    if (m) return Number(m[1]);
  }
  if (status === 200 && contentLength !== null && /^\d+$/.test(contentLength.trim())) return Number(contentLength.trim());
  return undefined;
}
