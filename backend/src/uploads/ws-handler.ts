import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { AppError } from '../core/errors';
import type { Logger } from '../core/logger';
import { toFileView } from '../files/view';
import { UploadError, uploadGone } from './errors';
import type { PreemptReason, UploadCursor, UploadService } from './service';

const UPLOAD_PATH = /^\/ws_api\/upload\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * Chunks received but not yet written upstream before we stop reading the
 * socket. With the one being written that is at most three chunks (12 MiB) per
 * upload in memory, while the next chunk is already on its way in — enough to
 * keep the upstream busy, never more.
 */
export const MAX_QUEUED_CHUNKS = 2;

/** Close codes (RFC 6455): 1000 done, 1008 the client broke the protocol, 1011 our fault, 1013 try again later. */
const CLOSE = { normal: 1000, policy: 1008, internal: 1011, tryAgain: 1013 } as const;

interface ErrorMessage {
  type: 'error';
  code: string;
  message: string;
  retryable: boolean;
}

/**
 * The `/ws_api/upload/<fileId>?token=…` protocol (ARCHITECTURE.md): `ready`
 * with the committed offset, binary chunks in order, `progress`, `complete`,
 * `error`, and the client's `cancel`.
 */
export class UploadSocketServer {
  private readonly wss: WebSocketServer;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly deps: { uploads: UploadService; logger: Logger; heartbeatMs?: number },
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      // A frame is at most one chunk; anything bigger is refused by ws before it is buffered.
      maxPayload: deps.uploads.chunkSize,
      perMessageDeflate: false,
    });
    this.heartbeat = setInterval(() => this.pingAll(), deps.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
  }

  /** Whether this upgrade request is ours. Never throws: any client can send any request line. */
  handles(url: string | undefined): boolean {
    const parsed = parseTarget(url);
    return parsed !== null && UPLOAD_PATH.test(parsed.pathname);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = parseTarget(req.url);
    const fileId = url ? UPLOAD_PATH.exec(url.pathname)?.[1] : undefined;
    if (!url || !fileId) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const token = url.searchParams.get('token') ?? '';
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const alive = ws as WebSocket & { alive?: boolean };
      alive.alive = true;
      ws.on('pong', () => (alive.alive = true));
      // Auth happens after the upgrade so a browser gets a readable reason, not a bare failed handshake.
      void new UploadSocketSession(ws, this.deps.uploads, this.deps.logger.child({ fileId })).run(fileId, token);
    });
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const ws of this.wss.clients) ws.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    for (const ws of this.wss.clients) ws.terminate();
  }

  /** Drops connections whose peer vanished without a close. A paused socket cannot read pongs, so it is spared. */
  private pingAll(): void {
    for (const client of this.wss.clients) {
      const ws = client as WebSocket & { alive?: boolean };
      if (ws.isPaused) continue;
      if (ws.alive === false) {
        ws.terminate();
        continue;
      }
      ws.alive = false;
      ws.ping();
    }
  }
}

/** One client connection feeding one upload. */
class UploadSocketSession {
  private cursor: UploadCursor | null = null;
  private queue: Array<{ offset: number; bytes: Buffer }> = [];
  private received = 0;
  private pumping: Promise<void> | null = null;
  private finished = false;
  private cancelling = false;
  private token = '';
  private fileId = '';

  constructor(
    private readonly ws: WebSocket,
    private readonly uploads: UploadService,
    private readonly log: Logger,
  ) {}

  async run(fileId: string, token: string): Promise<void> {
    this.fileId = fileId;
    this.token = token;
    this.ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on('close', () => this.onClose());
    this.ws.on('error', (err) => this.log.debug({ err }, 'upload socket error'));
    try {
      if (!token) throw new UploadError(401, 'invalid_upload_token', 'The upload token is missing (add ?token=…)', false);
      const cursor = await this.uploads.open(fileId, { uploadToken: token }, (reason) => this.onPreempted(reason));
      if (this.finished) {
        cursor.release();
        return;
      }
      this.cursor = cursor;
      this.received = cursor.committed;
      this.send({ type: 'ready', offset: cursor.isComplete ? cursor.size : cursor.committed });
      if (cursor.isComplete || cursor.committed === cursor.size) await this.complete();
    } catch (err) {
      this.fail(err);
    }
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.finished) return;
    if (!isBinary) {
      this.onControl(data.toString());
      return;
    }
    const cursor = this.cursor;
    if (!cursor) {
      this.fail(new UploadError(400, 'not_ready', 'Send bytes only after the server said ready', false));
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const expected = Math.min(this.uploads.chunkSize, cursor.size - this.received);
    if (expected <= 0) {
      this.fail(new UploadError(400, 'size_exceeded', `All ${cursor.size} declared bytes were already sent`, false));
      return;
    }
    if (bytes.length !== expected) {
      this.fail(
        new UploadError(
          400,
          'chunk_size_mismatch',
          `Expected a chunk of ${expected} bytes at offset ${this.received} (chunks are ${this.uploads.chunkSize} bytes except the last), got ${bytes.length}`,
          false,
        ),
      );
      return;
    }
    this.queue.push({ offset: this.received, bytes });
    this.received += bytes.length;
    if (this.queue.length >= MAX_QUEUED_CHUNKS) this.ws.pause();
    this.send({ type: 'progress', committed: cursor.committed, received: this.received });
    this.pumping ??= this.pump().finally(() => (this.pumping = null));
  }

