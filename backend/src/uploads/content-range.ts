// `Content-Range` of a resumable PUT, as in Google's and GCS's resumable
// protocols: `bytes a-b/total` carries bytes a..b (inclusive); `bytes */total`
// sends nothing and asks where the upload stands.
export type ContentRange = { kind: 'bytes'; start: number; end: number; total: number } | { kind: 'query'; total: number | null };

const BYTES = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16})$/;
const QUERY = /^bytes \*\/(\d{1,16}|\*)$/;

// Parses the header; returns null when it is malformed or impossible (end before start, past total).
export function parseContentRange(header: string | undefined): ContentRange | null {
  if (header === undefined) return null;
  const value = header.trim();
  const query = QUERY.exec(value);
  if (query) return { kind: 'query', total: query[1] === '*' ? null : Number(query[1]) };
  const bytes = BYTES.exec(value);
  if (!bytes) return null;
  const [start, end, total] = [Number(bytes[1]), Number(bytes[2]), Number(bytes[3])];
  if (!Number.isSafeInteger(total) || end < start || end >= total) return null;
  return { kind: 'bytes', start, end, total };
}

/** The `Range` header of a 308 reply: what is committed, or nothing when no byte is. */
export const committedRange = (committed: number): string | null => (committed > 0 ? `bytes=0-${committed - 1}` : null);
