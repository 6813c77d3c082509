import { DatePipe } from '@angular/common';
import {
  afterNextRender,
  ChangeDetectionStrategy,
  Component,
  computed,
  type ElementRef,
  inject,
  input,
  output,
  signal,
  viewChild,
} from '@angular/core';
import { FormBuilder, ReactiveFormsModule } from '@angular/forms';
import { DOCUMENT } from '@angular/common';
import type { StoredFile } from '../../core/files/files.types';
import { FormSubmission } from '../../core/forms/form-submission';
import { apiErrorMessage } from '../../core/http/api-error';
import { ShareLinksService } from '../../core/links/share-links.service';
import type { CreatedLink, ShareLink } from '../../core/links/share-links.types';

/** The expiries offered, in seconds (the API takes 60 s to a year). */
export const EXPIRY_CHOICES: readonly { seconds: number; label: string }[] = [
  { seconds: 3600, label: '1 hour' },
  { seconds: 24 * 3600, label: '1 day' },
  { seconds: 7 * 24 * 3600, label: '7 days' },
  { seconds: 30 * 24 * 3600, label: '30 days' },
  { seconds: 365 * 24 * 3600, label: '1 year' },
];

const STATE_LABELS: Record<ShareLink['state'], string> = {
  active: 'Active',
  expired: 'Expired',
  revoked: 'Revoked',
};

/**
 * Shares one file: pick an expiry and an optional password, get a link to the
 * share page (shown once, with a copy button), and see or revoke the file's
 * earlier links. Shown in place on the dashboard; Escape or Close ends it.
 */
