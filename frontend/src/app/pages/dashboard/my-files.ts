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
import { AuthService } from '../../core/auth/auth.service';
import { BrowserDownloads } from '../../core/browser/browser-downloads';
import { FilesService } from '../../core/files/files.service';
import type { FileSort, Page, StoredFile } from '../../core/files/files.types';
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
  cancelled: 'Cancelled',
  expired: 'Upload expired',
  failed: 'Upload failed',
};

interface Notice {
  kind: 'ok' | 'error';
  text: string;
}

/**
 * The signed-in user's files, a page at a time: search by name, sort, and per
 * file Download, Preview, Share and Delete. Downloads go through short-lived
 * tickets that the browser itself follows, so no file passes through this
 * page's memory. Reloads whenever an upload on the dashboard completes.
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
              <li class="file" data-testid="file-row" [attr.data-file-id]="f.id">
                <div class="file-head">
                  <span class="file-name" data-testid="file-name">{{ f.name }}</span>
                  <span class="file-size" data-testid="file-size">{{ formatBytes(f.size) }}</span>
                </div>
                <p class="file-meta">
                  <time [attr.datetime]="f.createdAt">{{ f.createdAt | date: 'medium' }}</time>
                  @if (f.state !== 'complete') {
                    · <span data-testid="file-state">{{ stateLabels[f.state] }}</span>
                  }
                  ·
                  <span data-testid="file-backup" [attr.data-backup]="f.backup.state">{{
                    backupText(f.backup)
                  }}</span>
                </p>
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
                  @if (f.state !== 'pending' && f.state !== 'uploading') {
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
    .file-name {
      font-weight: 600;
      overflow-wrap: anywhere;
    }
    .file-size,
    .file-meta,
    .empty {
      color: #5a6378;
    }
    .file-meta {
      margin: 0.2rem 0 0;
      font-size: 0.85rem;
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
    // The first load, and again each time an upload completes.
    effect(() => {
      this.uploads.completed();
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
