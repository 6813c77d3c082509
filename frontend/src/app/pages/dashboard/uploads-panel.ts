import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { formatBytes } from '../../core/format/bytes';
import { UploadService } from '../../core/uploads/upload.service';
import type { UploadPhase, UploadSnapshot } from '../../core/uploads/upload.types';
import { StackedBar } from '../../shared/stacked-bar';

/** The one-line state of an upload row. */
export function uploadStatusText(s: UploadSnapshot, size: number): string {
  switch (s.phase) {
    case 'waiting':
      return 'Waiting';
    case 'uploading':
      return `Uploading: ${formatBytes(s.committed)} stored, ${formatBytes(s.received)} received of ${formatBytes(size)} (${percent(s.committed, size)}%)`;
    case 'reconnecting':
      // Before the server has the upload there is nothing to reconnect to: it is asked again.
      return `${s.resumable ? 'Reconnecting' : 'Retrying'} in ${s.retryInSeconds ?? 0} s`;
    case 'cancelling':
      return 'Cancelling…';
    case 'complete':
      return 'Complete';
    case 'failed':
      return 'Failed';
    case 'cancelled':
      return 'Cancelled';
  }
}

function percent(part: number, size: number): number {
  return size > 0 ? Math.floor((part / size) * 100) : 0;
}

const SUMMARY_ORDER: readonly UploadPhase[] = [
  'uploading',
  'reconnecting',
  'waiting',
  'cancelling',
  'complete',
  'failed',
  'cancelled',
];

/**
 * Pick or drop files; each becomes a row with a live progress bar (stored and
 * received bytes), its state, and Cancel / Retry. The uploads themselves live
 * in UploadService, so they go on if this panel is left.
 */
