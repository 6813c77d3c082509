import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { RequestContext, UnalignedChunkPolicy } from './context';
import { handleControl } from './control';
import { handleAbout, handleCreate, handleDelete, handleGet, handleList } from './drive-api';
import { type ActiveFault, type Fault, FaultBook, type FaultRule, REQUEST_KINDS, type RequestKind } from './faults';
import { drain, DriveErrors, readSmallBody, sendGoogleError, sendJson, sendText } from './http';
import { accountOfTokenRequest, handleAuthorize, handleRevoke, handleToken } from './oauth';
import {
  type AccountCredentials,
  type AccountInfo,
  type AccountOptions,
  type ConsentPreset,
  DriveState,
  type StoredFile,
  type UploadSession,
} from './state';
import { handleCreateSession, handleSessionDelete, handleSessionPut, sessionOf } from './uploads';

export interface DriveEmulatorOptions {
  /** Where file bytes are kept. Default: a fresh temp directory, removed by `close()`. */
  dir?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Base of the session URIs handed out. Default: the origin the client connected to (its Host header). */
  publicUrl?: string;
  /** Lifetime of access tokens. Default 3600 s, as at Google. */
  accessTokenTtlSeconds?: number;
  /** Lifetime of upload sessions. Default one week, as at Google. */
  sessionTtlMs?: number;
  /** The default OAuth client. Default: random credentials. */
  client?: { clientId: string; clientSecret: string };
  /** Non-final chunks that are not 256 KiB multiples. Default 'reject' (400). */
  unalignedChunks?: UnalignedChunkPolicy;
  /** The clock for token and session expiry (tests may move it). Default Date.now. */
  now?: () => number;
  /** How many recent requests `log()` keeps. Default 1000. */
  logLimit?: number;
}

export interface LoggedRequest {
  at: string;
  kind: RequestKind;
  method: string;
  /** Path and query; session ids included. */
  path: string;
  accountId?: string;
  /** 0 when the connection was dropped before a status line. */
  status: number;
  /** False when the connection ended before the whole reply went out. */
  completed: boolean;
  fault?: Fault['type'];
}

export interface EmulatorStats {
  /** Requests received, by kind (every kind present). */
  requests: Record<RequestKind, number>;
  /** Requests by account (when known) and kind. */
  byAccount: Record<string, Partial<Record<RequestKind, number>>>;
  /** Faults acted out so far (latency included). */
  faultsApplied: number;
  /** Rules still active. */
  faults: ActiveFault[];
  accounts: Array<AccountInfo & { files: number; activeSessions: number }>;
}

/**
 * A Google Drive v3 + OAuth server for tests and local development, close
 * enough to the real one that the real googleapis client can be pointed at it
 * (`rootUrl` = `env.GOOGLE_API_ROOT_URL`, token URL = `env.GOOGLE_OAUTH_TOKEN_URL`).
 *
 * Protocol (see FACTS.md):
 * - `POST /token` (refresh_token and authorization_code grants), `POST /revoke`,
 *   `GET /o/oauth2/v2/auth` (consents at once and redirects with a code).
 * - `GET /drive/v3/about` (requires `fields`), `GET|POST /drive/v3/files`,
 *   `GET|DELETE /drive/v3/files/{id}` (`alt=media` with Range), all behind a Bearer token.
 * - Resumable uploads: `POST /upload/drive/v3/files?uploadType=resumable`, then
 *   `PUT`/`DELETE` on the session URI (no token needed), 308 + Range, 256 KiB
 *   chunks, status queries, expiry, quota checks at start and at completion.
 * - A chunk that starts past the committed offset gets 503 with a plain-text
 *   body, as Drive and Cloud Storage answer it; a chunk that starts before it
 *   (a replay) has its already-stored prefix skipped, never rewritten.
 *
 * Programmatic API (the same over HTTP under `/__emulator/`, see control.ts):
 * - `addAccount({quotaLimit?, usage?, email?})` → `{id, clientId, clientSecret, refreshToken}`
 * - `injectFault({on, account?, times?, fault})`, `clearFaults()` — faults.ts lists them
 * - `revokeRefreshToken`, `expireAccessTokens`, `expireSessions`, `setQuota`, `queueConsent`, `registerClient`
 * - inspection: `account`, `files`, `file`, `filePath`, `openFile`, `readFile`, `sessions`, `stats`, `log`
 */
