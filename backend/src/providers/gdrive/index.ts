import { type Readable, Transform, type TransformCallback } from 'node:stream';
// The Drive module alone: the `googleapis` index loads every Google API (about 1.5 s) for the same classes.
import { auth as googleAuth, drive as createDrive, type drive_v3 } from 'googleapis/build/src/apis/drive';
import type { Logger } from 'pino';
import type { Health } from '../../store/types';
import { OffsetMismatchError, PermanentError, ProviderError, ProviderNotFoundError, RateLimitedError, TransientError } from '../errors';
import { DEFAULT_RETRY, delayFor, type RetryPolicy, sleep } from '../retry';
import type { ByteRange, ProviderCapabilities, QuotaReport, StorageProvider, UploadHandle, UploadState, UploadTarget } from '../types';
import { SessionHttp } from './session-http';
import { classifyError, classifyResponse, type DriveFailure, toProviderError, UnexpectedResponseError } from './map-error';
import {
  committedFromRange,
  contentRange,
  decodeHandle,
  DRIVE_CHUNK,
  DRIVE_ID,
  type DriveUploadHandle,
  encodeHandle,
  quoteQueryValue,
  sendableLength,
  sizeFromMediaHeaders,
} from './session';

const FOLDER_MIME = 'application/vnd.google-apps.folder';

export interface GoogleDriveCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export interface GoogleDriveEndpoints {
  /** `https://www.googleapis.com/` in production; an emulator's URL in tests. */
  apiRootUrl: string;
  /** `https://oauth2.googleapis.com/token` in production. */
  tokenUrl: string;
}

export interface GoogleDriveProviderOptions {
  credentials: GoogleDriveCredentials;
  endpoints: GoogleDriveEndpoints;
  /** The per-account folder every file goes into. Default 'DirectDriveX'. */
  folderName?: string;
  retry?: RetryPolicy;
  logger?: Logger;
  /** Limit for one request (a chunk PUT included; not a download stream). Default 120 s. */
  requestTimeoutMs?: number;
}

type OAuth2Client = InstanceType<typeof googleAuth.OAuth2>;
type SessionReply = { status: number; headers: Headers; data: string };

/**
 * One Google Drive account as a pool member, through the real googleapis
 * client (FACTS.md, "Google Drive v3 protocol" and "googleapis client").
 *
 * - Resumable uploads are driven by hand: googleapis cannot open a session and
 *   return, and treats 308 as an error. Session requests carry no token — the
 *   session URI is the credential, as Google documents — so an upload goes on
 *   across access-token expiry and gateway restarts.
 * - Every call passes `rootUrl` and `retry: false`: googleapis would send media
 *   to googleapis.com and retry on its own schedule; all retries here follow
 *   the RetryPolicy (retry.ts).
 * - A 401 from the API gets one forced token refresh; a second 401, or
 *   `invalid_grant` from the token endpoint, is AuthRevokedError.
 */
export class GoogleDriveProvider implements StorageProvider {
  readonly kind = 'gdrive' as const;
  readonly capabilities: ProviderCapabilities = { chunkMultiple: DRIVE_CHUNK, rangeReads: true, reportsQuota: true };

  private readonly auth: OAuth2Client;
  private readonly drive: drive_v3.Drive;
  private readonly rootUrl: string;
  private readonly folderName: string;
  private readonly retry: RetryPolicy;
  private readonly logger: Logger | undefined;
  private readonly timeoutMs: number;
  private readonly sessionHttp: SessionHttp;
  private readonly refreshToken: string;
  private folderId: string | undefined;
  private folderLookup: Promise<string> | undefined;

  constructor(options: GoogleDriveProviderOptions) {
    const { clientId, clientSecret, refreshToken } = options.credentials;
    this.refreshToken = refreshToken;
    this.rootUrl = options.endpoints.apiRootUrl.endsWith('/') ? options.endpoints.apiRootUrl : `${options.endpoints.apiRootUrl}/`;
    this.folderName = options.folderName ?? 'DirectDriveX';
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.logger = options.logger;
    this.timeoutMs = options.requestTimeoutMs ?? 120_000;
    this.sessionHttp = new SessionHttp(this.timeoutMs);
    this.auth = new googleAuth.OAuth2({
      clientId,
      clientSecret,
      endpoints: { oauth2TokenUrl: options.endpoints.tokenUrl },
      // Native fetch instead of gaxios' dynamic import of node-fetch (FACTS.md); looked up per call so
      // interceptors installed later (nock) still see the requests.
      transporterOptions: { fetchImplementation: (input, init) => globalThis.fetch(input, init) },
    });
    this.auth.setCredentials({ refresh_token: refreshToken });
    this.drive = createDrive({ version: 'v3', auth: this.auth });
  }

