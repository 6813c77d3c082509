import { previewable } from './previewable';

describe('previewable', () => {
  it('takes images (but not SVG), audio, video, PDF and plain text', () => {
    for (const type of [
      'image/png',
      'image/jpeg',
      'image/webp',
      'audio/mpeg',
      'video/mp4',
      'application/pdf',
      'text/plain',
    ]) {
      expect(previewable(type), type).toBe(true);
    }
  });

  it('refuses SVG, HTML, scripts and everything else', () => {
    for (const type of [
      'image/svg+xml',
      'IMAGE/SVG+XML',
      'text/html',
      'text/javascript',
      'application/xhtml+xml',
      'application/octet-stream',
      'application/zip',
      'text/csv',
      '',
    ]) {
      expect(previewable(type), type).toBe(false);
    }
  });

  it('ignores case, blanks and parameters', () => {
    expect(previewable('Text/Plain; charset=utf-8')).toBe(true);
    expect(previewable(' application/PDF ')).toBe(true);
    expect(previewable('text/html; charset=utf-8')).toBe(false);
  });
});
