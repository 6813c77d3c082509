import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock';
import { declareDownloadMetrics, Metrics } from '../../src/core/metrics';
import { contentDisposition, essenceOf, etagOf, noneMatchHits, previewable } from '../../src/downloads/headers';
import { contentRange, parseRange, rangeStillApplies } from '../../src/downloads/range';
import { UrlSigner } from '../../src/downloads/signed-urls';
import { zipEntryNames } from '../../src/downloads/zip';
import { LinkPasswordThrottle } from '../../src/links/throttle';

describe('parseRange', () => {
  const size = 1000;
  const partial = (start: number, end: number) => ({ kind: 'partial', range: { start, end } });

  it('reads single ranges: closed, open, suffix, and clamps the end to the file', () => {
    expect(parseRange('bytes=0-0', size)).toEqual(partial(0, 0));
    expect(parseRange('bytes=999-999', size)).toEqual(partial(999, 999));
    expect(parseRange('bytes=10-19', size)).toEqual(partial(10, 19));
    expect(parseRange('bytes=500-', size)).toEqual(partial(500, 999));
    expect(parseRange('bytes=-1', size)).toEqual(partial(999, 999));
    expect(parseRange('bytes=-100', size)).toEqual(partial(900, 999));
    expect(parseRange('bytes=-5000', size)).toEqual(partial(0, 999));
    expect(parseRange('bytes=0-999', size)).toEqual(partial(0, 999));
    expect(parseRange('bytes=10-99999999999999999999', size)).toEqual(partial(10, 999));
    expect(parseRange(' Bytes = 3-4 ', size)).toEqual(partial(3, 4));
  });

  it('calls ranges past the end (and empty suffixes, and any range of an empty file) unsatisfiable', () => {
    expect(parseRange('bytes=1000-', size)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=1000-2000', size)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=99999999999999999999-', size)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', size)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('ignores what it cannot or need not honour: the whole file is sent', () => {
    for (const header of [undefined, '', 'bytes=', 'bytes=-', 'bytes=5-3', 'bytes=a-b', 'bytes=1-2-3', 'items=0-5', 'bytes 0-5', 'bytes=0-1,5-6', 'bytes=1.5-2']) {
      expect(parseRange(header, size), String(header)).toEqual({ kind: 'full' });
    }
  });

  it('applies If-Range only for our strong ETag', () => {
    expect(rangeStillApplies(undefined, '"abc"')).toBe(true);
    expect(rangeStillApplies('"abc"', '"abc"')).toBe(true);
    expect(rangeStillApplies('"old"', '"abc"')).toBe(false);
    expect(rangeStillApplies('W/"abc"', '"abc"')).toBe(false);
    expect(rangeStillApplies('Wed, 21 Oct 2015 07:28:00 GMT', '"abc"')).toBe(false);
    expect(rangeStillApplies('"abc"', null)).toBe(false);
    expect(contentRange({ start: 5, end: 9 }, 10)).toBe('bytes 5-9/10');
  });
});

describe('validators', () => {
  it('makes a strong ETag from the hash and matches If-None-Match weakly', () => {
    const tag = etagOf('ab12');
    expect(tag).toBe('"ab12"');
    expect(etagOf(null)).toBeNull();
    expect(noneMatchHits('"ab12"', tag)).toBe(true);
    expect(noneMatchHits('W/"ab12"', tag)).toBe(true);
    expect(noneMatchHits('"x", "ab12"', tag)).toBe(true);
    expect(noneMatchHits('*', tag)).toBe(true);
    expect(noneMatchHits('"x"', tag)).toBe(false);
    expect(noneMatchHits(undefined, tag)).toBe(false);
    expect(noneMatchHits('*', null)).toBe(false);
  });
});

