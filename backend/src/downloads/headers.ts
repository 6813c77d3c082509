/**
 * Pure helpers for the headers of a download: validators, Content-Disposition
 * and which types a browser may render inline.
 */

/** Strong ETag from the content hash: equal bytes, equal tag, on every replica and after a restore from backup. */
export const etagOf = (sha256: string | null): string | null => (sha256 ? `"${sha256}"` : null);

/**
 * `If-None-Match` (RFC 9110 §13.1.2) against our ETag, with the weak
 * comparison the RFC prescribes for it: `*`, or any listed tag whose opaque
 * part equals ours. True means "answer 304".
 */
export function noneMatchHits(header: string | undefined, etag: string | null): boolean {
  if (header === undefined || etag === null) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => opaque(tag) === etag);
}

export type Disposition = 'attachment' | 'inline';

/** RFC 8187 attr-char: everything else in `filename*` is percent-encoded. */
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

/**
 * `Content-Disposition` with both names (RFC 6266 §4.3): `filename*` carries
 * the real name in UTF-8 (RFC 8187), `filename` an ASCII fallback for old
 * clients, with quotes, backslashes, path separators, control and non-ASCII
 * characters replaced by `_`.
 */
export function contentDisposition(disposition: Disposition, name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\/%]/g, '_') || 'download';
  let encoded = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const ch = String.fromCharCode(byte);
    encoded += byte < 0x80 && ATTR_CHAR.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** `type/subtype` in lower case, parameters dropped. */
export const essenceOf = (mimeType: string): string => (mimeType.split(';')[0] ?? '').trim().toLowerCase();

/**
 * Whether the preview endpoint may let the browser render a type inline:
 * images (SVG excepted: it runs script), audio, video, PDF and plain text.
 * Everything else — HTML above all — is an attachment, so a file uploaded by
 * one user can never run as a page of our origin.
 */
export function previewable(mimeType: string): boolean {
  const essence = essenceOf(mimeType);
  if (essence === 'application/pdf' || essence === 'text/plain') return true;
  const [type, subtype = ''] = essence.split('/');
  if (type === 'image') return !subtype.includes('svg');
  return type === 'audio' || type === 'video';
}