export interface DriveEmulator {
  /** `http://host:port`, no trailing slash. */
  url: string;
  /** What a gateway needs in its environment to use this emulator. */
  env: {
    GOOGLE_API_ROOT_URL: string;
    GOOGLE_OAUTH_TOKEN_URL: string;
    GOOGLE_OAUTH_AUTH_URL: string;
    GOOGLE_CLIENT_ID: string;
    GOOGLE_CLIENT_SECRET: string;
  };
  /** Where file bytes live. */
  dir: string;
  /** The default OAuth client (accounts belong to it unless told otherwise). */
  client: { clientId: string; clientSecret: string };

  addAccount(options?: AccountOptions): AccountCredentials;
  registerClient(clientId: string, clientSecret: string): void;
  setQuota(accountId: string, change: { quotaLimit?: number | null; usage?: number }): void;
  queueConsent(preset: ConsentPreset): void;
  revokeRefreshToken(refreshToken: string): boolean;
  /** Makes live access tokens invalid server-side (clients still think them fresh). Returns how many. */
  expireAccessTokens(accountId?: string): number;
  /** Expires active upload sessions (all, one account's, or one by id). Returns how many. */
  expireSessions(filter?: { accountId?: string; sessionId?: string }): number;

  /** Adds a fault rule; returns its id. */
  injectFault(rule: FaultRule): string;
  clearFaults(): void;

  account(accountId: string): AccountInfo | undefined;
  files(accountId: string): StoredFile[];
  file(fileId: string): StoredFile | undefined;
  filePath(fileId: string): string;
  openFile(fileId: string): Readable;
  /** A stored file's bytes (for small test files). */
  readFile(fileId: string): Promise<Buffer>;
  sessions(accountId?: string): UploadSession[];
  stats(): EmulatorStats;
  log(): LoggedRequest[];
  close(): Promise<void>;
}

interface Route {
  kind: RequestKind;
  fileId?: string;
}

