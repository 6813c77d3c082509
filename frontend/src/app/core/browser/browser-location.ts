import { DOCUMENT } from '@angular/common';
import { inject, Injectable } from '@angular/core';

/** Leaving the app for another site (e.g. Google's consent page); a seam tests can replace. */
@Injectable({ providedIn: 'root' })
export class BrowserLocation {
  private readonly document = inject(DOCUMENT);

  assign(url: string): void {
    this.document.defaultView?.location.assign(url);
  }
}