  private onControl(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      message = null;
    }
    if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'cancel') {
      if (!this.cancelling) void this.cancel();
      return;
    }
    this.fail(new UploadError(400, 'unexpected_message', 'The only text message a client may send is {"type":"cancel"}', false));
  }

  /** Writes queued chunks upstream one at a time, resuming the socket as the queue drains. */
  private async pump(): Promise<void> {
    const cursor = this.cursor;
    if (!cursor) return;
    try {
      for (let next = this.queue[0]; next && !this.finished; next = this.queue[0]) {
        await cursor.write(next.offset, next.bytes);
        this.queue.shift();
        if (this.ws.isPaused && this.queue.length < MAX_QUEUED_CHUNKS && !this.finished) this.ws.resume();
        this.send({ type: 'progress', committed: cursor.committed, received: this.received });
        this.uploads.publishProgress(cursor.file, this.received);
      }
      if (!this.finished && cursor.committed === cursor.size) await this.complete();
    } catch (err) {
      // A write that raced a cancel fails because the upload is gone; the cancel reply says it better.
      if (!this.cancelling) this.fail(err);
    }
  }

  private async complete(): Promise<void> {
    const cursor = this.cursor;
    if (!cursor || this.finished) return;
    const file = await cursor.finish();
    this.send({ type: 'complete', file: toFileView(file) });
    this.end(CLOSE.normal, 'complete');
  }

  private async cancel(): Promise<void> {
    this.cancelling = true;
    this.queue = [];
    try {
      const file = await this.uploads.cancel(this.fileId, { uploadToken: this.token });
      this.send({ type: 'cancelled', file: toFileView(file) });
      this.end(CLOSE.normal, 'cancelled');
    } catch (err) {
      this.fail(err);
    }
  }

  private onPreempted(reason: PreemptReason): void {
    if (this.cancelling) return;
    this.fail(reason === 'superseded' ? new UploadError(409, 'superseded', 'Another connection took over this upload', false) : uploadGone(reason));
  }

  private fail(err: unknown): void {
    if (this.finished) return;
    const message = toErrorMessage(err);
    if (message.code === 'internal_error') this.log.error({ err }, 'upload socket failed');
    else this.log.info({ code: message.code, retryable: message.retryable }, 'upload socket ended with an error');
    this.send(message);
    const code = message.code === 'internal_error' ? CLOSE.internal : message.retryable ? CLOSE.tryAgain : CLOSE.policy;
    this.end(code, message.code);
  }

  private send(message: object): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private end(code: number, reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.queue = [];
    if (this.ws.isPaused) this.ws.resume();
    // The close reason is limited to 123 bytes; codes are short.
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason.slice(0, 120));
    this.releaseWhenIdle();
  }

  private onClose(): void {
    // Chunks not yet written are dropped: the client resends from the committed offset.
    this.finished = true;
    this.queue = [];
    this.releaseWhenIdle();
  }

  /** The lock is given back only after the in-flight upstream write settles, so the next writer sees its result. */
  private releaseWhenIdle(): void {
    const cursor = this.cursor;
    if (!cursor) return;
    void (this.pumping ?? Promise.resolve()).finally(() => cursor.release());
  }
}

/** The request target as a URL, or null when it is not one (e.g. `//[`). */
function parseTarget(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://gateway.invalid');
  } catch {
    return null;
  }
}

function toErrorMessage(err: unknown): ErrorMessage {
  if (err instanceof UploadError) return { type: 'error', code: err.code, message: err.message, retryable: err.retryable };
  if (err instanceof AppError) {
    // 503 and other server-side conditions can pass; client errors and a full pool will not.
    const retryable = err.status >= 500 && err.status !== 507;
    return { type: 'error', code: err.code, message: err.message, retryable };
  }
  return { type: 'error', code: 'internal_error', message: 'Something went wrong on our side; reconnect to resume', retryable: true };
}