@Component({
  selector: 'app-uploads-panel',
  imports: [StackedBar],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h2 id="uploads-heading">Upload files</h2>
    <div
      class="dropzone"
      data-testid="dropzone"
      [class.over]="dragging()"
      (dragover)="onDragOver($event)"
      (dragleave)="onDragLeave($event)"
      (drop)="onDrop($event)"
    >
      <p>Drag files here, or</p>
      <input
        id="upload-input"
        class="visually-hidden"
        type="file"
        multiple
        data-testid="upload-input"
        (change)="onPick($event)"
      />
      <label class="button secondary" for="upload-input">Choose files…</label>
    </div>
    @if (notice(); as text) {
      <p class="hint" role="status">{{ text }}</p>
    }
    @if (uploads.uploads().length > 0) {
      <div class="uploads-bar">
        <p role="status" data-testid="upload-summary">{{ summary() }}</p>
        @if (uploads.hasFinished()) {
          <button type="button" class="small" (click)="uploads.clearFinished()">
            Clear finished
          </button>
        }
      </div>
      <ul class="uploads" aria-labelledby="uploads-heading">
        @for (item of uploads.uploads(); track item.key) {
          @let s = item.state();
          <li class="upload" data-testid="upload-row" [attr.data-phase]="s.phase">
            <div class="upload-head">
              <span class="upload-name" data-testid="upload-name">{{ item.name }}</span>
              <span class="upload-size">{{ formatBytes(item.size) }}</span>
            </div>
            <app-stacked-bar
              [value]="item.size === 0 && s.phase === 'complete' ? 1 : s.committed"
              [extra]="s.received - s.committed"
              [max]="item.size || 1"
              [label]="'Upload of ' + item.name"
              [valueText]="status(s, item.size)"
            />
            <p class="upload-state">
              <span data-testid="upload-state">{{ status(s, item.size) }}</span>
              @if (s.phase === 'reconnecting' && s.message) {
                <span class="reason"> — {{ s.message }}</span>
              }
            </p>
            @if (s.phase === 'complete' && s.file) {
              <p class="sha">
                SHA-256 <code data-testid="upload-sha256">{{ s.file.sha256 }}</code>
              </p>
            }
            @if (s.phase === 'failed' && s.message) {
              <p class="error" role="alert" data-testid="upload-error">{{ s.message }}</p>
            }
            <div class="upload-actions">
              @if (cancellable(s)) {
                <button
                  type="button"
                  class="small"
                  data-testid="upload-cancel"
                  [attr.aria-label]="'Cancel upload of ' + item.name"
                  (click)="uploads.cancel(item.key)"
                >
                  Cancel
                </button>
              }
              @if (s.phase === 'failed') {
                <button
                  type="button"
                  class="small"
                  data-testid="upload-retry"
                  [attr.aria-label]="'Retry upload of ' + item.name"
                  (click)="uploads.retry(item.key)"
                >
                  {{ s.resumable ? 'Resume' : 'Retry' }}
                </button>
              }
            </div>
          </li>
        }
      </ul>
    }
  `,
  styles: `
    .dropzone {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      justify-content: center;
      gap: 0.75rem;
      padding: 1.25rem;
      border: 2px dashed #c4cad6;
      border-radius: 8px;
      text-align: center;
    }
    .dropzone p {
      margin: 0;
    }
    .dropzone .button {
      margin: 0;
    }
    .dropzone.over {
      border-color: #3b6fd8;
      background: #eef3fc;
    }
    .dropzone:focus-within .button {
      outline: 2px solid #3b6fd8;
      outline-offset: 2px;
    }
    .uploads-bar {
      display: flex;
      align-items: center;
      justify-content: space-between;
      gap: 0.5rem;
      margin-top: 1rem;
    }
    .uploads {
      list-style: none;
      margin: 0.5rem 0 0;
      padding: 0;
    }
    .upload {
      padding: 0.6rem 0;
      border-top: 1px solid #e3e7ef;
    }
    .upload-head {
      display: flex;
      justify-content: space-between;
      gap: 0.5rem;
      margin-bottom: 0.3rem;
    }
    .upload-name {
      font-weight: 600;
      overflow-wrap: anywhere;
    }
    .upload-size,
    .reason {
      color: #5a6378;
    }
    .upload-state,
    .sha {
      margin: 0.3rem 0 0;
      font-size: 0.9rem;
    }
    .sha code {
      overflow-wrap: anywhere;
    }
    .upload-actions {
      display: flex;
      gap: 0.5rem;
      margin-top: 0.3rem;
    }
  `,
})
export class UploadsPanel {
  protected readonly uploads = inject(UploadService);
  protected readonly dragging = signal(false);
  protected readonly notice = signal<string | null>(null);
  protected readonly formatBytes = formatBytes;
  protected readonly status = uploadStatusText;

  /** "2 uploading, 1 waiting, 3 complete": changes only when a row changes state, so it is announced politely. */
  protected readonly summary = computed(() => {
    const counts = new Map<UploadPhase, number>();
    for (const item of this.uploads.uploads()) {
      const phase = item.state().phase;
      counts.set(phase, (counts.get(phase) ?? 0) + 1);
    }
    return SUMMARY_ORDER.filter((p) => counts.has(p))
      .map((p) => `${counts.get(p)} ${p}`)
      .join(', ');
  });

  protected cancellable(s: UploadSnapshot): boolean {
    return (
      s.phase === 'waiting' ||
      s.phase === 'uploading' ||
      s.phase === 'reconnecting' ||
      (s.phase === 'failed' && s.resumable)
    );
  }

  protected onPick(event: Event): void {
    const input = event.target as HTMLInputElement;
    this.notice.set(null);
    this.uploads.add(Array.from(input.files ?? []));
    // Picking the same file again must fire another change.
    input.value = '';
  }

  protected onDragOver(event: DragEvent): void {
    if (!event.dataTransfer?.types.includes('Files')) return;
    // Without this the browser would open the dropped file instead.
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    this.dragging.set(true);
  }

  protected onDragLeave(event: DragEvent): void {
    const zone = event.currentTarget as HTMLElement | null;
    if (!zone?.contains(event.relatedTarget as Node | null)) this.dragging.set(false);
  }

  protected onDrop(event: DragEvent): void {
    event.preventDefault();
    this.dragging.set(false);
    const transfer = event.dataTransfer;
    if (!transfer) return;
    const files: File[] = [];
    let folders = 0;
    const items = Array.from(transfer.items ?? []).filter((i) => i.kind === 'file');
    if (items.length > 0) {
      // A dropped folder arrives as a File that cannot be read: tell it apart by its entry.
      for (const item of items) {
        const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
        const file = item.getAsFile();
        if (entry?.isDirectory) folders++;
        else if (file) files.push(file);
      }
    } else {
      files.push(...Array.from(transfer.files));
    }
    this.notice.set(
      folders > 0
        ? `${folders === 1 ? 'A folder was' : `${folders} folders were`} skipped: drop the files inside it instead.`
        : null,
    );
    this.uploads.add(files);
  }
}
