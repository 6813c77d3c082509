import type { InitiatedUpload, ServerMessage, UploadSnapshot } from './upload.types';

/** WebSocket.OPEN; spelled out so the session runs against a fake socket in tests. */
const OPEN = 1;

/** How a session paces itself and when it gives up. */
export interface UploadPolicy {
  /** First reconnect delay; it doubles with every failed attempt in a row. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failed attempts in a row (no byte committed in between) before giving up. */
  maxFailures: number;
  /** A connection that has not said `ready` by then counts as dropped. */
  readyTimeoutMs: number;
  /** Chunks allowed to wait in the socket's send buffer: enough to keep the line busy, no more in memory. */
  bufferedChunks: number;
  /** Browsers have no "buffer drained" event: while the buffer is full, look again this often. */
  drainPollMs: number;
}

export const DEFAULT_UPLOAD_POLICY: UploadPolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  // 1 + 2 + 4 + 8 + 16 + 30 + 30 s of waiting: about 1.5 minutes without any progress.
  maxFailures: 8,
  // The server may first wait for a previous connection's upstream write to settle.
  readyTimeoutMs: 60_000,
  bufferedChunks: 2,
  drainPollMs: 50,
};

/** Initiating failed; `retryable` when the server asked us to come back (503) or could not be reached. */
export class InitiateFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

/** The outside world of one upload; the Angular service provides it, tests fake it. */
export interface UploadSessionDeps {
  /** `POST /api/v1/upload/initiate`; throws an `InitiateFailure`. */
  initiate(): Promise<InitiatedUpload>;
  /** Opens `ws(s)://<host><uploadUrl>?token=<uploadToken>`. */
  connect(upload: InitiatedUpload): WebSocket;
  /** Cancels over HTTP when no socket can carry the cancel; throws an Error with a readable message. */
  cancel(upload: InitiatedUpload): Promise<void>;
  onChange(snapshot: UploadSnapshot): void;
}

/** Every upload starts here, before `start()`. */
export const INITIAL_SNAPSHOT: UploadSnapshot = {
  phase: 'waiting',
  committed: 0,
  received: 0,
  retryInSeconds: null,
  message: null,
  file: null,
  resumable: false,
};

/**
 * One file's upload over the `/ws_api/upload/<fileId>` protocol, as a small
 * state machine (phases in `UploadPhase`):
 *
 * - `start()` initiates once, then connects. The server's `ready` names the
 *   committed offset; from there the file goes out as `File.slice` chunks of
 *   exactly `chunkSize` bytes (the last one shorter), never more than
 *   `bufferedChunks` of them waiting in the socket, so the file is never read
 *   into memory as a whole.
 * - A dropped connection or a retryable error schedules a reconnect with
 *   exponential backoff; the next `ready` says where to go on (0 after
 *   `upload_restarted`). Any newly committed byte resets the backoff; after
 *   `maxFailures` attempts in a row without one it gives up (`failed`, resumable).
 * - A final error fails it (not resumable: a retry initiates a new upload).
 * - `cancel()` sends `{"type":"cancel"}` on a live connection and waits for
 *   `cancelled`; without one (connecting, reconnecting, failed) it cancels over HTTP.
 *
 * Every socket's events are checked against the current socket, so a late
 * event of an abandoned connection can never move the state.
 */
