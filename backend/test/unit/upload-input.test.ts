import { describe, expect, it } from 'vitest';
import { committedRange, parseContentRange } from '../../src/uploads/content-range';
import { isValidMimeType, MAX_NAME_BYTES, resolveMimeType, sanitizeFilename } from '../../src/uploads/filename';

describe('sanitizeFilename', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['C:\\Users\\me\\Desktop\\photo.jpg', 'photo.jpg'],
    ['../../etc/passwd', 'passwd'],
    ['  spaced   out  .txt  ', 'spaced out .txt'],
    ['evil\u202Etxt.exe', 'eviltxt.exe'],
    ['tab\tand\nnewline.txt', 'tab and newline.txt'],
    ['nul\u0000byte.bin', 'nulbyte.bin'],
    ['...hidden', 'hidden'],
    ['trailing dots...', 'trailing dots'],
    ['Cafe\u0301.txt', 'Café.txt'],
  ])('%j → %j', (input, expected) => {
    expect(sanitizeFilename(input)).toBe(expected);
  });

  it.each(['', '.', '..', '   ', '/', 'dir/', '\u202E'])('refuses %j', (input) => {
    expect(sanitizeFilename(input)).toBeNull();
  });

  it('keeps the extension and whole characters when shortening to 255 bytes', () => {
    const name = sanitizeFilename(`${'é'.repeat(300)}.tar.gz`)!;
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(name.endsWith('é.gz')).toBe(true);
    expect(name).not.toContain('\uFFFD');
  });
});

describe('mime types', () => {
  it('accepts well-formed types and guesses from the extension otherwise', () => {
    expect(isValidMimeType('text/plain; charset=utf-8')).toBe(true);
    expect(isValidMimeType('not a type')).toBe(false);
    expect(resolveMimeType('Image/PNG', 'x.bin')).toBe('image/png');
    expect(resolveMimeType('garbage', 'x.PDF')).toBe('application/pdf');
    expect(resolveMimeType(undefined, 'noext')).toBe('application/octet-stream');
  });
});

describe('Content-Range of resumable PUTs', () => {
  it('parses byte ranges and status queries', () => {
    expect(parseContentRange('bytes 0-4194303/10000000')).toEqual({ kind: 'bytes', start: 0, end: 4194303, total: 10000000 });
    expect(parseContentRange('bytes */10')).toEqual({ kind: 'query', total: 10 });
    expect(parseContentRange('bytes */*')).toEqual({ kind: 'query', total: null });
  });

  it.each([undefined, '', 'bytes 5-4/10', 'bytes 0-10/10', 'bytes=0-1/2', 'bytes -1-2/3', 'items 0-1/2', 'bytes 0-1/99999999999999999'])(
    'refuses %j',
    (header) => {
      expect(parseContentRange(header)).toBeNull();
    },
  );

  it('states the committed range as Drive does: none for zero bytes', () => {
    expect(committedRange(0)).toBeNull();
    expect(committedRange(262144)).toBe('bytes=0-262143');
  });
});
