import { DatePipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { BackupsService } from '../../../core/backups/backups.service';
import {
  BACKUP_STATES,
  type BackupItem,
  type BackupSummary,
} from '../../../core/backups/backups.types';
import type { BackupState, Page } from '../../../core/files/files.types';
import { formatBytes } from '../../../core/format/bytes';
import { apiErrorMessage } from '../../../core/http/api-error';

export const BACKUPS_PER_PAGE = 25;

export const BACKUP_STATE_LABELS: Record<BackupState, string> = {
  pending: 'Pending',
  running: 'Running',
  done: 'Done',
  failed: 'Failed',
  disabled: 'Not configured',
};

/**
 * A failed backup with a next attempt scheduled is being retried by the
 * worker on its own; only one without is failed for good (until retried by hand).
 */
export function isRetrying(backup: BackupItem['backup']): boolean {
  return backup.state === 'failed' && backup.nextAttemptAt !== null;
}

interface Notice {
  kind: 'ok' | 'error';
  text: string;
}

/**
 * The backup copy of every file (admin only): how many files are in each
 * state, the files of one state a page at a time, Retry for a failed one, and
 * "Back up everything missing", which queues every file without a good copy.
 */
@Component({
  selector: 'app-backups-page',
  imports: [FormsModule, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card full">
      <div class="title-row">
        <h1>Backups</h1>
        <div class="buttons">
          <button type="button" class="small" [disabled]="loading()" (click)="load()">
            Refresh
          </button>
          <button
            type="button"
            class="small"
            data-testid="run-missing"
            [disabled]="runningMissing()"
            (click)="runMissing()"
          >
            {{ runningMissing() ? 'Queuing…' : 'Back up everything missing' }}
          </button>
        </div>
      </div>
      <div aria-live="polite">
        @if (notice(); as n) {
          @if (n.kind === 'ok') {
            <p class="notice" data-testid="notice">{{ n.text }}</p>
          } @else {
            <p class="error" role="alert" data-testid="notice">{{ n.text }}</p>
          }
        }
      </div>

      @if (summary(); as s) {
        <dl class="summary" data-testid="backup-summary">
          @for (state of states; track state) {
            <div
              class="count"
              [attr.data-state]="state"
              [class.alert]="state === 'failed' && s[state] > 0"
            >
              <dt>{{ labels[state] }}</dt>
              <dd [attr.data-testid]="'summary-' + state">{{ s[state] }}</dd>
            </div>
          }
        </dl>
      } @else if (summaryError(); as message) {
        <p class="error" role="alert">{{ message }}</p>
      }

      <div class="filter">
        <label for="backup-status">Show</label>
        <select
          id="backup-status"
          data-testid="backup-status"
          [ngModel]="status()"
          (ngModelChange)="setStatus($event)"
        >
          <option [ngValue]="null">All files</option>
          @for (state of states; track state) {
            <option [ngValue]="state">{{ labels[state] }}</option>
          }
        </select>
      </div>

      @if (listError(); as message) {
        <p class="error" role="alert" data-testid="backups-error">{{ message }}</p>
      } @else if (page(); as p) {
        @if (p.items.length === 0) {
          <p data-testid="backups-empty">
            {{
              status() ? 'No files are ' + labels[status()!].toLowerCase() + '.' : 'No files yet.'
            }}
          </p>
        } @else {
          <div class="table-wrap">
            <table data-testid="backups-table">
              <caption class="visually-hidden">
                Files and their backup copies
              </caption>
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Size</th>
                  <th scope="col">Backup</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Backed up / next attempt</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                @for (f of p.items; track f.id) {
                  <tr
                    data-testid="backup-row"
                    [attr.data-file-id]="f.id"
                    [attr.aria-busy]="isBusy(f.id)"
                  >
                    <th scope="row">
                      <span data-testid="backup-name">{{ f.name }}</span>
                      <small class="details">owner {{ f.ownerId }}</small>
                    </th>
                    <td>{{ formatBytes(f.size) }}</td>
                    <td>
                      @if (isRetrying(f.backup)) {
                        <span data-testid="backup-state">Retrying</span>
                        <small class="details" data-testid="backup-retry-at">
                          next attempt
                          <time [attr.datetime]="f.backup.nextAttemptAt">{{
                            f.backup.nextAttemptAt | date: 'medium'
                          }}</time>
                        </small>
                      } @else {
                        <span data-testid="backup-state">{{ labels[f.backup.state] }}</span>
                      }
                    </td>
                    <td>{{ f.backup.attempts }}</td>
                    <td>
                      @if (f.backup.backedUpAt) {
                        <time [attr.datetime]="f.backup.backedUpAt">{{
                          f.backup.backedUpAt | date: 'medium'
                        }}</time>
                      } @else if (f.backup.nextAttemptAt) {
                        next
                        <time [attr.datetime]="f.backup.nextAttemptAt">{{
                          f.backup.nextAttemptAt | date: 'medium'
                        }}</time>
                      } @else {
                        —
                      }
                    </td>
                    <td class="last-error">{{ f.backup.lastError ?? '—' }}</td>
                    <td>
                      @if (f.backup.state === 'failed') {
                        <button
                          type="button"
                          class="small"
                          [disabled]="isBusy(f.id)"
                          [attr.aria-label]="'Retry backup of ' + f.name"
                          (click)="retry(f)"
                        >
                          Retry
                        </button>
                      }
                    </td>
                  </tr>
                }
              </tbody>
            </table>
          </div>
        }
        @if (p.total > 0 || pageNumber() > 1) {
          <nav class="pager" aria-label="Pages of backups">
            <button
              type="button"
              class="small"
              [disabled]="pageNumber() <= 1 || loading()"
              (click)="goTo(pageNumber() - 1)"
            >
              Previous
            </button>
            <span data-testid="backups-range">{{ rangeText() }}</span>
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
    .pager {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      justify-content: space-between;
      gap: 0.5rem;
    }
    .buttons {
      display: flex;
      gap: 0.5rem;
    }
    .summary {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(8rem, 1fr));
      gap: 0.75rem;
      margin: 1rem 0;
    }
    .count {
      padding: 0.6rem 0.8rem;
      border: 1px solid #e3e7ef;
      border-radius: 6px;
    }
    /* Failures are emphasised only when there are some. */
    .count.alert {
      border-color: #a11d1d;
    }
    .count.alert dd {
      color: #a11d1d;
    }
    dt {
      font-size: 0.85rem;
      color: #5a6378;
    }
    dd {
      margin: 0.2rem 0 0;
      font-size: 1.4rem;
      font-weight: 700;
    }
    .filter {
      display: flex;
      align-items: center;
      gap: 0.5rem;
    }
    .filter label {
      margin-top: 0;
    }
    .last-error {
      max-width: 18rem;
      overflow-wrap: anywhere;
    }
    .pager {
      margin-top: 0.75rem;
    }
  `,
})
export class BackupsPage {
  private readonly api = inject(BackupsService);

  protected readonly states = BACKUP_STATES;
  protected readonly labels = BACKUP_STATE_LABELS;
  protected readonly formatBytes = formatBytes;
  protected readonly isRetrying = isRetrying;

  protected readonly summary = signal<BackupSummary | null>(null);
  protected readonly summaryError = signal<string | null>(null);
  protected readonly status = signal<BackupState | null>(null);
  protected readonly pageNumber = signal(1);
  protected readonly page = signal<Page<BackupItem> | null>(null);
  protected readonly listError = signal<string | null>(null);
  protected readonly loading = signal(false);
  protected readonly notice = signal<Notice | null>(null);
  protected readonly runningMissing = signal(false);
  private readonly busyIds = signal<ReadonlySet<string>>(new Set());
  private generation = 0;

  protected readonly lastPage = computed(() =>
    Math.max(1, Math.ceil((this.page()?.total ?? 0) / BACKUPS_PER_PAGE)),
  );
  protected readonly rangeText = computed(() => {
    const p = this.page();
    if (!p || p.items.length === 0) return `Page ${this.pageNumber()}`;
    const first = (this.pageNumber() - 1) * BACKUPS_PER_PAGE + 1;
    return `${first}–${first + p.items.length - 1} of ${p.total}`;
  });

  constructor() {
    void this.load();
  }

  protected async load(): Promise<void> {
    await Promise.all([this.loadSummary(), this.loadList()]);
  }

  protected setStatus(status: BackupState | null): void {
    this.status.set(status);
    this.pageNumber.set(1);
    void this.loadList();
  }

  protected goTo(page: number): void {
    this.pageNumber.set(page);
    void this.loadList();
  }

  protected isBusy(id: string): boolean {
    return this.busyIds().has(id);
  }

  protected async retry(f: BackupItem): Promise<void> {
    this.setBusy(f.id, true);
    this.notice.set(null);
    try {
      const updated = await this.api.retry(f.id);
      this.page.update((p) =>
        p ? { ...p, items: p.items.map((x) => (x.id === updated.id ? updated : x)) } : p,
      );
      this.notice.set({ kind: 'ok', text: `Backup of “${f.name}” queued again.` });
      void this.loadSummary();
    } catch (err) {
      this.notice.set({
        kind: 'error',
        text: `Could not retry “${f.name}”: ${apiErrorMessage(err)}`,
      });
    } finally {
      this.setBusy(f.id, false);
    }
  }

  protected async runMissing(): Promise<void> {
    this.runningMissing.set(true);
    this.notice.set(null);
    try {
      const { queued } = await this.api.runMissing();
      this.notice.set({
        kind: 'ok',
        text:
          queued === 0
            ? 'Every file already has a backup (or is being backed up).'
            : `Queued ${queued} ${queued === 1 ? 'file' : 'files'} for backup.`,
      });
      await this.load();
    } catch (err) {
      this.notice.set({
        kind: 'error',
        text: `Could not start the backups: ${apiErrorMessage(err)}`,
      });
    } finally {
      this.runningMissing.set(false);
    }
  }

  private async loadSummary(): Promise<void> {
    try {
      this.summary.set(await this.api.summary());
      this.summaryError.set(null);
    } catch (err) {
      this.summaryError.set(`The summary could not be loaded: ${apiErrorMessage(err)}`);
    }
  }

  private async loadList(): Promise<void> {
    const generation = ++this.generation;
    this.loading.set(true);
    try {
      const page = await this.api.list({
        status: this.status(),
        page: this.pageNumber(),
        limit: BACKUPS_PER_PAGE,
      });
      if (generation !== this.generation) return;
      this.page.set(page);
      this.listError.set(null);
    } catch (err) {
      if (generation !== this.generation) return;
      this.listError.set(`The backups could not be loaded: ${apiErrorMessage(err)}`);
    } finally {
      if (generation === this.generation) this.loading.set(false);
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
