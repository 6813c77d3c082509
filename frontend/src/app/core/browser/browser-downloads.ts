import { DOCUMENT } from '@angular/common';
import { inject, Injectable } from '@angular/core';

/**
 * Hands a same-origin URL to the browser: it streams the bytes to disk (or a
 * new tab) itself, so a file is never held in this page's memory. A seam tests
 * can replace.
 */
@Injectable({ providedIn: 'root' })
export class BrowserDownloads {
  private readonly document = inject(DOCUMENT);

  /** Saves what `url` serves, like clicking `<a href download>`. */
  save(url: string, filename = ''): void {
    this.follow(url, (a) => (a.download = filename));
  }

  /** Opens `url` in a new tab that cannot reach back into this one. */
  openInNewTab(url: string): void {
    this.follow(url, (a) => {
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
    });
  }

  private follow(url: string, configure: (a: HTMLAnchorElement) => void): void {
    const a = this.document.createElement('a');
    a.href = url;
    a.hidden = true;
    configure(a);
    this.document.body.appendChild(a);
    try {
      a.click();
    } finally {
      a.remove();
    }
  }
}
