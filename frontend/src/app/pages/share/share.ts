import { DatePipe } from '@angular/common';
import { HttpErrorResponse } from '@angular/common/http';
import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
import { ActivatedRoute } from '@angular/router';
import { BrowserDownloads } from '../../core/browser/browser-downloads';
import { formatBytes } from '../../core/format/bytes';
import { FormSubmission, UserFacingError } from '../../core/forms/form-submission';
import { apiErrorCode, apiErrorMessage } from '../../core/http/api-error';
import { ShareLinksService } from '../../core/links/share-links.service';
import type { PublicLink } from '../../core/links/share-links.types';

/** Why a link cannot be used, as its recipient is told. */
export function linkProblem(err: unknown): { title: string; text: string } {
  const code = apiErrorCode(err);
  const status = err instanceof HttpErrorResponse ? err.status : -1;
  if (code === 'link_expired') {
    return { title: 'This link has expired', text: 'Ask the person who shared it for a new link.' };
  }
  if (code === 'link_revoked') {
    return {
      title: 'This link was revoked',
      text: 'Its owner has withdrawn it. Ask them for a new link if you still need the file.',
    };
  }
  if (status === 410) {
    return {
      title: 'This link no longer works',
      text: 'Ask the person who shared it for a new link.',
    };
  }
  if (status === 404) {
    return {
      title: 'Link not found',
      text: 'Check that the whole link was copied. The file may also have been deleted.',
    };
  }
  return { title: 'The link could not be opened', text: apiErrorMessage(err) };
}

/**
 * A refused password, in words (401 wrong_password); anything else (429 once
 * throttled, with its Retry-After) is passed on as it came, for `apiErrorMessage`.
 */
function unlockFailure(err: unknown): unknown {
  if (err instanceof HttpErrorResponse && err.status === 401) {
    return new UserFacingError('The password is wrong. Check it and try again.');
  }
  return err;
}

/**
 * The page a share link opens (`/s/<token>`), for anyone, signed in or not:
 * the file's name, size and expiry, a password form when the link has one,
 * and a download the browser itself performs. Expired, revoked and unknown
 * links each get their own explanation.
 */
@Component({
  selector: 'app-share-page',
  imports: [ReactiveFormsModule, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card" aria-labelledby="share-heading" data-testid="share-page">
      @if (problem(); as p) {
        <h1 id="share-heading" data-testid="share-problem">{{ p.title }}</h1>
        <p>{{ p.text }}</p>
      } @else if (link(); as l) {
        <h1 id="share-heading">Shared file</h1>
        <dl>
          <dt>Name</dt>
          <dd data-testid="share-name">{{ l.name }}</dd>
          <dt>Size</dt>
          <dd data-testid="share-size">{{ formatBytes(l.size) }}</dd>
          <dt>Link expires</dt>
          <dd>
            <time [attr.datetime]="l.expiresAt" data-testid="share-expires">{{
              l.expiresAt | date: 'medium'
            }}</time>
          </dd>
        </dl>
        @if (l.passwordRequired && !unlockedUrl()) {
          <form [formGroup]="form" (ngSubmit)="unlock()" novalidate data-testid="unlock-form">
            <p class="note">This file is protected by a password.</p>
            <label for="link-password">Password</label>
            <input
              id="link-password"
              type="password"
              formControlName="password"
              autocomplete="off"
              maxlength="256"
            />
            @if (form.controls.password.touched && form.controls.password.invalid) {
              <p class="hint">Enter the password you were given with the link.</p>
            }
            @if (unlocking.error(); as message) {
              <p class="error" role="alert" data-testid="unlock-error">{{ message }}</p>
            }
            <button type="submit" [disabled]="unlocking.busy()">
              {{ unlocking.busy() ? 'Checking…' : 'Unlock and download' }}
            </button>
          </form>
        } @else {
          @if (unlockedUrl()) {
            <p class="notice" role="status">Unlocked: your download has started.</p>
          }
          <button type="button" class="button" data-testid="share-download" (click)="download()">
            Download
          </button>
        }
      } @else {
        <h1 id="share-heading">Shared file</h1>
        <p>Loading…</p>
      }
    </section>
  `,
  styles: `
    dl {
      display: grid;
      grid-template-columns: max-content 1fr;
      gap: 0.35rem 1rem;
      margin: 0 0 1rem;
    }
    dt {
      font-weight: 600;
    }
    dd {
      margin: 0;
      overflow-wrap: anywhere;
    }
    .note {
      margin: 0;
    }
    .button {
      width: 100%;
    }
  `,
})
export class SharePage {
  private readonly api = inject(ShareLinksService);
  private readonly browser = inject(BrowserDownloads);
  private readonly token = inject(ActivatedRoute).snapshot.paramMap.get('token') ?? '';

  protected readonly formatBytes = formatBytes;
  protected readonly link = signal<PublicLink | null>(null);
  protected readonly problem = signal<{ title: string; text: string } | null>(null);
  /** After a password was accepted: a URL with a signed key, good for a while. */
  protected readonly unlockedUrl = signal<string | null>(null);
  protected readonly form = inject(FormBuilder).nonNullable.group({
    password: ['', Validators.required],
  });
  protected readonly unlocking = new FormSubmission();

  constructor() {
    void this.load();
  }

  protected async unlock(): Promise<void> {
    await this.unlocking.run(this.form, async () => {
      let url: string;
      try {
        url = (await this.api.unlock(this.token, this.form.getRawValue().password)).downloadUrl;
      } catch (err) {
        // The link may have expired or been revoked since the page opened.
        if (err instanceof HttpErrorResponse && (err.status === 404 || err.status === 410)) {
          this.problem.set(linkProblem(err));
          return;
        }
        throw unlockFailure(err);
      }
      this.unlockedUrl.set(url);
      this.save(url);
    });
  }

  protected download(): void {
    this.save(this.unlockedUrl() ?? this.api.downloadUrl(this.token));
  }

  private save(url: string): void {
    this.browser.save(url, this.link()?.name ?? '');
  }

  private async load(): Promise<void> {
    try {
      this.link.set(await this.api.info(this.token));
    } catch (err) {
      this.problem.set(linkProblem(err));
    }
  }
}