  /**
   * Opens a resumable session in the app folder. The declared length lets Drive
   * refuse at once (storageQuotaExceeded) when the file cannot fit.
   */
  async startUpload(target: UploadTarget): Promise<UploadHandle> {
    if (!Number.isSafeInteger(target.size) || target.size < 0) throw new PermanentError(`Invalid size ${target.size}`);
    const folderId = await this.appFolder();
    let uri: string;
    try {
      uri = await this.openSession(target, folderId);
    } catch (err) {
      // The cached folder was deleted behind our back: find or make it again, once.
      if (!(err instanceof ProviderNotFoundError)) throw err;
      this.forgetFolder(folderId);
      uri = await this.openSession(target, await this.appFolder());
    }
    return encodeHandle({ uri, size: target.size, name: target.name });
  }

  /**
   * PUTs the chunk with its Content-Range. Drive keeps whole 256 KiB units of a
   * non-final chunk, so only those are sent, and a 308's Range says how much
   * is really committed (possibly less: the caller continues from there).
   * After a 5xx or a broken connection the session is asked where it stands.
   */
  async writeChunk(raw: UploadHandle, offset: number, chunk: Buffer): Promise<{ committed: number; remoteId?: string }> {
    const handle = decodeHandle(raw);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > handle.size) throw new PermanentError(`Invalid offset ${offset} for a ${handle.size}-byte upload`);
    if (offset + chunk.length > handle.size) {
      throw new PermanentError(`Chunk ends at byte ${offset + chunk.length}, past the declared size ${handle.size}`);
    }
    const length = sendableLength(offset, chunk.length, handle.size);
    if (length === 0 && offset + chunk.length < handle.size) {
      // Nothing of a short non-final chunk can be kept; say where the upload stands instead.
      return this.standing(handle, offset, await this.queryParsed(handle));
    }
    return this.putChunk(handle, offset, chunk.subarray(0, length));
  }

  /** `PUT` with `Content-Range: bytes *\/TOTAL`: 308 in progress, 200/201 done, 404/410 expired. */
  async queryUpload(raw: UploadHandle): Promise<UploadState> {
    return this.queryParsed(decodeHandle(raw));
  }

  /** `DELETE` on the session URI. Google answers a cancel with 499; an unknown session is already gone. */
  async abortUpload(raw: UploadHandle): Promise<void> {
    const handle = decodeHandle(raw);
    await this.withRetry('Cancelling an upload', async () => {
      const reply = await this.sessionRequest(handle.uri, 'DELETE', {});
      if ([200, 204, 404, 410, 499].includes(reply.status)) return;
      throw new UnexpectedResponseError(reply);
    });
  }

  /**
   * Streams a file (or an inclusive range of it). Fails before returning when
   * the file is missing; a stream that breaks off or comes up short later
   * errors with TransientError.
   */
  async read(remoteId: string, range?: ByteRange): Promise<{ stream: Readable; size: number }> {
    if (!DRIVE_ID.test(remoteId)) throw new ProviderNotFoundError(`No Drive file ${JSON.stringify(remoteId)}`);
    if (range && (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start)) {
      throw new PermanentError(`Invalid range ${range.start}-${range.end}`);
    }
    // Media over node:http with the client's own access token: the googleapis/fetch path costs
    // twice the CPU of a plain relay per byte (a web stream turned back into a Node one).
    const res = await this.withRetry(`Reading ${remoteId}`, async () => {
      const { token } = await this.auth.getAccessToken();
      return this.sessionHttp.getStream(`${this.rootUrl}drive/v3/files/${encodeURIComponent(remoteId)}?alt=media`, {
        Authorization: `Bearer ${token ?? ''}`,
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      });
    });
    const source: Readable = res.stream;
    let size = sizeFromMediaHeaders(res.status, plainHeader(res.headers, 'content-range'), plainHeader(res.headers, 'content-length'));
    try {
      size ??= await this.metadataSize(remoteId);
      if (range && range.end >= size) throw new PermanentError(`Range ${range.start}-${range.end} is outside 0-${size - 1}`);
    } catch (err) {
      source.destroy();
      throw err;
    }
    // A server that ignored Range (200) still yields exactly the asked-for bytes.
    const skip = range && res.status === 200 ? range.start : 0;
    const take = range ? range.end - range.start + 1 : size;
    return { stream: window(source, skip, take, `Reading ${remoteId}`), size };
  }

  /** Permanent delete; a file that is already gone is fine. */
  async remove(remoteId: string): Promise<void> {
    if (!DRIVE_ID.test(remoteId)) return;
    try {
      await this.withRetry(`Deleting ${remoteId}`, () => this.drive.files.delete({ fileId: remoteId }, { rootUrl: this.rootUrl, retry: false }));
    } catch (err) {
      if (!(err instanceof ProviderNotFoundError)) throw err;
    }
  }

  /** `about.get(fields=storageQuota)`: int64 strings; no `limit` means unlimited. */
  async quota(): Promise<QuotaReport> {
    return this.readQuota(this.retry.attempts);
  }

  /** One `about` call, no retries: health is judged over many probes, not inside one. */
  async check(): Promise<Health> {
    try {
      await this.readQuota(1);
      return 'healthy';
    } catch (err) {
      if (err instanceof RateLimitedError) return 'degraded';
      this.logger?.debug({ err: err instanceof Error ? err.message : String(err) }, 'Google Drive health probe failed');
      return 'down';
    }
  }

  // ---- internals ----

  private async readQuota(attempts: number): Promise<QuotaReport> {
    const res = await this.withRetry(
      'Reading the storage quota',
      () => this.drive.about.get({ fields: 'storageQuota' }, { rootUrl: this.rootUrl, retry: false }),
      attempts,
    );
    const q = res.data.storageQuota ?? {};
    const used = Number(q.usage ?? '0');
    const limit = q.limit === undefined || q.limit === null ? null : Number(q.limit);
    if (!Number.isFinite(used) || (limit !== null && !Number.isFinite(limit))) throw new PermanentError(`Unreadable storage quota ${JSON.stringify(q)}`);
    return { limit, used };
  }

  private async metadataSize(fileId: string): Promise<number> {
    const res = await this.withRetry(`Reading the size of ${fileId}`, () =>
      this.drive.files.get({ fileId, fields: 'size' }, { rootUrl: this.rootUrl, retry: false }),
    );
    const size = Number(res.data.size);
    if (!Number.isSafeInteger(size)) throw new PermanentError(`Drive reports no size for ${fileId}`);
    return size;
  }

  /** The app folder's id: cached, and looked up (or created) by one call at a time. */
  private appFolder(): Promise<string> {
    if (this.folderId !== undefined) return Promise.resolve(this.folderId);
    this.folderLookup ??= this.findOrCreateFolder().then(
      (id) => {
        this.folderId = id;
        this.folderLookup = undefined;
        return id;
      },
      (err: unknown) => {
        this.folderLookup = undefined;
        throw err;
      },
    );
    return this.folderLookup;
  }

  private forgetFolder(id: string): void {
    if (this.folderId === id) this.folderId = undefined;
  }

  private async findOrCreateFolder(): Promise<string> {
    const q = `name = ${quoteQueryValue(this.folderName)} and mimeType = '${FOLDER_MIME}' and trashed = false`;
    const found = await this.withRetry('Finding the app folder', () =>
      // Oldest first: should two processes ever both create the folder, all of them settle on the same one.
      this.drive.files.list({ q, fields: 'files(id)', orderBy: 'createdTime', pageSize: 10, spaces: 'drive' }, { rootUrl: this.rootUrl, retry: false }),
    );
    const existing = found.data.files?.[0]?.id;
    if (existing) return existing;
    const created = await this.withRetry('Creating the app folder', () =>
      this.drive.files.create({ requestBody: { name: this.folderName, mimeType: FOLDER_MIME }, fields: 'id' }, { rootUrl: this.rootUrl, retry: false }),
    );
    const id = created.data.id;
    if (!id) throw new PermanentError('Drive created the app folder but returned no id');
    this.logger?.info({ folder: this.folderName }, 'Created the Google Drive app folder');
    return id;
  }

  private async openSession(target: UploadTarget, folderId: string): Promise<string> {
    const url = `${this.rootUrl}upload/drive/v3/files?uploadType=resumable&fields=${encodeURIComponent('id,size')}`;
    return this.withRetry('Starting an upload', async () => {
      const res = await this.auth.request({
        url,
        method: 'POST',
        headers: {
          'Content-Type': 'application/json; charset=UTF-8',
          'X-Upload-Content-Type': target.mimeType,
          'X-Upload-Content-Length': String(target.size),
        },
        data: { name: target.name, mimeType: target.mimeType, parents: [folderId] },
        retry: false,
        timeout: this.timeoutMs,
      });
      const location = res.headers.get('location');
      if (!location) throw new PermanentError('Drive opened an upload session without a Location');
      return new URL(location, url).toString();
    });
  }

  /** One request on a session URI, unauthenticated, every status returned as a reply; never follows a redirect (308 is not one here). */
  private sessionRequest(uri: string, method: 'PUT' | 'DELETE', headers: Record<string, string>, body?: Buffer): Promise<SessionReply> {
    return this.sessionHttp.request(uri, method, headers, body);
  }

  private async putChunk(handle: DriveUploadHandle, offset: number, body: Buffer): Promise<{ committed: number; remoteId?: string }> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.sendChunk(handle, offset, body);
      if ('committed' in outcome) return outcome;
      const failure = outcome.failure;
      if (failure.kind === 'transient') {
        // Some, all or none of the chunk may be stored (Drive also answers a chunk past the offset with 503).
        const state = await this.queryParsed(handle);
        if (state.state !== 'in_progress' || state.committed !== offset) return this.standing(handle, offset, state);
      } else if (failure.kind !== 'rate-limited') {
        throw toProviderError(failure, 'Uploading a chunk');
      }
      if (attempt >= this.retry.attempts) throw this.exhausted(failure, 'Uploading a chunk', attempt);
      const wait = delayFor(attempt - 1, this.retry, failure.retryAfterMs);
      this.logger?.debug({ attempt, wait, failure: failure.kind }, 'Retrying a Drive chunk');
      await sleep(wait);
    }
  }

  /** One PUT of a chunk: where the upload is afterwards, or how it failed. */
  private async sendChunk(
    handle: DriveUploadHandle,
    offset: number,
    body: Buffer,
  ): Promise<{ committed: number; remoteId?: string } | { failure: DriveFailure }> {
    let reply: SessionReply;
    try {
      reply = await this.sessionRequest(handle.uri, 'PUT', { 'Content-Range': contentRange(offset, body.length, handle.size) }, body.length ? body : undefined);
    } catch (err) {
      return { failure: classifyError(err) };
    }
    if (reply.status === 308) {
      const committed = committedFromRange(reply.headers.get('range'));
      if (committed < offset) throw new OffsetMismatchError(committed, offset);
      return { committed };
    }
    if (reply.status === 200 || reply.status === 201) return { committed: handle.size, remoteId: remoteIdOf(reply.data, handle) };
    const failure = classifyResponse(reply.status, reply.headers, reply.data);
    if (reply.status === 400) {
      // A refused chunk may be one sent past the committed offset: only the session can tell.
      const state = await this.queryParsed(handle);
      if (state.state === 'in_progress' && state.committed < offset) throw new OffsetMismatchError(state.committed, offset);
      throw toProviderError(failure, 'Uploading a chunk');
    }
    return { failure };
  }

  /** What a writeChunk at `offset` returns once the session's own state is known. */
  private standing(handle: DriveUploadHandle, offset: number, state: UploadState): { committed: number; remoteId?: string } {
    if (state.state === 'done') return { committed: handle.size, remoteId: state.remoteId };
    if (state.state === 'expired') throw new ProviderNotFoundError('The upload session no longer exists');
    if (state.committed < offset) throw new OffsetMismatchError(state.committed, offset);
    return { committed: state.committed };
  }

  private async queryParsed(handle: DriveUploadHandle): Promise<UploadState> {
    return this.withRetry('Querying an upload', async () => {
      const reply = await this.sessionRequest(handle.uri, 'PUT', { 'Content-Range': contentRange(0, 0, handle.size) });
      if (reply.status === 308) return { state: 'in_progress', committed: committedFromRange(reply.headers.get('range')) };
      if (reply.status === 200 || reply.status === 201) return { state: 'done', remoteId: remoteIdOf(reply.data, handle) };
      if (reply.status === 404 || reply.status === 410) return { state: 'expired' };
      throw new UnexpectedResponseError(reply);
    });
  }

  /**
   * Runs one Google call under the RetryPolicy: rate limits and transient
   * failures wait and retry; a 401 forces one token refresh; everything else
   * becomes its typed ProviderError at once.
   */
  private async withRetry<T>(context: string, op: () => Promise<T>, attempts: number = this.retry.attempts): Promise<T> {
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      let failure: DriveFailure;
      try {
        return await op();
      } catch (err) {
        if (err instanceof ProviderError) throw err;
        failure = classifyError(err);
        if (failure.kind === 'unauthorized' && !refreshed) {
          refreshed = true;
          // The token was refused before its time (revoked, clock skew): drop it so the next call refreshes.
          this.auth.setCredentials({ refresh_token: this.refreshToken });
          attempt--;
          continue;
        }
        if (failure.kind !== 'transient' && failure.kind !== 'rate-limited') throw toProviderError(failure, context, { cause: err });
        if (attempt >= attempts) throw this.exhausted(failure, context, attempt, err);
      }
      const wait = delayFor(attempt - 1, this.retry, failure.retryAfterMs);
      this.logger?.debug({ context, attempt, wait, failure: failure.kind }, 'Retrying a Drive call');
      await sleep(wait);
    }
  }

  private exhausted(failure: DriveFailure, context: string, attempts: number, cause?: unknown): ProviderError {
    const message = `${context}, ${attempts} attempt(s)`;
    this.logger?.warn({ context, attempts, failure: failure.kind }, 'Giving up on a Drive call');
    if (failure.kind === 'rate-limited') {
      // The caller learns the server's own Retry-After uncapped; our backoff only when it is longer.
      const retryAfterMs = Math.max(failure.retryAfterMs ?? 0, delayFor(attempts - 1, this.retry));
      return toProviderError(failure, message, { retryAfterMs });
    }
    return new TransientError(`${message}: ${failure.message}`, cause === undefined ? {} : { cause });
  }
}