describe('contentDisposition', () => {
  it('sends the real name in filename* (RFC 8187) and an ASCII fallback in filename', () => {
    expect(contentDisposition('attachment', 'report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(contentDisposition('inline', 'Grüße – naïve 日本.txt')).toBe(
      `inline; filename="Gr__e _ na_ve __.txt"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%E2%80%93%20na%C3%AFve%20%E6%97%A5%E6%9C%AC.txt`,
    );
  });

  it('escapes what would break out of the header or be read as a path or an escape', () => {
    const header = contentDisposition('attachment', `a"b\\c/d%20e'(f)*;g.txt`);
    expect(header).toBe(`attachment; filename="a_b_c_d_20e'(f)*;g.txt"; filename*=UTF-8''a%22b%5Cc%2Fd%2520e%27%28f%29%2A%3Bg.txt`);
    expect(contentDisposition('attachment', '')).toContain('filename="download"');
    // The UTF-8 part round-trips through the standard decoder.
    const name = 'ünïcødé 😀 (1).bin';
    const encoded = /filename\*=UTF-8''(.*)$/.exec(contentDisposition('attachment', name))?.[1] ?? '';
    expect(decodeURIComponent(encoded)).toBe(name);
    expect(encoded).toMatch(/^[A-Za-z0-9!#$&+\-.^_`|~%]+$/);
  });
});

describe('preview policy', () => {
  it('renders images (not SVG), audio, video, PDF and plain text inline; nothing else', () => {
    for (const t of ['image/png', 'image/jpeg', 'IMAGE/WEBP', 'audio/mpeg', 'video/mp4', 'application/pdf', 'text/plain', 'text/plain; charset=utf-8']) {
      expect(previewable(t), t).toBe(true);
    }
    for (const t of ['image/svg+xml', 'image/svg', 'text/html', 'application/xhtml+xml', 'text/xml', 'application/javascript', 'text/css', 'application/octet-stream', 'text/markdown', '']) {
      expect(previewable(t), t).toBe(false);
    }
    expect(essenceOf('Text/Plain; charset=UTF-8')).toBe('text/plain');
  });
});

describe('UrlSigner', () => {
  it('verifies its own signatures until they expire, and nothing else', () => {
    const clock = new ManualClock();
    const signer = new UrlSigner('secret', clock);
    const { value, expiresAt } = signer.sign('download', 'file:user', 5 * 60 * 1000);
    expect(expiresAt.getTime()).toBe(clock.now().getTime() + 5 * 60 * 1000);
    expect(signer.verify('download', 'file:user', value)).toBe(true);
    expect(signer.verify('download', 'file:other', value)).toBe(false);
    expect(signer.verify('link-unlock', 'file:user', value)).toBe(false);
    expect(new UrlSigner('other secret', clock).verify('download', 'file:user', value)).toBe(false);
    const [expiry, mac] = value.split('.');
    expect(signer.verify('download', 'file:user', `${Number(expiry) + 3600}.${mac}`)).toBe(false);
    expect(signer.verify('download', 'file:user', 'garbage')).toBe(false);
    clock.advance(5 * 60 * 1000 - 1000);
    expect(signer.verify('download', 'file:user', value)).toBe(true);
    clock.advance(1000);
    expect(signer.verify('download', 'file:user', value)).toBe(false);
  });
});

describe('zipEntryNames', () => {
  it('suffixes clashing names before the extension, case-insensitively, and never produces a path', () => {
    expect(zipEntryNames(['a.txt', 'b.txt', 'a.txt', 'A.TXT', 'a (2).txt', 'noext', 'noext', '.bashrc', '.bashrc'])).toEqual([
      'a.txt',
      'b.txt',
      'a (2).txt',
      'A (3).TXT',
      'a (2) (2).txt',
      'noext',
      'noext (2)',
      '.bashrc',
      '.bashrc (2)',
    ]);
    expect(zipEntryNames(['../x', 'C:evil', 'a\\b'])).toEqual(['.._x', 'C_evil', 'a_b']);
  });
});

describe('Metrics', () => {
  it('renders declared counters in the Prometheus text format', () => {
    const metrics = declareDownloadMetrics(new Metrics());
    metrics.inc('ddx_download_fallbacks_total', { phase: 'mid_stream' });
    metrics.inc('ddx_download_fallbacks_total', { phase: 'mid_stream' });
    metrics.inc('ddx_download_bytes_total', { source: 'backup' }, 1234);
    const text = metrics.render();
    expect(text).toContain('# TYPE ddx_download_fallbacks_total counter\nddx_download_fallbacks_total{phase="mid_stream"} 2\n');
    expect(text).toContain('ddx_download_bytes_total{source="backup"} 1234\n');
    expect(text).toContain('# TYPE ddx_downloads_total counter\nddx_downloads_total 0\n');
    expect(metrics.value('ddx_download_fallbacks_total', { phase: 'mid_stream' })).toBe(2);
    expect(() => metrics.inc('undeclared_total')).toThrow();
    expect(() => metrics.inc('ddx_downloads_total', {}, -1)).toThrow();
  });
});

describe('LinkPasswordThrottle', () => {
  it('blocks a link after 10 wrong guesses in 15 minutes, counts guesses as they start, and forgives right ones', () => {
    const clock = new ManualClock();
    const throttle = new LinkPasswordThrottle(clock);
    for (let i = 0; i < 9; i++) expect(throttle.begin('l1')).toBe(0);
    // A right password takes its own count back.
    expect(throttle.begin('l1')).toBe(0);
    throttle.succeeded('l1');
    expect(throttle.begin('l1')).toBe(0);
    const wait = throttle.begin('l1');
    expect(wait).toBe(15 * 60);
    expect(throttle.begin('other')).toBe(0);
    clock.advance(15 * 60 * 1000);
    expect(throttle.begin('l1')).toBe(0);
  });
});
