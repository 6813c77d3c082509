import { DOCUMENT } from '@angular/common';
import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import {
  computed,
  DestroyRef,
  effect,
  inject,
  Injectable,
  InjectionToken,
  type Signal,
  signal,
  untracked,
  type WritableSignal,
} from '@angular/core';
import { firstValueFrom } from 'rxjs';
import { AuthService } from '../auth/auth.service';
import { formatBytes } from '../format/bytes';
import { apiErrorCode, apiErrorMessage } from '../http/api-error';
import { INITIAL_SNAPSHOT, InitiateFailure, UploadSession } from './upload-session';
import { type InitiatedUpload, TERMINAL_PHASES, type UploadSnapshot } from './upload.types';

/** Files uploading at the same time; the rest wait their turn. */
export const MAX_PARALLEL_UPLOADS = 3;

/** Opens a WebSocket; replaced by a fake in tests. */
export const WEB_SOCKET_FACTORY = new InjectionToken<(url: string) => WebSocket>(
  'WEB_SOCKET_FACTORY',
  { providedIn: 'root', factory: () => (url: string) => new WebSocket(url) },
);

/** One row of the upload list. */
export interface UploadItem {
  readonly key: number;
  readonly name: string;
  readonly size: number;
  readonly state: Signal<UploadSnapshot>;
}

interface Entry extends UploadItem {
  readonly session: UploadSession;
  readonly writable: WritableSignal<UploadSnapshot>;
}

/**
 * The uploads of this browser session. Root-scoped, so uploads go on while the
 * user looks at another page. Each file runs its own `UploadSession`; at most
 * `MAX_PARALLEL_UPLOADS` hold a connection at once. The user's storage figures
 * are re-read whenever an upload reserves or settles space.
 */
@Injectable({ providedIn: 'root' })
export class UploadService {
  private readonly http = inject(HttpClient);
  private readonly auth = inject(AuthService);
  private readonly openSocket = inject(WEB_SOCKET_FACTORY);
  private readonly document = inject(DOCUMENT);

  private readonly entries = signal<readonly Entry[]>([]);
  private readonly completedCount = signal(0);
  private readonly settledCount = signal(0);
  private nextKey = 1;
  private owner: string | null = null;

  readonly uploads: Signal<readonly UploadItem[]> = this.entries.asReadonly();
  /** Goes up by one each time an upload completes: lists of files watch it to refresh. */
  readonly completed: Signal<number> = this.completedCount.asReadonly();
  /**
   * Goes up by one each time an upload the server holds settles (completes,
   * is cancelled or fails for good): lists showing upload states watch it.
   */
  readonly settled: Signal<number> = this.settledCount.asReadonly();
  /** Some rows are over and could be cleared. */
  readonly hasFinished = computed(() => this.entries().some((e) => isOver(e.state())));
  /**
   * The server-side uploads (by file id) that this browser is sending or still
   * holds (reconnecting, cancelling, failed but resumable), with their row keys:
   * those are cancelled with `cancel(key)`, never behind the session's back.
   */
  readonly heldUploads = computed<ReadonlyMap<string, number>>(() => {
    const held = new Map<string, number>();
    for (const e of this.entries()) {
      // Read state() first: it changes once the upload is initiated, which is when fileId is set.
      const over = isOver(e.state());
      const fileId = e.session.fileId;
      if (!over && fileId !== null) held.set(fileId, e.key);
    }
    return held;
  });

  constructor() {
    // Uploads belong to the person who started them: signing out (or in as
    // someone else) cancels them and empties the list.
    effect(() => {
      const id = this.auth.currentUser()?.id ?? null;
      untracked(() => {
        if (this.owner !== null && id !== this.owner) this.abandonAll();
        this.owner = id;
      });
    });
    // Leaving the page would drop the uploads: ask first.
    const warn = (event: BeforeUnloadEvent) => {
      if (this.entries().some((e) => e.session.isActive)) event.preventDefault();
    };
    const view = this.document.defaultView;
    view?.addEventListener('beforeunload', warn);
    inject(DestroyRef).onDestroy(() => {
      view?.removeEventListener('beforeunload', warn);
      // The app is torn down: no timer or socket may outlive it.
      for (const entry of this.entries()) entry.session.dispose();
    });
  }

  add(files: Iterable<File>): void {
    const added: Entry[] = [];
    for (const file of files) {
      const writable = signal<UploadSnapshot>(INITIAL_SNAPSHOT);
      const session: UploadSession = new UploadSession(file, {
        initiate: () => this.initiate(file),
        connect: (upload) => this.openSocket(this.socketUrl(upload)),
        cancel: (upload) => this.cancelOverHttp(upload),
        onChange: (snapshot) => this.changed(session, writable, snapshot),
      });
      added.push({
        key: this.nextKey++,
        name: file.name,
        size: file.size,
        state: writable.asReadonly(),
        writable,
        session,
      });
    }
    if (added.length === 0) return;
    this.entries.update((list) => [...list, ...added]);
    this.startNext();
  }