@Component({
  selector: 'app-share-dialog',
  imports: [ReactiveFormsModule, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  host: { '(keydown.escape)': 'closed.emit()' },
  template: `
    <section class="share" role="dialog" aria-labelledby="share-title" data-testid="share-dialog">
      <div class="head">
        <h3 id="share-title">Share “{{ file().name }}”</h3>
        <button type="button" class="small" data-testid="share-close" (click)="closed.emit()">
          Close
        </button>
      </div>
      <form [formGroup]="form" (ngSubmit)="create()" novalidate data-testid="share-form">
        <label for="share-expiry">Link expires after</label>
        <select #first id="share-expiry" formControlName="expiresInSeconds">
          @for (c of expiries; track c.seconds) {
            <option [ngValue]="c.seconds">{{ c.label }}</option>
          }
        </select>
        <label for="share-password">Password (optional)</label>
        <input
          id="share-password"
          type="password"
          formControlName="password"
          autocomplete="new-password"
          maxlength="256"
          aria-describedby="share-password-note"
        />
        <p id="share-password-note" class="note">
          Anyone with the link can download the file; with a password, only those who also know it.
        </p>
        @if (creating.error(); as message) {
          <p class="error" role="alert">{{ message }}</p>
        }
        <button type="submit" [disabled]="creating.busy()">
          {{ creating.busy() ? 'Creating…' : 'Create link' }}
        </button>
      </form>

      @if (created(); as link) {
        @if (createdRevoked()) {
          <p class="created revoked" role="status" data-testid="share-created-revoked">
            The link you just created was revoked: it no longer works. Create a new one to share the
            file again.
          </p>
        } @else {
          <div class="created" data-testid="share-created">
            <label for="share-url">Share link (shown only now; copy it)</label>
            <div class="copy-row">
              <input id="share-url" readonly [value]="link.url" data-testid="share-url" />
              <button type="button" class="small" data-testid="share-copy" (click)="copy(link.url)">
                Copy
              </button>
            </div>
            <p class="note" role="status">
              {{ copyStatus() ?? 'Expires ' + (link.expiresAt | date: 'medium') + '.' }}
            </p>
          </div>
        }
      }

      <h4>Links to this file</h4>
      @if (listError(); as message) {
        <p class="error" role="alert">{{ message }}</p>
      } @else if (links(); as list) {
        @if (list.length === 0) {
          <p class="note">No links yet.</p>
        } @else {
          <ul class="links" data-testid="share-links">
            @for (l of list; track l.id) {
              <li
                data-testid="share-link"
                [attr.data-state]="l.state"
                [attr.data-link-id]="l.id"
                [class.new]="l.id === created()?.id"
              >
                <div class="link-text">
                  <div class="badges">
                    <strong class="badge state" data-testid="share-link-state">{{
                      stateLabels[l.state]
                    }}</strong>
                    @if (l.passwordRequired) {
                      <span class="badge" data-testid="share-link-password">password</span>
                    }
                    @if (l.id === created()?.id) {
                      <span class="badge" data-testid="share-link-new">just created</span>
                    }
                  </div>
                  <div class="note">
                    Created
                    <time data-testid="share-link-created" [attr.datetime]="l.createdAt">{{
                      l.createdAt | date: 'medium'
                    }}</time>
                    ·
                    @if (l.state === 'expired') {
                      expired
                    } @else {
                      expires
                    }
                    <time data-testid="share-link-expires" [attr.datetime]="l.expiresAt">{{
                      l.expiresAt | date: 'medium'
                    }}</time>
                    @if (l.revokedAt) {
                      · revoked
                      <time data-testid="share-link-revoked" [attr.datetime]="l.revokedAt">{{
                        l.revokedAt | date: 'medium'
                      }}</time>
                    }
                  </div>
                </div>
                @if (l.state === 'active') {
                  <button
                    type="button"
                    class="small"
                    [disabled]="revoking() === l.id"
                    [attr.aria-label]="'Revoke link created ' + (l.createdAt | date: 'medium')"
                    (click)="revoke(l)"
                  >
                    Revoke
                  </button>
                }
              </li>
            }
          </ul>
        }
      } @else {
        <p class="note">Loading…</p>
      }
    </section>
  `,
  styles: `
    .share {
      margin: 0.75rem 0;
      padding: 1rem;
      border: 1px solid #3b6fd8;
      border-radius: 6px;
      background: #fbfcff;
    }
    .head,
    .copy-row,
    .links li {
      display: flex;
      align-items: center;
      justify-content: space-between;
      gap: 0.5rem;
    }
    h3 {
      margin: 0;
      font-size: 1rem;
      overflow-wrap: anywhere;
    }
    h4 {
      margin: 1rem 0 0.4rem;
      font-size: 0.95rem;
    }
    .created {
      display: flex;
      flex-direction: column;
      gap: 0.3rem;
    }
    .copy-row input {
      flex: 1;
      min-width: 0;
    }
    .links {
      list-style: none;
      margin: 0;
      padding: 0;
      font-size: 0.9rem;
    }
    .links li {
      padding: 0.35rem 0;
      border-top: 1px solid #e3e7ef;
    }
    .link-text {
      display: flex;
      flex-direction: column;
      gap: 0.15rem;
      min-width: 0;
    }
    .badges {
      display: flex;
      flex-wrap: wrap;
      gap: 0.3rem;
    }
    .badge {
      padding: 0 0.4rem;
      border: 1px solid #c9d1e0;
      border-radius: 4px;
      font-size: 0.8rem;
    }
    .links li[data-state='active'] .badge.state {
      border-color: #1e7a3c;
      color: #1e7a3c;
    }
    .links li.new {
      background: #eef3fd;
    }
    .created.revoked {
      padding: 0.5rem;
      border: 1px solid #a11d1d;
      border-radius: 4px;
      color: #a11d1d;
    }
    .note {
      margin: 0;
      color: #5a6378;
      font-size: 0.85rem;
    }
  `,
})
export class ShareDialog {
  private readonly api = inject(ShareLinksService);
  private readonly document = inject(DOCUMENT);

  readonly file = input.required<StoredFile>();
  readonly closed = output<void>();

  protected readonly expiries = EXPIRY_CHOICES;
  protected readonly stateLabels = STATE_LABELS;
  protected readonly form = inject(FormBuilder).nonNullable.group({
    expiresInSeconds: 7 * 24 * 3600,
    password: '',
  });
  protected readonly creating = new FormSubmission();
  protected readonly created = signal<CreatedLink | null>(null);
  protected readonly copyStatus = signal<string | null>(null);
  protected readonly links = signal<ShareLink[] | null>(null);
  protected readonly listError = signal<string | null>(null);
  protected readonly revoking = signal<string | null>(null);
  /** The link created here was revoked (here, or as the list now shows): its URL must not be offered. */
  private readonly revokedHere = signal<string | null>(null);
  protected readonly createdRevoked = computed(() => {
    const link = this.created();
    if (!link) return false;
    return (
      this.revokedHere() === link.id ||
      (this.links() ?? []).some((l) => l.id === link.id && l.state === 'revoked')
    );
  });

  private readonly first = viewChild.required<ElementRef<HTMLSelectElement>>('first');

  constructor() {
    afterNextRender(() => {
      this.first().nativeElement.focus();
      void this.loadLinks();
    });
  }

  protected async create(): Promise<void> {
    await this.creating.run(this.form, async () => {
      const { expiresInSeconds, password } = this.form.getRawValue();
      const link = await this.api.create(this.file().id, {
        expiresInSeconds,
        ...(password ? { password } : {}),
      });
      this.created.set(link);
      this.copyStatus.set(null);
      this.form.controls.password.reset();
      await this.loadLinks();
    });
  }

  protected async copy(url: string): Promise<void> {
    try {
      const clipboard = this.document.defaultView?.navigator.clipboard;
      if (!clipboard) throw new Error('no clipboard');
      await clipboard.writeText(url);
      this.copyStatus.set('Copied to the clipboard.');
    } catch {
      // Not allowed here (no permission, not a secure context): leave the text selected to copy by hand.
      this.document.querySelector<HTMLInputElement>('#share-url')?.select();
      this.copyStatus.set(
        'Copying is not allowed here: the link is selected, copy it with Ctrl+C.',
      );
    }
  }

  protected async revoke(link: ShareLink): Promise<void> {
    this.revoking.set(link.id);
    try {
      await this.api.revoke(this.file().id, link.id);
      this.revokedHere.set(link.id);
      await this.loadLinks();
    } catch (err) {
      this.listError.set(`The link could not be revoked: ${apiErrorMessage(err)}`);
    } finally {
      this.revoking.set(null);
    }
  }

  private async loadLinks(): Promise<void> {
    try {
      this.links.set(await this.api.list(this.file().id));
      this.listError.set(null);
    } catch (err) {
      this.listError.set(`The links could not be loaded: ${apiErrorMessage(err)}`);
    }
  }
}
