import path from 'node:path';

/** Most filesystems and Drive cap a name at 255 bytes; we keep to that so a name always round-trips. */
export const MAX_NAME_BYTES = 255;

/**
 * Control characters, and Unicode direction overrides that make "evil‮txt.exe"
 * display as "evilexe.txt".
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A user-supplied filename made safe to store and to send back in a
 * Content-Disposition header: the last path segment only (clients on Windows
 * send backslashes), NFC, no control or bidi-override characters, no leading or
 * trailing dots or spaces, at most 255 UTF-8 bytes with the extension kept.
 * Returns null when nothing usable is left ("", ".", "..", "   ").
 */
export function sanitizeFilename(input: string): string | null {
  const lastSegment = input.split(/[\\/]/).pop() ?? '';
  let name = lastSegment.normalize('NFC').replace(/\s+/g, ' ').replace(UNSAFE, '');
  name = name.replace(/^[\s.]+/, '').replace(/[\s.]+$/, '');
  if (name === '') return null;
  return truncateKeepingExtension(name, MAX_NAME_BYTES);
}

function truncateKeepingExtension(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  const ext = path.extname(name);
  const keepExt = ext.length > 1 && Buffer.byteLength(ext) <= 32 ? ext : '';
  const budget = maxBytes - Buffer.byteLength(keepExt);
  let stem = '';
  // Whole code points only, so no character is cut in half.
  for (const ch of name.slice(0, name.length - keepExt.length)) {
    if (Buffer.byteLength(stem + ch) > budget) break;
    stem += ch;
  }
  return stem.trimEnd() + keepExt;
}

/** `type/subtype` with optional parameters, as in RFC 9110 (lenient on case, strict on shape). */
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}(\s*;\s*[a-z0-9!#$&^_.+-]+=("[^"\r\n]*"|[a-z0-9!#$&^_.+-]+))*$/i;

export const isValidMimeType = (value: string): boolean => MIME.test(value);

const BY_EXTENSION: Record<string, string> = {
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.md': 'text/markdown',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.json': 'application/json',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mov': 'video/quicktime',
};

/** The declared type when it is well-formed, else a guess from the extension, else octet-stream. */
export function resolveMimeType(declared: string | undefined, filename: string): string {
  if (declared !== undefined && declared.trim() !== '' && isValidMimeType(declared.trim())) return declared.trim().toLowerCase();
  return BY_EXTENSION[path.extname(filename).toLowerCase()] ?? 'application/octet-stream';
}