  cancel(key: number): void {
    this.find(key)?.session.cancel();
  }

  retry(key: number): void {
    this.find(key)?.session.retry();
  }

  /**
   * Drops the rows that are over. A failed upload the server still holds stays:
   * it can be resumed or cancelled, and hiding it would leave its space reserved.
   */
  clearFinished(): void {
    this.entries.update((list) => list.filter((e) => !isOver(e.state())));
  }

  private find(key: number): Entry | undefined {
    return this.entries().find((e) => e.key === key);
  }

  private changed(
    session: UploadSession,
    writable: WritableSignal<UploadSnapshot>,
    snapshot: UploadSnapshot,
  ): void {
    const before = writable().phase;
    writable.set(snapshot);
    if (before === snapshot.phase) return;
    if (snapshot.phase === 'complete') this.completedCount.update((n) => n + 1);
    const settled = TERMINAL_PHASES.includes(snapshot.phase);
    // Completing, cancelling or a final failure settles the space an initiated upload reserved.
    if (settled && session.fileId !== null) {
      this.refreshUsage();
      this.settledCount.update((n) => n + 1);
    }
    if (settled || snapshot.phase === 'waiting') this.startNext();
  }

  /** Starts waiting uploads while slots are free (counted afresh each time: a start may finish at once). */
  private startNext(): void {
    for (const entry of this.entries()) {
      if (this.entries().filter((e) => e.session.isActive).length >= MAX_PARALLEL_UPLOADS) return;
      if (entry.state().phase === 'waiting') entry.session.start();
    }
  }

  private async initiate(file: File): Promise<InitiatedUpload> {
    try {
      const upload = await firstValueFrom(
        this.http.post<InitiatedUpload>('/api/v1/upload/initiate', {
          filename: file.name,
          size: file.size,
          ...(file.type ? { contentType: file.type } : {}),
        }),
      );
      // The file's size now counts against the quota.
      this.refreshUsage();
      return upload;
    } catch (err) {
      throw initiateFailure(err, file.size);
    }
  }

  private socketUrl(upload: InitiatedUpload): string {
    const url = new URL(upload.uploadUrl, this.document.baseURI);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', upload.uploadToken);
    return url.toString();
  }

  /** The upload token authorises this on its own, so it works after signing out too. */
  private async cancelOverHttp(upload: InitiatedUpload): Promise<void> {
    try {
      await firstValueFrom(
        this.http.delete(`/api/v1/upload/${encodeURIComponent(upload.fileId)}`, {
          headers: { 'X-Upload-Token': upload.uploadToken },
        }),
      );
    } catch (err) {
      // 410: already cancelled or expired — what we wanted.
      if (err instanceof HttpErrorResponse && err.status === 410) return;
      throw new Error(apiErrorMessage(err));
    }
  }

  private refreshUsage(): void {
    if (this.auth.isLoggedIn()) void this.auth.loadMe().catch(() => undefined);
  }

  private abandonAll(): void {
    for (const entry of this.entries()) {
      const { phase, resumable } = entry.state();
      if (entry.session.isActive || phase === 'waiting' || (phase === 'failed' && resumable)) {
        entry.session.cancel();
      }
    }
    this.entries.set([]);
  }
}

function isOver(s: UploadSnapshot): boolean {
  return (
    s.phase === 'complete' || s.phase === 'cancelled' || (s.phase === 'failed' && !s.resumable)
  );
}

/** The sentence for a refused `initiate`, and whether trying again later can help. */
export function initiateFailure(err: unknown, size: number): InitiateFailure {
  const status = err instanceof HttpErrorResponse ? err.status : -1;
  const code = apiErrorCode(err);
  if (code === 'quota_exceeded' || status === 413) {
    return new InitiateFailure(
      `This file (${formatBytes(size)}) does not fit in your remaining storage quota. Free up space and try again.`,
      false,
    );
  }
  if (code === 'insufficient_storage' || status === 507) {
    return new InitiateFailure(
      'No storage account has room for this file right now. An administrator needs to add storage.',
      false,
    );
  }
  if (status === 503 || status === 502 || status === 504 || status === 0) {
    const header = err instanceof HttpErrorResponse ? Number(err.headers.get('Retry-After')) : NaN;
    const retryAfterMs = Number.isFinite(header) && header > 0 ? header * 1000 : 0;
    const reason =
      status === 503 ? apiErrorMessage(err) : 'The server cannot be reached at the moment';
    return new InitiateFailure(reason.replace(/\.$/, ''), true, retryAfterMs);
  }
  return new InitiateFailure(apiErrorMessage(err), false);
}
