import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createClient, type DiskQuota, type FileStat, type WebDAVClient } from 'webdav';
import type { Health } from '../../store/types';
import {
  OffsetMismatchError,
  PermanentError,
  ProviderError,
  ProviderNotFoundError,
  RateLimitedError,
  TransientError,
} from '../errors';
import { DEFAULT_RETRY, delayFor, type RetryPolicy, sleep } from '../retry';
import type { ByteRange, ProviderCapabilities, QuotaReport, StorageProvider, UploadHandle, UploadState, UploadTarget } from '../types';
import { describeFailure, mapWebDavError } from './map-error';

export interface WebDavProviderOptions {
  /** Base URL of the WebDAV share, e.g. `https://u12345.your-storagebox.de/`. */
  url: string;
  /** Empty (or absent) username and password: no auth. */
  username?: string;
  password?: string;
  /** Remote folder every object lives under, relative to `url`; default `/directdrivex`. */
  root?: string;
  /** Local folder (under DATA_DIR) where chunks wait for the one PUT; one per member. */
  spoolDir: string;
  retry?: RetryPolicy;
  /**
   * How long a request may make no progress before it counts as a transient
   * failure: a whole metadata request, the wait for a GET's headers, or a gap
   * in a PUT's body and the wait for its reply after the last byte.
   */
  timeoutMs?: number;
  /** Concurrent connections to the server (a Hetzner Storage Box allows about 10 per account). */
  maxConnections?: number;
}

interface WebDavHandle {
  v: 1;
  p: 'webdav';
  uploadId: string;
  /** Where the object will live, relative to the member's root. */
  remoteId: string;
  size: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REMOTE_ID = /^objects\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OBJECTS = 'objects';
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_CONNECTIONS = 8;

/**
 * A WebDAV server as a pool member (Hetzner Storage Box, Nextcloud, any
 * RFC 4918 server). WebDAV has no partial PUT that servers agree on
 * (FACTS.md), so chunks are spooled to `<spoolDir>/<uploadId>.part`
 * (fsync'd; committed = the spool's size) and the object goes up in ONE PUT
 * when the last chunk arrives. The last chunk is never appended to the spool:
 * it is streamed after it, so a failed PUT leaves `committed` where it was
 * and the caller simply offers the last chunk again. The spool is deleted
 * only after the server holds the declared number of bytes.
 *
 * Objects live at `<root>/objects/<uuid>`; the remote id is the part after
 * the root. Ids are checked on every call, so no caller-supplied string ever
 * becomes a path outside the root.
 *
 * Idempotent requests (PROPFIND, MKCOL, GET, DELETE, and the final PUT of
 * complete content to a fresh name) are retried on transient failures with
 * the `retry` backoff; the health probes `quota` and `check` try once, since
 * the health monitor's circuit breaker does the retrying over time.
 *
 * `reportsQuota` starts false and turns true once the server has reported a
 * quota (RFC 4331): many servers (all the Debian ones) report none.
 *
 * Chunks of one upload are serialised in this process; a spool directory must
 * not be shared by two gateway processes writing the same upload at once.
 */
export class WebDavProvider implements StorageProvider {
  readonly kind = 'webdav' as const;
  private readonly client: WebDAVClient;
  /** Path segments of the root below the URL; empty for the URL itself. */
  private readonly rootSegments: string[];
  private readonly spoolDir: string;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly locks = new Map<string, Promise<unknown>>();
  private quotaReported = false;
  /** Whether the root and objects collections are known to exist (set by writeObject). */
  private collectionsReady = false;

