import { DatePipe } from '@angular/common';
import {
  afterRenderEffect,
  ChangeDetectionStrategy,
  Component,
  computed,
  effect,
  type ElementRef,
  inject,
  signal,
  untracked,
  viewChild,
} from '@angular/core';
import { FormsModule } from '@angular/forms';
import { HttpErrorResponse } from '@angular/common/http';
import { AuthService } from '../../core/auth/auth.service';
import { BrowserDownloads } from '../../core/browser/browser-downloads';
import { FilesService } from '../../core/files/files.service';
import type { FileSort, Page, StoredFile } from '../../core/files/files.types';
import { previewable } from '../../core/files/previewable';
import { formatBytes } from '../../core/format/bytes';
import { apiErrorMessage } from '../../core/http/api-error';
import { UploadService } from '../../core/uploads/upload.service';
import { ShareDialog } from './share-dialog';

export const FILES_PER_PAGE = 20;

export const SORT_CHOICES: readonly { value: FileSort; label: string }[] = [
  { value: '-createdAt', label: 'Newest first' },
  { value: 'createdAt', label: 'Oldest first' },
  { value: 'name', label: 'Name A–Z' },
  { value: '-name', label: 'Name Z–A' },
  { value: '-size', label: 'Largest first' },
  { value: 'size', label: 'Smallest first' },
];

/** How a file's backup copy stands, in words. */
export function backupText(backup: StoredFile['backup']): string {
  switch (backup.state) {
    case 'disabled':
      return 'No backup configured';
    case 'pending':
      return 'Backup pending';
    case 'running':
      return 'Backing up…';
    case 'done':
      return 'Backed up';
    case 'failed':
      return `Backup failed${backup.attempts > 0 ? ` (${backup.attempts} attempts)` : ''}`;
  }
}

const STATE_LABELS: Record<StoredFile['state'], string> = {
  pending: 'Upload starting',
  uploading: 'Uploading',
  complete: 'Complete',
  cancelled: 'Upload cancelled',
  expired: 'Upload expired',
  failed: 'Upload failed',
};

/** An upload that was started and has not ended: it can be cancelled, not downloaded or deleted. */
export const isUnfinished = (f: StoredFile): boolean =>
  f.state === 'pending' || f.state === 'uploading';

/** An upload that ended without completing: nothing is stored, only the entry is left to delete. */
export const isAbandoned = (f: StoredFile): boolean =>
  f.state === 'cancelled' || f.state === 'expired' || f.state === 'failed';

interface Notice {
  kind: 'ok' | 'error';
  text: string;
}

/**
 * The signed-in user's files, a page at a time: search by name, sort, and per
 * file Download, Preview (for the types the server renders inline), Share and
 * Delete; an unfinished upload can be cancelled instead, through the upload
 * service when this browser is the one sending it. Downloads go through short-lived
 * tickets that the browser itself follows, so no file passes through this
 * page's memory. Reloads whenever an upload on the dashboard settles.
 */