export class UploadSession {
  private state: UploadSnapshot = INITIAL_SNAPSHOT;
  private upload: InitiatedUpload | null = null;
  private ws: WebSocket | null = null;
  private ready = false;
  /** The next byte to send on the current connection. */
  private next = 0;
  /** The committed offset this connection started from (or has reached): progress past it resets the backoff. */
  private highWater = 0;
  private failures = 0;
  private retryAt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private countdownTimer: ReturnType<typeof setInterval> | null = null;
  private readyTimer: ReturnType<typeof setTimeout> | null = null;
  private drainTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly file: Blob,
    private readonly deps: UploadSessionDeps,
    private readonly policy: UploadPolicy = DEFAULT_UPLOAD_POLICY,
  ) {}

  get snapshot(): UploadSnapshot {
    return this.state;
  }

  /** Holding one of the concurrent upload slots. */
  get isActive(): boolean {
    const { phase } = this.state;
    return phase === 'uploading' || phase === 'reconnecting' || phase === 'cancelling';
  }

  /** The server-side upload, once initiated. */
  get fileId(): string | null {
    return this.upload?.fileId ?? null;
  }

  start(): void {
    if (this.state.phase !== 'waiting') return;
    this.update({ phase: 'uploading', message: null, retryInSeconds: null });
    void this.attempt();
  }

  /** A failed upload goes back in line: resumed if the server still has it, else started anew. */
  retry(): void {
    if (this.state.phase !== 'failed') return;
    if (!this.state.resumable) this.upload = null;
    this.failures = 0;
    const kept = this.upload ? this.state.committed : 0;
    this.update({ phase: 'waiting', message: null, committed: kept, received: kept });
  }

  cancel(): void {
    switch (this.state.phase) {
      case 'waiting':
      case 'failed':
        if (this.upload && this.state.resumable) {
          this.update({ phase: 'cancelling', message: null });
          void this.cancelOverHttp();
        } else if (this.state.phase === 'waiting') {
          this.update({ phase: 'cancelled' });
        }
        return;
      case 'uploading': {
        this.update({ phase: 'cancelling', message: null });
        // Still initiating, or connecting: attempt() resp. the `ready` handler carries on with the cancel.
        const ws = this.ws;
        if (ws && this.ready) this.sendCancel(ws);
        return;
      }
      case 'reconnecting':
        this.stopRetryTimers();
        this.update({ phase: 'cancelling', message: null, retryInSeconds: null });
        void this.cancelOverHttp();
        return;
      default:
        return;
    }
  }

  /** Stops timers and closes the socket without telling the server (the app is being torn down). */
  dispose(): void {
    this.stopRetryTimers();
    this.detach();
  }

  private async attempt(): Promise<void> {
    if (!this.upload) {
      let upload: InitiatedUpload;
      try {
        upload = await this.deps.initiate();
      } catch (err) {
        if (this.state.phase === 'cancelling') return this.update({ phase: 'cancelled' });
        if (this.state.phase !== 'uploading') return;
        const failure =
          err instanceof InitiateFailure
            ? err
            : new InitiateFailure('Something went wrong. Please try again.', false);
        if (failure.retryable) return this.retryLater(failure.message, failure.retryAfterMs);
        return this.fail(failure.message, false);
      }
      this.upload = upload;
      this.update({ resumable: true });
      if (this.state.phase === 'cancelling') return this.cancelOverHttp();
      if (this.state.phase !== 'uploading') return;
    }
    this.open(this.upload);
  }

  private open(upload: InitiatedUpload): void {
    let ws: WebSocket;
    try {
      ws = this.deps.connect(upload);
    } catch (err) {
      // Only a malformed URL or a blocked scheme throws here; trying again cannot help.
      return this.fail(`Cannot open the upload connection: ${(err as Error).message}`, true);
    }
    this.ws = ws;
    this.ready = false;
    this.readyTimer = setTimeout(
      () => this.lost(ws, 'The server did not answer'),
      this.policy.readyTimeoutMs,
    );
    ws.onmessage = (event: MessageEvent) => this.onMessage(ws, event.data);
    // An error event is always followed by close, which is where we act.
    ws.onclose = () => this.lost(ws, 'The connection to the server was lost');
  }

  private onMessage(ws: WebSocket, data: unknown): void {
    if (ws !== this.ws || typeof data !== 'string') return;
    let message: ServerMessage;
    try {
      message = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case 'ready':
        this.clearTimer('readyTimer');
        this.ready = true;
        this.next = message.offset;
        this.highWater = message.offset;
        this.update({ committed: message.offset, received: message.offset });
        if (this.state.phase === 'cancelling') return this.sendCancel(ws);
        return this.pump();
      case 'progress':
        if (message.committed > this.highWater) {
          // The server is taking bytes again: whatever went wrong before is over.
          this.highWater = message.committed;
          this.failures = 0;
        }
        this.update({ committed: message.committed, received: message.received });
        return this.pump();
      case 'complete':
        this.detach();
        return this.update({
          phase: 'complete',
          file: message.file,
          committed: this.file.size,
          received: this.file.size,
          message: null,
          resumable: false,
        });
      case 'cancelled':
        this.detach();
        return this.update({ phase: 'cancelled', resumable: false });
      case 'error':
        this.detach();
        if (this.state.phase === 'cancelling') return void this.cancelOverHttp();
        if (message.retryable) return this.retryLater(message.message);
        return this.fail(message.message, false);
      default:
        return;
    }
  }

  /** Sends as many chunks as the buffer allows, each exactly `chunkSize` bytes except the last. */
  private pump(): void {
    const ws = this.ws;
    const upload = this.upload;
    if (!ws || !upload || !this.ready || this.state.phase !== 'uploading') return;
    const size = this.file.size;
    const limit = this.policy.bufferedChunks * upload.chunkSize;
    while (this.next < size && ws.readyState === OPEN) {
      const length = Math.min(upload.chunkSize, size - this.next);
      if (ws.bufferedAmount + length > limit) break;
      // A Blob slice is a reference: the browser reads the bytes only as it sends them.
      ws.send(this.file.slice(this.next, this.next + length));
      this.next += length;
    }
    if (this.next < size && this.drainTimer === null) {
      this.drainTimer = setTimeout(() => {
        this.drainTimer = null;
        this.pump();
      }, this.policy.drainPollMs);
    }
  }

  private sendCancel(ws: WebSocket): void {
    if (ws.readyState === OPEN) {
      ws.send(JSON.stringify({ type: 'cancel' }));
    } else {
      this.detach();
      void this.cancelOverHttp();
    }
  }

  private lost(ws: WebSocket, reason: string): void {
    if (ws !== this.ws) return;
    this.detach();
    if (this.state.phase === 'cancelling') return void this.cancelOverHttp();
    this.retryLater(reason);
  }

  private retryLater(reason: string, minDelayMs = 0): void {
    this.failures++;
    if (this.failures >= this.policy.maxFailures) {
      return this.fail(
        `Gave up after ${this.failures} attempts in a row: ${reason}.`,
        this.upload !== null,
      );
    }
    const backoff = this.policy.baseDelayMs * 2 ** (this.failures - 1);
    const delay = Math.min(this.policy.maxDelayMs, Math.max(minDelayMs, backoff));
    this.retryAt = Date.now() + delay;
    this.update({
      phase: 'reconnecting',
      message: reason,
      retryInSeconds: Math.ceil(delay / 1000),
    });
    this.countdownTimer = setInterval(() => {
      const seconds = Math.max(1, Math.ceil((this.retryAt - Date.now()) / 1000));
      if (seconds !== this.state.retryInSeconds) this.update({ retryInSeconds: seconds });
    }, 1000);
    this.retryTimer = setTimeout(() => {
      this.stopRetryTimers();
      this.update({ phase: 'uploading', retryInSeconds: null });
      void this.attempt();
    }, delay);
  }

  private async cancelOverHttp(): Promise<void> {
    const upload = this.upload;
    this.detach();
    if (!upload) return this.update({ phase: 'cancelled' });
    try {
      await this.deps.cancel(upload);
      this.update({ phase: 'cancelled', resumable: false });
    } catch (err) {
      // Still held by the server: Cancel stays possible, and so does resuming it.
      this.update({
        phase: 'failed',
        message: `Could not cancel the upload: ${(err as Error).message}`,
      });
    }
  }

  private fail(message: string, resumable: boolean): void {
    this.stopRetryTimers();
    this.detach();
    this.update({ phase: 'failed', message, retryInSeconds: null, resumable });
  }

  /** Lets go of the current socket: no more of its events count, and it is closed if still open. */
  private detach(): void {
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    this.clearTimer('readyTimer');
    this.clearTimer('drainTimer');
    if (!ws) return;
    ws.onmessage = null;
    ws.onclose = null;
    if (ws.readyState <= OPEN) ws.close(1000);
  }

  private stopRetryTimers(): void {
    this.clearTimer('retryTimer');
    if (this.countdownTimer !== null) clearInterval(this.countdownTimer);
    this.countdownTimer = null;
  }

  private clearTimer(name: 'readyTimer' | 'drainTimer' | 'retryTimer'): void {
    const timer = this[name];
    if (timer !== null) clearTimeout(timer);
    this[name] = null;
  }

  private update(patch: Partial<UploadSnapshot>): void {
    this.state = { ...this.state, ...patch };
    this.deps.onChange(this.state);
  }
}