  constructor(options: WebDavProviderOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new PermanentError(`Not a URL: ${JSON.stringify(options.url)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PermanentError(`Not an http(s) URL: ${url.protocol}`);
    // Credentials in the URL would end up in error messages (and the admin's view of them).
    if (url.username || url.password) throw new PermanentError('Put the WebDAV username and password in their own fields, not in the URL');
    this.rootSegments = parseRoot(options.root ?? '/directdrivex');
    this.spoolDir = options.spoolDir;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const agentOptions = { keepAlive: true, maxSockets: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS };
    const username = options.username ?? '';
    const password = options.password ?? '';
    this.client = createClient(url.href, {
      ...(username || password ? { username, password } : {}),
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
    });
  }

  get capabilities(): ProviderCapabilities {
    return { chunkMultiple: 1, rangeReads: true, reportsQuota: this.quotaReported };
  }

  async startUpload(target: UploadTarget): Promise<UploadHandle> {
    if (!Number.isSafeInteger(target.size) || target.size < 0) throw new PermanentError(`Invalid size ${target.size}`);
    const handle: WebDavHandle = { v: 1, p: 'webdav', uploadId: randomUUID(), remoteId: `${OBJECTS}/${randomUUID()}`, size: target.size };
    // Reaching the server now, not after the last chunk, lets placement pick another member
    // when this one is down or refuses us, before the client has sent anything.
    await this.ensureCollections();
    await spoolIo(async () => {
      await fsp.mkdir(this.spoolDir, { recursive: true });
      await fsp.writeFile(this.spoolPath(handle.uploadId), Buffer.alloc(0), { flag: 'wx' });
    });
    return JSON.stringify(handle);
  }

  async writeChunk(raw: UploadHandle, offset: number, chunk: Buffer): Promise<{ committed: number; remoteId?: string }> {
    const handle = parseHandle(raw);
    return this.serialised(handle.uploadId, async () => {
      const spooled = await this.spoolSize(handle.uploadId);
      if (spooled === null) {
        const state = await this.remoteState(handle);
        if (state.state === 'done') {
          if (offset === handle.size && chunk.length === 0) return { committed: handle.size, remoteId: state.remoteId };
          throw new OffsetMismatchError(handle.size, offset);
        }
        throw new ProviderNotFoundError('The upload session no longer exists');
      }
      if (offset !== spooled) throw new OffsetMismatchError(spooled, offset);
      const end = offset + chunk.length;
      if (end > handle.size) throw new PermanentError(`Chunk ends at byte ${end}, past the declared size ${handle.size}`);
      if (end < handle.size) {
        await this.writeToSpool(handle.uploadId, offset, chunk);
        return { committed: end };
      }
      const remotePath = this.objectPath(handle.remoteId);
      await this.withRetry(() => this.putObject(handle, remotePath, spooled, chunk));
      // The spool goes only once the server is seen holding every byte; a short object (a server
      // that stores what arrived of a cut-off body) fails here and the caller sends the last chunk again.
      const stored = await this.withRetry(() => this.stat(remotePath));
      if (stored === null || stored.type !== 'file' || stored.size !== handle.size) {
        throw new TransientError(`The WebDAV server holds ${stored?.size ?? 'nothing'} instead of ${handle.size} bytes at ${remotePath} after the PUT`);
      }
      await spoolIo(() => fsp.rm(this.spoolPath(handle.uploadId), { force: true }));
      return { committed: handle.size, remoteId: handle.remoteId };
    });
  }

  async queryUpload(raw: UploadHandle): Promise<UploadState> {
    const handle = parseHandle(raw);
    let remote: Awaited<ReturnType<WebDavProvider['remoteState']>>;
    try {
      remote = await this.remoteState(handle);
    } catch (err) {
      // The server is out of reach, but the spool knows how far the client got: chunks can keep
      // coming while it is down, and only the final PUT needs it (and tells the rest).
      const spooled = err instanceof TransientError ? await this.spoolSize(handle.uploadId) : null;
      if (spooled !== null) return { state: 'in_progress', committed: spooled };
      throw err;
    }
    if (remote.state === 'done') return remote;
    const spooled = await this.spoolSize(handle.uploadId);
    return spooled === null ? { state: 'expired' } : { state: 'in_progress', committed: spooled };
  }

  /**
   * Stores a whole object in one PUT from a stream of exactly `size` bytes
   * (backups copy a primary this way, never buffering it), then checks the
   * server holds `size` bytes. Not retried here: a consumed stream cannot be
   * sent again, so the caller (a queued job) tries again from the start.
   * `signal` aborts the PUT (a worker shutting down): the body may be sitting
   * in socket buffers, out of reach of the content iterator.
   */
  async writeObject(remoteId: string, content: AsyncIterable<Buffer>, size: number, signal?: AbortSignal): Promise<void> {
    const remotePath = this.objectPath(remoteId);
    if (!this.collectionsReady) {
      await this.ensureCollections();
      this.collectionsReady = true;
    }
    try {
      await this.putStream(remotePath, content, size, signal);
    } catch (err) {
      // A parent collection vanished (deleted by hand, server reset): make it again on the next try.
      if (err instanceof ProviderError && describeFailure(err.cause).status === 409) {
        this.collectionsReady = false;
        throw new TransientError(`${err.message}; the folders are re-created on the next try`, { cause: err });
      }
      throw err;
    }
    const stored = await this.withRetry(() => this.stat(remotePath));
    if (stored === null || stored.type !== 'file' || stored.size !== size) {
      throw new TransientError(`The WebDAV server holds ${stored?.size ?? 'nothing'} instead of ${size} bytes at ${remotePath} after the PUT`);
    }
  }

  async abortUpload(raw: UploadHandle): Promise<void> {
    const handle = parseHandle(raw);
    await this.serialised(handle.uploadId, () => spoolIo(() => fsp.rm(this.spoolPath(handle.uploadId), { force: true })));
  }

  async read(remoteId: string, range?: ByteRange): Promise<{ stream: Readable; size: number }> {
    const remotePath = this.objectPath(remoteId);
    const stat = await this.withRetry(() => this.stat(remotePath));
    if (stat === null || stat.type !== 'file') throw new ProviderNotFoundError(`No object ${remoteId}`);
    const size = stat.size;
    if (range && (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start || range.end >= size)) {
      throw new PermanentError(`Range ${range.start}-${range.end} is outside 0-${size - 1}`);
    }
    const stream = await this.withRetry(() => this.get(remotePath, range));
    return { stream, size };
  }

  async remove(remoteId: string): Promise<void> {
    const remotePath = this.objectPath(remoteId);
    await this.withRetry(async () => {
      try {
        await this.call(`DELETE ${remotePath}`, (signal) => this.client.deleteFile(remotePath, { signal }));
      } catch (err) {
        if (!(err instanceof ProviderNotFoundError)) throw err;
      }
    });
  }

  async quota(): Promise<QuotaReport> {
    const rootPath = this.collectionPath(this.rootSegments);
    // Unlike every other call of the client, getQuota puts the path into the URL as it is.
    const encoded = this.collectionPath(this.rootSegments.map(encodeURIComponent));
    const ask = () =>
      this.call(`PROPFIND ${rootPath} (quota)`, async (signal) => (await this.client.getQuota({ path: encoded, signal })) as DiskQuota | null);
    let reported: DiskQuota | null;
    try {
      reported = await ask();
    } catch (err) {
      // A member added a moment ago has no root folder yet; asking about it must not fail.
      if (!(err instanceof ProviderNotFoundError)) throw err;
      await this.ensureCollections(1);
      reported = await ask();
    }
    if (reported === null) return { limit: null, used: 0 };
    const used = Number.isFinite(reported.used) ? Math.max(0, reported.used) : 0;
    if (typeof reported.available !== 'number' || !Number.isFinite(reported.available)) return { limit: null, used };
    this.quotaReported = true;
    return { limit: used + Math.max(0, reported.available), used };
  }

  /** Creates the root if needed, then writes and deletes a small probe: proves reach, credentials and write access. */
  async check(): Promise<Health> {
    const probe = this.collectionPath([...this.rootSegments, `.probe-${randomUUID()}`]);
    try {
      await this.ensureCollections(1);
      await this.call(`PUT ${probe}`, (signal) => this.client.putFileContents(probe, Buffer.from('ok'), { signal }));
      await this.call(`DELETE ${probe}`, (signal) => this.client.deleteFile(probe, { signal }));
      return 'healthy';
    } catch {
      return 'down';
    }
  }

  // ---- remote side ----

  private collectionPath(segments: string[]): string {
    return `/${segments.join('/')}`;
  }

  private objectPath(remoteId: string): string {
    if (!REMOTE_ID.test(remoteId)) throw new ProviderNotFoundError(`No object ${JSON.stringify(remoteId)}`);
    return this.collectionPath([...this.rootSegments, remoteId]);
  }

  private async remoteState(handle: WebDavHandle): Promise<{ state: 'done'; remoteId: string } | { state: 'absent' }> {
    const remotePath = this.objectPath(handle.remoteId);
    const stat = await this.withRetry(() => this.stat(remotePath));
    // A shorter file can be the leftover of an interrupted PUT on servers that write as they
    // receive; it is not the object, and the next PUT replaces it.
    if (stat !== null && stat.type === 'file' && stat.size === handle.size) return { state: 'done', remoteId: handle.remoteId };
    return { state: 'absent' };
  }

  /** PROPFIND depth 0; null when nothing is there. */
  private async stat(remotePath: string): Promise<FileStat | null> {
    try {
      return await this.call(`PROPFIND ${remotePath}`, async (signal) => (await this.client.stat(remotePath, { signal })) as FileStat);
    } catch (err) {
      if (err instanceof ProviderNotFoundError) return null;
      throw err;
    }
  }

  /**
   * MKCOL the root and `objects/` below it, parent first. 405 means the
   * collection exists. Any other refusal is forgiven when a PROPFIND shows the
   * collection is there after all (some servers answer 403 or 409 for an
   * existing folder they will not let us create).
   */
  private async ensureCollections(attempts = this.retry.attempts): Promise<void> {
    const chain = [...this.rootSegments, OBJECTS];
    for (let depth = 1; depth <= chain.length; depth++) {
      const collection = this.collectionPath(chain.slice(0, depth));
      await this.withRetry(async () => {
        try {
          await this.call(`MKCOL ${collection}`, (signal) => this.client.createDirectory(collection, { signal }));
        } catch (err) {
          if (describeFailure((err as ProviderError).cause).status === 405) return;
          if (err instanceof PermanentError) {
            const stat = await this.stat(collection);
            if (stat?.type === 'directory') return;
          }
          throw err;
        }
      }, attempts);
    }
  }

  /** The one PUT of an object, re-creating its parent collections if they vanished since startUpload. */
  private async putObject(handle: WebDavHandle, remotePath: string, spooled: number, last: Buffer): Promise<void> {
    try {
      await this.putOnce(handle, remotePath, spooled, last);
    } catch (err) {
      // 409: a parent collection is missing (deleted by hand, or the server was reset).
      if (!(err instanceof ProviderError) || describeFailure(err.cause).status !== 409) throw err;
      await this.ensureCollections(1);
      await this.putOnce(handle, remotePath, spooled, last);
    }
  }

  /**
   * Streams spool + last chunk with an explicit Content-Length: the client
   * sends any stream chunked otherwise (FACTS.md), which some servers refuse.
   */
  private async putOnce(handle: WebDavHandle, remotePath: string, spooled: number, last: Buffer): Promise<void> {
    const spool = this.spoolPath(handle.uploadId);
    async function* content(): AsyncGenerator<Buffer> {
      if (spooled > 0) yield* fs.createReadStream(spool, { start: 0, end: spooled - 1 }) as AsyncIterable<Buffer>;
      if (last.length > 0) yield last;
    }
    await this.putStream(remotePath, content(), handle.size);
  }

  /**
   * One PUT streaming `content` with an explicit Content-Length: the client
   * sends any stream chunked otherwise (FACTS.md), which some servers refuse.
   */
  private async putStream(remotePath: string, content: AsyncIterable<Buffer>, size: number, signal?: AbortSignal): Promise<void> {
    const controller = new AbortController();
    // An idle timer, not a deadline: a large upload on a slow link is fine as long as it moves.
    const idle = setTimeout(() => controller.abort(), this.timeoutMs);
    const abort = () => controller.abort();
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
    let settled = false;
    async function* timed(): AsyncGenerator<Buffer> {
      for await (const piece of content) {
        if (!settled) idle.refresh();
        yield piece;
      }
    }
    const body = Readable.from(timed(), { objectMode: false });
    try {
      await this.client.putFileContents(remotePath, body, {
        overwrite: true,
        headers: { 'Content-Length': String(size) },
        signal: controller.signal,
      });
    } catch (err) {
      throw spoolOrRemoteError(err, `PUT ${remotePath}`);
    } finally {
      settled = true;
      clearTimeout(idle);
      signal?.removeEventListener('abort', abort);
      body.destroy();
    }
  }

  /** GET (with Range), resolved once the headers are in; the body is streamed, never buffered. */
  private async get(remotePath: string, range: ByteRange | undefined): Promise<Readable> {
    const what = `GET ${remotePath}`;
    const controller = new AbortController();
    // Only the wait for the headers is timed: after that the reader sets the pace.
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    let response: Awaited<ReturnType<WebDAVClient['customRequest']>>;
    try {
      response = await this.client.customRequest(remotePath, {
        method: 'GET',
        headers: range ? { Range: `bytes=${range.start}-${range.end}` } : {},
        signal: controller.signal,
      });
    } catch (err) {
      throw mapWebDavError(err, what);
    } finally {
      clearTimeout(timer);
    }
    // The client's Response type is structural and leaves the body out; node-fetch sets it.
    const source = toNodeReadable((response as { body?: unknown }).body) ?? Readable.from([]);
    const whole = response.status === 200;
    if (!whole && !(range && response.status === 206)) {
      source.destroy();
      throw new PermanentError(`${what} answered ${response.status}`);
    }
    const out: Transform = range && whole ? new RangeSlice(range) : new PassThrough();
    source.once('error', (err) => out.destroy(mapWebDavError(err, what)));
    // A reader that stops early (a video player seeking) must free the connection.
    out.once('close', () => source.destroy());
    source.pipe(out);
    return out;
  }

  /** One request with a deadline, its failure mapped onto provider errors. */
  private async call<T>(what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await work(AbortSignal.timeout(this.timeoutMs));
    } catch (err) {
      throw mapWebDavError(err, what);
    }
  }

  /** Runs `work` again after retryable failures, waiting per the backoff policy (longer if the server asks). */
  private async withRetry<T>(work: () => Promise<T>, attempts = this.retry.attempts): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        const error = err instanceof ProviderError ? err : mapWebDavError(err, 'WebDAV request');
        if (!error.retryable || error instanceof OffsetMismatchError || attempt >= attempts) throw error;
        await sleep(delayFor(attempt - 1, this.retry, error instanceof RateLimitedError ? error.retryAfterMs : undefined));
      }
    }
  }

  // ---- spool side ----

  private spoolPath(uploadId: string): string {
    return path.join(this.spoolDir, `${uploadId}.part`);
  }

  private async spoolSize(uploadId: string): Promise<number | null> {
    try {
      return (await fsp.stat(this.spoolPath(uploadId))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw mapFsError(err);
    }
  }

  /**
   * Writes the chunk at its offset rather than appending: two gateway
   * processes that both saw the spool at `offset` (a client reconnecting to
   * another replica mid-write) then write the same bytes to the same place
   * instead of one after the other.
   */
  private async writeToSpool(uploadId: string, offset: number, chunk: Buffer): Promise<void> {
    await spoolIo(async () => {
      const fh = await fsp.open(this.spoolPath(uploadId), 'r+');
      try {
        await fh.write(chunk, 0, chunk.length, offset);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  /** Runs `work` after every earlier operation on the same upload has finished. */
  private async serialised<T>(uploadId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(uploadId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(uploadId, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(uploadId) === next) this.locks.delete(uploadId);
    }
  }
}

/**
 * Serves an inclusive range out of a full body, for a server that ignored our
 * Range header and answered 200: correct, if not cheap.
 */
class RangeSlice extends Transform {
  private position = 0;
  private finished = false;
  constructor(private readonly range: ByteRange) {
    super();
  }
  override _transform(piece: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.finished) return done();
    const from = Math.max(this.range.start - this.position, 0);
    const to = Math.min(this.range.end + 1 - this.position, piece.length);
    this.position += piece.length;
    if (from < to) this.push(piece.subarray(from, to));
    if (this.position > this.range.end) {
      this.finished = true;
      this.push(null);
    }
    done();
  }
}

function toNodeReadable(body: unknown): Readable | null {
  if (body === null || body === undefined) return null;
  if (body instanceof Readable) return body;
  // node-fetch gives a Node stream; a fetch built on undici would give a web stream.
  return Readable.fromWeb(body as WebReadableStream<Uint8Array>);
}

function parseRoot(root: string): string[] {
  const segments = root.split('/').filter((s) => s !== '');
  for (const s of segments) {
    if (s === '.' || s === '..' || s.includes('\\') || /[\u0000-\u001f]/.test(s)) {
      throw new PermanentError(`Invalid WebDAV root folder ${JSON.stringify(root)}`);
    }
  }
  return segments;
}

function parseHandle(raw: UploadHandle): WebDavHandle {
  try {
    const h = JSON.parse(raw) as Partial<WebDavHandle>;
    if (
      h.v === 1 &&
      h.p === 'webdav' &&
      typeof h.uploadId === 'string' &&
      UUID.test(h.uploadId) &&
      typeof h.remoteId === 'string' &&
      REMOTE_ID.test(h.remoteId) &&
      Number.isSafeInteger(h.size) &&
      (h.size as number) >= 0
    ) {
      return h as WebDavHandle;
    }
  } catch {
    // fall through
  }
  throw new PermanentError('Not an upload handle of the WebDAV provider');
}

/** A failed PUT can be the spool's fault (read error on our disk) or the server's; say which. */
function spoolOrRemoteError(err: unknown, what: string): ProviderError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'EIO' || code === 'EACCES') return mapFsError(err);
  return mapWebDavError(err, what);
}

async function spoolIo<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw mapFsError(err);
  }
}

function mapFsError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ENOENT':
      return new ProviderNotFoundError(`The upload's spool file is gone: ${message}`, { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
      // The gateway's own disk is full, not the member: retrying later (after other spools drain) can work.
      return new TransientError(`No room to spool the upload on the gateway's disk: ${message}`, { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new PermanentError(`Cannot write to the spool directory: ${message}`, { cause: err });
    default:
      return new TransientError(message, { cause: err });
  }
}