function route(method: string, url: URL, req: IncomingMessage): Route | undefined {
  const p = url.pathname;
  if (p === '/token' && method === 'POST') return { kind: 'token' };
  if (p === '/revoke' && method === 'POST') return { kind: 'revoke' };
  if (p === '/o/oauth2/v2/auth' && method === 'GET') return { kind: 'authorize' };
  if (p === '/drive/v3/about' && method === 'GET') return { kind: 'about' };
  if (p === '/drive/v3/files') {
    if (method === 'GET') return { kind: 'list' };
    if (method === 'POST') return { kind: 'create' };
  }
  const file = /^\/drive\/v3\/files\/([A-Za-z0-9_-]+)$/.exec(p);
  if (file) {
    const fileId = file[1]!;
    if (method === 'GET') return { kind: url.searchParams.get('alt') === 'media' ? 'media' : 'metadata', fileId };
    if (method === 'DELETE') return { kind: 'delete', fileId };
  }
  if (p === '/upload/drive/v3/files') {
    if (method === 'POST' && !url.searchParams.has('upload_id')) return { kind: 'create-session' };
    if (method === 'PUT' && url.searchParams.has('upload_id')) {
      const range = req.headers['content-range'];
      return { kind: typeof range === 'string' && /^bytes \*\//.test(range.trim()) ? 'status-query' : 'upload-chunk' };
    }
    if (method === 'DELETE' && url.searchParams.has('upload_id')) return { kind: 'cancel-session' };
  }
  return undefined;
}

const SMALL_BODY_KINDS: ReadonlySet<RequestKind> = new Set(['token', 'revoke', 'create', 'create-session']);
const SESSION_KINDS: ReadonlySet<RequestKind> = new Set(['upload-chunk', 'status-query', 'cancel-session']);
const OAUTH_KINDS: ReadonlySet<RequestKind> = new Set(['token', 'revoke']);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startDriveEmulator(options: DriveEmulatorOptions = {}): Promise<DriveEmulator> {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'drive-emulator-'));
  const client = options.client ?? { clientId: `${randomBytes(6).toString('hex')}.apps.emulator.test`, clientSecret: `GOCSPX-${randomBytes(18).toString('base64url')}` };
  const state = new DriveState(dir, client, options.accessTokenTtlSeconds ?? 3600, options.sessionTtlMs ?? 7 * 24 * 3600 * 1000, options.now ?? Date.now);
  const faults = new FaultBook();
  const unalignedChunks = options.unalignedChunks ?? 'reject';
  const logLimit = options.logLimit ?? 1000;
  const counters = Object.fromEntries(REQUEST_KINDS.map((k) => [k, 0])) as Record<RequestKind, number>;
  const byAccount: Record<string, Partial<Record<RequestKind, number>>> = {};
  const recent: LoggedRequest[] = [];
  let faultsApplied = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    if (url.pathname.startsWith('/__emulator/')) {
      await handleControl(emulator, req, res, url);
      return;
    }
    const r = route(method, url, req);
    if (!r) {
      await drain(req);
      sendGoogleError(res, 404, 'notFound', `The emulator has no route for ${method} ${url.pathname}.`);
      return;
    }
    const ctx: RequestContext = {
      req,
      res,
      url,
      kind: r.kind,
      baseUrl: options.publicUrl?.replace(/\/+$/, '') ?? `http://${req.headers.host ?? new URL(emulator.url).host}`,
      state,
      unalignedChunks,
    };
    if (SMALL_BODY_KINDS.has(r.kind)) {
      try {
        ctx.body = await readSmallBody(req);
      } catch {
        DriveErrors.badRequest(res, 'Request body too large for a metadata request.');
        return;
      }
    }

    let accountId: string | undefined;
    if (r.kind === 'token') accountId = accountOfTokenRequest(ctx, ctx.body ?? Buffer.alloc(0));
    else if (SESSION_KINDS.has(r.kind)) accountId = sessionOf(ctx)?.accountId;
    else if (r.kind !== 'revoke' && r.kind !== 'authorize') accountId = state.accountOfAccessToken(req.headers.authorization);

    counters[r.kind] += 1;
    if (accountId !== undefined) {
      const perAccount = (byAccount[accountId] ??= {});
      perAccount[r.kind] = (perAccount[r.kind] ?? 0) + 1;
    }
    const entry: LoggedRequest = { at: new Date().toISOString(), kind: r.kind, method, path: url.pathname + url.search, status: 0, completed: false };
    if (accountId !== undefined) entry.accountId = accountId;
    recent.push(entry);
    if (recent.length > logLimit) recent.shift();
    res.on('close', () => {
      entry.status = res.headersSent ? res.statusCode : 0;
      entry.completed = res.writableFinished;
    });

    const decision = faults.take(r.kind, accountId);
    if (decision.latencyMs > 0) {
      faultsApplied += 1;
      await sleep(decision.latencyMs);
    }
    const fault = decision.fault;
    if (fault) {
      faultsApplied += 1;
      entry.fault = fault.type;
      if (await actOut(ctx, fault)) return;
    }

    switch (r.kind) {
      case 'token':
        return handleToken(ctx);
      case 'revoke':
        return handleRevoke(ctx);
      case 'authorize':
        return handleAuthorize(ctx);
      case 'about':
        return handleAbout(ctx);
      case 'list':
        return handleList(ctx);
      case 'create':
        return handleCreate(ctx);
      case 'metadata':
      case 'media':
        return handleGet(ctx, r.fileId!);
      case 'delete':
        return handleDelete(ctx, r.fileId!);
      case 'create-session':
        return handleCreateSession(ctx);
      case 'upload-chunk':
      case 'status-query':
        return handleSessionPut(ctx);
      case 'cancel-session':
        return handleSessionDelete(ctx);
    }
  }

  /** Plays a fault out. True when the request is answered; false when the handler carries on (and acts it out itself). */
  async function actOut(ctx: RequestContext, fault: Fault): Promise<boolean> {
    const { req, res, kind } = ctx;
    const retryAfter = (seconds: number | undefined): Record<string, string> => (seconds === undefined ? {} : { 'Retry-After': String(seconds) });
    const fail = async (status: number, reason: string, message: string, domain: string, headers: Record<string, string>, googleStatus?: string) => {
      // An upload's body is read first, as Google reads a chunk before failing it.
      if (SESSION_KINDS.has(kind)) await drain(req);
      if (OAUTH_KINDS.has(kind)) sendJson(res, status, { error: reason, error_description: message }, headers);
      else if (kind === 'authorize') sendText(res, status, `Error ${status}: ${reason}\n${message}`, headers);
      else sendGoogleError(res, status, reason, message, { domain, headers, ...(googleStatus ? { status: googleStatus } : {}) });
      return true;
    };
    switch (fault.type) {
      case 'http-error': {
        if (fault.afterCommit && kind === 'upload-chunk') {
          ctx.fault = fault;
          return false;
        }
        const reason = fault.reason ?? (fault.status >= 500 ? 'backendError' : 'badRequest');
        return fail(fault.status, reason, fault.message ?? (fault.status >= 500 ? 'Backend Error' : 'Bad Request'), 'global', retryAfter(fault.retryAfterSeconds));
      }
      case 'rate-limit': {
        const reason = fault.reason ?? 'userRateLimitExceeded';
        const message = reason === 'userRateLimitExceeded' ? 'User Rate Limit Exceeded' : 'Rate Limit Exceeded';
        return fail(403, reason, message, 'usageLimits', retryAfter(fault.retryAfterSeconds));
      }
      case 'too-many-requests':
        return fail(429, 'rateLimitExceeded', 'Too Many Requests', 'usageLimits', retryAfter(fault.retryAfterSeconds), 'RESOURCE_EXHAUSTED');
      case 'storage-quota':
        return fail(403, 'storageQuotaExceeded', "The user's Drive storage quota has been exceeded.", 'usageLimits', {});
      case 'drop-connection':
        if (kind === 'upload-chunk' || kind === 'media') {
          ctx.fault = fault;
          return false;
        }
        req.socket.destroy();
        return true;
      case 'expire-session': {
        const session = sessionOf(ctx);
        if (session) state.expireSessions({ sessionId: session.id });
        return false;
      }
      case 'latency':
        return false;
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendGoogleError(res, 500, 'internalError', `Emulator failure: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${reachable}:${port}`;

  const emulator: DriveEmulator = {
    url,
    env: {
      GOOGLE_API_ROOT_URL: `${options.publicUrl?.replace(/\/+$/, '') ?? url}/`,
      GOOGLE_OAUTH_TOKEN_URL: `${options.publicUrl?.replace(/\/+$/, '') ?? url}/token`,
      GOOGLE_OAUTH_AUTH_URL: `${options.publicUrl?.replace(/\/+$/, '') ?? url}/o/oauth2/v2/auth`,
      GOOGLE_CLIENT_ID: client.clientId,
      GOOGLE_CLIENT_SECRET: client.clientSecret,
    },
    dir,
    client,
    addAccount: (o) => state.addAccount(o),
    registerClient: (id, secret) => state.registerClient(id, secret),
    setQuota: (id, change) => state.setQuota(id, change),
    queueConsent: (preset) => state.queueConsent(preset),
    revokeRefreshToken: (rt) => state.revokeRefreshToken(rt),
    expireAccessTokens: (accountId) => state.expireAccessTokens(accountId),
    expireSessions: (filter) => state.expireSessions(filter),
    injectFault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    account: (id) => state.account(id),
    files: (accountId) => state.files(accountId),
    file: (fileId) => {
      const f = state.file(fileId);
      return f ? { ...f, parents: [...f.parents] } : undefined;
    },
    filePath: (fileId) => state.filePath(fileId),
    openFile: (fileId) => fs.createReadStream(state.filePath(fileId)),
    readFile: (fileId) => fsp.readFile(state.filePath(fileId)),
    sessions: (accountId) => state.sessions(accountId),
    stats: () => ({
      requests: { ...counters },
      byAccount: Object.fromEntries(Object.entries(byAccount).map(([k, v]) => [k, { ...v }])),
      faultsApplied,
      faults: faults.list(),
      accounts: state.accountIds().map((id) => ({
        ...state.account(id)!,
        files: state.files(id).length,
        activeSessions: state.sessions(id).filter((s) => s.state === 'active').length,
      })),
    }),
    log: () => recent.map((e) => ({ ...e })),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (ownsDir) await fsp.rm(dir, { recursive: true, force: true });
    },
  };
  return emulator;
}
