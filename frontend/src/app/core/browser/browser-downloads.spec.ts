import { TestBed } from '@angular/core/testing';
import { BrowserDownloads } from './browser-downloads';

describe('BrowserDownloads', () => {
  afterEach(() => vi.restoreAllMocks());

  /** Records each anchor the service clicks (jsdom does not navigate). */
  function clicked(): HTMLAnchorElement[] {
    const anchors: HTMLAnchorElement[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      anchors.push(this);
      expect(this.isConnected).toBe(true);
    });
    return anchors;
  }

  it('saves through a hidden <a download> that it removes again', () => {
    const anchors = clicked();
    TestBed.inject(BrowserDownloads).save('/api/v1/download/stream/f1?ticket=t', 'report.pdf');
    expect(anchors).toHaveLength(1);
    const a = anchors[0]!;
    expect(a.getAttribute('href')).toBe('/api/v1/download/stream/f1?ticket=t');
    expect(a.download).toBe('report.pdf');
    expect(a.target).toBe('');
    expect(a.isConnected).toBe(false);
  });

  it('opens a preview in a new tab that cannot reach back', () => {
    const anchors = clicked();
    TestBed.inject(BrowserDownloads).openInNewTab('/api/v1/download/preview/stream/f1?ticket=t');
    const a = anchors[0]!;
    expect(a.target).toBe('_blank');
    expect(a.rel).toBe('noopener noreferrer');
    expect(a.hasAttribute('download')).toBe(false);
  });
});