/** googleapis turns reply headers into a plain object with lower-case names. */
function plainHeader(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/** The file id from a final upload reply; refuses a reply whose size disagrees with the upload's. */
function remoteIdOf(text: string, handle: DriveUploadHandle): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PermanentError('Drive finished an upload without a readable file resource');
  }
  const { id, size } = (parsed ?? {}) as { id?: unknown; size?: unknown };
  if (typeof id !== 'string' || !DRIVE_ID.test(id)) throw new PermanentError('Drive finished an upload without a file id');
  if (size !== undefined && Number(size) !== handle.size) throw new PermanentError(`Drive stored ${String(size)} bytes of a ${handle.size}-byte upload`);
  return id;
}

const WINDOW_BUFFER_BYTES = 256 * 1024;

/**
 * Passes bytes `skip`…`skip + take - 1` of `source` on, turning a source that
 * breaks off or comes up short into a TransientError, and stopping the
 * download when the consumer stops reading.
 */
function window(source: Readable, skip: number, take: number, context: string): Readable {
  let seen = 0;
  const out = new Transform({
    // Node's 16 KiB default would pause the Drive response every few packets; relays run at a quarter MiB.
    highWaterMark: WINDOW_BUFFER_BYTES,
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      const from = Math.max(0, skip - seen);
      const to = Math.min(chunk.length, skip + take - seen);
      seen += chunk.length;
      done(null, to > from ? chunk.subarray(from, to) : undefined);
    },
    flush(done: TransformCallback) {
      const delivered = Math.min(take, Math.max(0, seen - skip));
      done(delivered === take ? null : new TransientError(`${context}: the download ended after ${delivered} of ${take} bytes`));
    },
  });
  source.on('error', (err: unknown) => {
    out.destroy(err instanceof ProviderError ? err : new TransientError(`${context}: the download broke off`, { cause: err }));
  });
  out.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  source.pipe(out);
  return out;
}
