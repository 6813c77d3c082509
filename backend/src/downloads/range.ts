import type { ByteRange } from '../providers/types';

/**
 * What a `Range` request header asks of a file of `size` bytes (RFC 9110
 * §14.1.2, §14.2):
 * - `full`: answer 200 with the whole file — no header, another unit, a
 *   header we cannot parse, or several ranges (the RFC lets a server answer
 *   any Range with the whole representation; multipart/byteranges buys
 *   browsers nothing, they only ever ask for one range);
 * - `partial`: answer 206 with this inclusive range;
 * - `unsatisfiable`: answer 416 with `Content-Range: bytes *\/size`.
 *
 * A syntactically invalid header is ignored (200 with the whole file) rather
 * than refused: the RFC allows it, and it is what a client that sent a broken
 * header can always use.
 */
export type RangeRequest = { kind: 'full' } | { kind: 'partial'; range: ByteRange } | { kind: 'unsatisfiable' };

const SPEC = /^(\d*)-(\d*)$/;

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'full' };
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match) return { kind: 'full' };
  const specs = (match[1] ?? '').split(',').map((s) => s.trim());
  if (specs.length !== 1) return { kind: 'full' };
  const spec = SPEC.exec(specs[0] ?? '');
  if (!spec) return { kind: 'full' };
  const [, first = '', last = ''] = spec;
  if (first === '' && last === '') return { kind: 'full' };

  if (first === '') {
    // Suffix `-n`: the last n bytes. `-0` and any suffix of an empty file select nothing.
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - n), end: size - 1 } };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'full' }; // `5-3` is invalid: ignored
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: 'partial', range: { start, end } };
}

/**
 * `If-Range` (RFC 9110 §13.1.5): the Range applies only while the
 * representation is still the one the client has part of. We validate with
 * our strong ETag only; a date (or anything else) means "send it all".
 */
export function rangeStillApplies(ifRange: string | undefined, etag: string | null): boolean {
  if (ifRange === undefined) return true;
  const given = ifRange.trim();
  return etag !== null && !given.startsWith('W/') && given === etag;
}

/** `Content-Range` of a 206 answer. */
export const contentRange = (range: ByteRange, size: number): string => `bytes ${range.start}-${range.end}/${size}`;