@Component({
  selector: 'app-my-files',
  imports: [FormsModule, DatePipe, ShareDialog],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section aria-labelledby="files-heading" data-testid="my-files">
      <div class="title-row">
        <h2 id="files-heading">My files</h2>
        <button type="button" class="small" [disabled]="loading()" (click)="load()">Refresh</button>
      </div>
      <form class="filters" role="search" (ngSubmit)="search()">
        <div class="field">
          <label for="files-search">Search by name</label>
          <input
            id="files-search"
            type="search"
            name="q"
            maxlength="255"
            data-testid="files-search"
            [(ngModel)]="searchText"
          />
        </div>
        <button type="submit" class="small">Search</button>
        <div class="field">
          <label for="files-sort">Sort</label>
          <select
            id="files-sort"
            name="sort"
            data-testid="files-sort"
            [ngModel]="sort()"
            (ngModelChange)="setSort($event)"
          >
            @for (s of sorts; track s.value) {
              <option [ngValue]="s.value">{{ s.label }}</option>
            }
          </select>
        </div>
      </form>

      <div aria-live="polite">
        @if (notice(); as n) {
          @if (n.kind === 'ok') {
            <p class="notice" data-testid="files-notice">{{ n.text }}</p>
          } @else {
            <p class="error" role="alert" data-testid="files-notice">{{ n.text }}</p>
          }
        }
      </div>

      @if (deleting(); as f) {
        <section
          class="confirm"
          role="alertdialog"
          aria-labelledby="delete-title"
          aria-describedby="delete-text"
          data-testid="delete-confirm"
          (keydown.escape)="deleting.set(null)"
        >
          <h3 id="delete-title">Delete “{{ f.name }}”?</h3>
          <p id="delete-text">
            The file and its share links stop working at once. This cannot be undone.
          </p>
          <div class="buttons">
            <button
              #confirmFirst
              type="button"
              class="small danger"
              data-testid="delete-confirm-yes"
              [disabled]="isBusy(f.id)"
              (click)="remove(f)"
            >
              Delete
            </button>
            <button type="button" class="small" (click)="deleting.set(null)">Keep it</button>
          </div>
        </section>
      }

      @if (sharing(); as f) {
        <app-share-dialog [file]="f" (closed)="sharing.set(null)" />
      }

      @if (loadError(); as message) {
        <p class="error" role="alert" data-testid="files-error">
          {{ message }}
          <button type="button" class="small" (click)="load()">Try again</button>
        </p>
      } @else if (page(); as p) {
        @if (p.items.length === 0) {
          <p class="empty" data-testid="files-empty">
            @if (activeQuery()) {
              No files match “{{ activeQuery() }}”.
            } @else if (pageNumber() > 1) {
              Nothing on this page.
            } @else {
              No files yet. Upload one above and it appears here.
            }
          </p>
        } @else {
          <ul class="files" data-testid="files-list">
            @for (f of p.items; track f.id) {
              <li
                class="file"
                data-testid="file-row"
                [attr.data-file-id]="f.id"
                [attr.data-state]="f.state"
                [class.abandoned]="isAbandoned(f)"
              >
                <div class="file-head">
                  <span class="file-name" data-testid="file-name" [title]="f.name">{{
                    f.name
                  }}</span>
                  <span class="file-size" data-testid="file-size">{{ formatBytes(f.size) }}</span>
                </div>
                <p class="file-meta">
                  @if (f.state !== 'complete') {
                    <span class="badge" data-testid="file-state" [attr.data-state]="f.state">{{
                      stateLabels[f.state]
                    }}</span>
                  }
                  <time [attr.datetime]="f.createdAt">{{ f.createdAt | date: 'medium' }}</time>
                  @if (f.state === 'complete') {
                    ·
                    <span data-testid="file-backup" [attr.data-backup]="f.backup.state">{{
                      backupText(f.backup)
                    }}</span>
                  }
                </p>
                @if (isAbandoned(f)) {
                  <p class="file-note" data-testid="file-note">
                    This upload never finished, so nothing of it is stored. Delete it to remove it
                    from the list.
                  </p>
                } @else if (isUnfinished(f) && !heldUploads().has(f.id)) {
                  <p class="file-note" data-testid="file-note">
                    Not being sent from this page. Cancel it to free the space it reserves, or it
                    expires after a while without progress.
                  </p>
                }
                <div class="file-actions">
                  @if (f.state === 'complete') {
                    <button
                      type="button"
                      class="small"
                      data-testid="file-download"
                      [disabled]="isBusy(f.id)"
                      [attr.aria-label]="'Download ' + f.name"
                      (click)="download(f)"
                    >
                      Download
                    </button>
                    @if (previewable(f.mimeType)) {
                      <button
                        type="button"
                        class="small"
                        data-testid="file-preview"
                        [disabled]="isBusy(f.id)"
                        [attr.aria-label]="'Preview ' + f.name + ' in a new tab'"
                        (click)="preview(f)"
                      >
                        Preview
                      </button>
                    }
                    <button
                      type="button"
                      class="small"
                      data-testid="file-share"
                      [attr.aria-label]="'Share ' + f.name"
                      [attr.aria-expanded]="sharing()?.id === f.id"
                      (click)="share(f)"
                    >
                      Share
                    </button>
                  }
                  @if (isUnfinished(f)) {
                    <button
                      type="button"
                      class="small"
                      data-testid="file-cancel-upload"
                      [disabled]="isBusy(f.id)"
                      [attr.aria-label]="'Cancel upload of ' + f.name"
                      (click)="cancelUpload(f)"
                    >
                      Cancel upload
                    </button>
                  } @else {
                    <button
                      type="button"
                      class="small"
                      data-testid="file-delete"
                      [disabled]="isBusy(f.id)"
                      [attr.aria-label]="'Delete ' + f.name"
                      (click)="askDelete(f)"
                    >
                      Delete
                    </button>
                  }
                </div>
              </li>
            }
          </ul>
        }
        @if (p.total > 0 || pageNumber() > 1) {
          <nav class="pager" aria-label="Pages of files">
            <button
              type="button"
              class="small"
              [disabled]="pageNumber() <= 1 || loading()"
              (click)="goTo(pageNumber() - 1)"
            >
              Previous
            </button>
            <span data-testid="files-range">{{ rangeText() }}</span>
            <button
              type="button"
              class="small"
              [disabled]="pageNumber() >= lastPage() || loading()"
              (click)="goTo(pageNumber() + 1)"
            >
              Next
            </button>
          </nav>
        }
      } @else {
        <p>Loading…</p>
      }
    </section>
  `,
  styles: `
    .title-row,
    .file-head,
    .pager {
      display: flex;
      align-items: center;
      justify-content: space-between;
      gap: 0.5rem;
    }
    .filters {
      flex-direction: row;
      flex-wrap: wrap;
      align-items: flex-end;
      gap: 0.5rem;
    }
    .filters .field {
      display: flex;
      flex-direction: column;
      gap: 0.25rem;
    }
    .filters label {
      margin-top: 0;
    }
    .filters button {
      align-self: flex-end;
      margin-bottom: 0.3rem;
    }
    .files {
      list-style: none;
      margin: 0.75rem 0 0;
      padding: 0;
    }
    .file {
      padding: 0.6rem 0;
      border-top: 1px solid #e3e7ef;
    }
    .file-head {
      align-items: flex-start;
    }
    /* A long name (up to 255 characters) wraps onto at most two lines and is cut
       with an ellipsis there (the title attribute has it whole); the size keeps its place. */
    .file-name {
      flex: 1 1 auto;
      min-width: 0;
      font-weight: 600;
      overflow-wrap: anywhere;
      display: -webkit-box;
      -webkit-box-orient: vertical;
      -webkit-line-clamp: 2;
      line-clamp: 2;
      overflow: hidden;
    }
    .file-size {
      flex: none;
      white-space: nowrap;
    }
    .file-size,
    .file-meta,
    .file-note,
    .empty {
      color: #5a6378;
    }
    .file-meta,
    .file-note {
      margin: 0.2rem 0 0;
      font-size: 0.85rem;
    }
    .badge {
      display: inline-block;
      margin-right: 0.4rem;
      padding: 0 0.4rem;
      border: 1px solid #3b6fd8;
      border-radius: 4px;
      color: #1d3f8a;
      font-weight: 600;
    }
    .abandoned .badge {
      border-color: #a11d1d;
      color: #a11d1d;
    }
    .abandoned .file-name {
      color: #5a6378;
    }
    .file-actions,
    .buttons {
      display: flex;
      flex-wrap: wrap;
      gap: 0.4rem;
      margin-top: 0.35rem;
    }
    .confirm {
      margin-top: 0.75rem;
      padding: 1rem;
      border: 1px solid #a11d1d;
      border-radius: 6px;
    }
    .confirm h3 {
      margin: 0;
      font-size: 1rem;
      overflow-wrap: anywhere;
    }
    .pager {
      margin-top: 0.75rem;
      font-size: 0.9rem;
    }
  `,
})
export class MyFiles {
  private readonly api = inject(FilesService);
  private readonly auth = inject(AuthService);
  private readonly uploads = inject(UploadService);
  private readonly browser = inject(BrowserDownloads);

  protected readonly sorts = SORT_CHOICES;
  protected readonly stateLabels = STATE_LABELS;
  protected readonly formatBytes = formatBytes;
  protected readonly backupText = backupText;
  protected readonly previewable = previewable;
  protected readonly isUnfinished = isUnfinished;
  protected readonly isAbandoned = isAbandoned;
  /** Uploads this browser is sending (by file id): those are cancelled through the upload service. */
  protected readonly heldUploads = this.uploads.heldUploads;

  protected searchText = '';
  /** The search the shown page was asked for (what was submitted, not what is being typed). */
  protected readonly activeQuery = signal('');
  protected readonly sort = signal<FileSort>('-createdAt');
  protected readonly pageNumber = signal(1);
  protected readonly page = signal<Page<StoredFile> | null>(null);
  protected readonly loading = signal(false);
  protected readonly loadError = signal<string | null>(null);
  protected readonly notice = signal<Notice | null>(null);
  protected readonly deleting = signal<StoredFile | null>(null);
  protected readonly sharing = signal<StoredFile | null>(null);
  private readonly busyIds = signal<ReadonlySet<string>>(new Set());
  /** Answers to an older request are dropped: the newest query wins. */
  private generation = 0;

  protected readonly lastPage = computed(() =>
    Math.max(1, Math.ceil((this.page()?.total ?? 0) / FILES_PER_PAGE)),
  );
  protected readonly rangeText = computed(() => {
    const p = this.page();
    if (!p || p.items.length === 0) return `Page ${this.pageNumber()}`;
    const first = (this.pageNumber() - 1) * FILES_PER_PAGE + 1;
    return `${first}–${first + p.items.length - 1} of ${p.total}`;
  });

  private readonly confirmFirst = viewChild<ElementRef<HTMLButtonElement>>('confirmFirst');

  constructor() {
    // The first load, and again each time an upload completes, is cancelled or fails.
    effect(() => {
      this.uploads.settled();
      untracked(() => void this.load());
    });
    afterRenderEffect(() => this.confirmFirst()?.nativeElement.focus());
  }

  async load(): Promise<void> {
    const generation = ++this.generation;
    this.loading.set(true);
    try {
      const page = await this.api.list({
        page: this.pageNumber(),
        limit: FILES_PER_PAGE,
        q: this.activeQuery(),
        sort: this.sort(),
      });
      if (generation !== this.generation) return;
      this.page.set(page);
      this.loadError.set(null);
    } catch (err) {
      if (generation !== this.generation) return;
      this.loadError.set(`Your files could not be loaded: ${apiErrorMessage(err)}`);
    } finally {
      if (generation === this.generation) this.loading.set(false);
    }
  }

  protected search(): void {
    this.activeQuery.set(this.searchText.trim());
    this.pageNumber.set(1);
    void this.load();
  }

  protected setSort(sort: FileSort): void {
    this.sort.set(sort);
    this.pageNumber.set(1);
    void this.load();
  }

  protected goTo(page: number): void {
    this.pageNumber.set(page);
    void this.load();
  }

  protected isBusy(id: string): boolean {
    return this.busyIds().has(id);
  }

  protected download(f: StoredFile): Promise<void> {
    return this.withTicket(f, 'attachment', 'download', (url) => this.browser.save(url, f.name));
  }

  protected preview(f: StoredFile): Promise<void> {
    return this.withTicket(f, 'inline', 'preview', (url) => this.browser.openInNewTab(url));
  }

  protected share(f: StoredFile): void {
    this.deleting.set(null);
    this.sharing.set(this.sharing()?.id === f.id ? null : f);
  }

  protected askDelete(f: StoredFile): void {
    this.sharing.set(null);
    this.deleting.set(f);
  }

  protected async remove(f: StoredFile): Promise<void> {
    this.setBusy(f.id, true);
    try {
      await this.api.remove(f.id);
      this.notice.set({ kind: 'ok', text: `Deleted “${f.name}”.` });
      // The last file of a later page: go back one.
      if (this.page()?.items.length === 1 && this.pageNumber() > 1) {
        this.pageNumber.update((n) => n - 1);
      }
      // The space it took is free again.
      void this.auth.loadMe().catch(() => undefined);
    } catch (err) {
      this.notice.set({
        kind: 'error',
        text: `Could not delete “${f.name}”: ${apiErrorMessage(err)}`,
      });
    } finally {
      this.deleting.set(null);
      this.setBusy(f.id, false);
    }
    await this.load();
  }

  /**
   * Cancels an unfinished upload. One this browser is sending goes through the
   * upload service (its row follows, and the list reloads once it settles);
   * any other — a closed tab's, another device's — is cancelled over the API.
   */
  protected async cancelUpload(f: StoredFile): Promise<void> {
    const key = this.heldUploads().get(f.id);
    if (key !== undefined) {
      // Its row in the uploads panel shows how the cancel goes.
      this.notice.set(null);
      this.uploads.cancel(key);
      return;
    }
    this.setBusy(f.id, true);
    this.notice.set(null);
    try {
      await this.api.cancelUpload(f.id);
      this.notice.set({ kind: 'ok', text: `Cancelled the upload of “${f.name}”.` });
      // The space it reserved is free again.
      void this.auth.loadMe().catch(() => undefined);
    } catch (err) {
      this.notice.set(
        err instanceof HttpErrorResponse && err.status === 410
          ? { kind: 'ok', text: `The upload of “${f.name}” had already ended.` }
          : {
              kind: 'error',
              text: `Could not cancel the upload of “${f.name}”: ${apiErrorMessage(err)}`,
            },
      );
    } finally {
      this.setBusy(f.id, false);
    }
    await this.load();
  }

  /** Gets a ticket (the bearer token cannot travel in a link) and hands its URL to the browser. */
  private async withTicket(
    f: StoredFile,
    disposition: 'attachment' | 'inline',
    verb: string,
    follow: (url: string) => void,
  ): Promise<void> {
    this.setBusy(f.id, true);
    this.notice.set(null);
    try {
      const ticket = await this.api.ticket(f.id, disposition);
      follow(ticket.url);
    } catch (err) {
      this.notice.set({
        kind: 'error',
        text: `Could not ${verb} “${f.name}”: ${apiErrorMessage(err)}`,
      });
    } finally {
      this.setBusy(f.id, false);
    }
  }

  private setBusy(id: string, busy: boolean): void {
    this.busyIds.update((ids) => {
      const next = new Set(ids);
      if (busy) next.add(id);
      else next.delete(id);
      return next;
    });
  }
}
