import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export const FOLDER_MIME = 'application/vnd.google-apps.folder';
export const DRIVE_FILE_SCOPE = 'https://www.googleapis.com/auth/drive.file';
/** What a free Google account reports as its limit ("15 GB"). */
export const FREE_ACCOUNT_LIMIT = 15 * 1024 ** 3;

export interface AccountOptions {
  email?: string;
  displayName?: string;
  /** Bytes; null means unlimited (Drive then omits `limit`). Default: 15 GiB. */
  quotaLimit?: number | null;
  /** Bytes already used outside this emulator's files (mail, photos…). Default 0. */
  usage?: number;
  /** The OAuth client the refresh token belongs to. Default: the emulator's default client. */
  clientId?: string;
  /** A fixed refresh token instead of a random one (the CLI uses this to survive restarts). */
  refreshToken?: string;
}

/** A queued answer of the consent screen. */
export interface ConsentPreset extends AccountOptions {
  /** The user clicks "Cancel": the redirect carries `error=access_denied`. */
  deny?: boolean;
}

export interface AccountCredentials {
  id: string;
  email: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export interface AccountInfo {
  id: string;
  email: string;
  displayName: string;
  quotaLimit: number | null;
  /** Base usage plus the bytes of every file the account holds. */
  usage: number;
  /** The highest `usage` ever reached. */
  peakUsage: number;
  rootFolderId: string;
}

export interface StoredFile {
  id: string;
  accountId: string;
  name: string;
  mimeType: string;
  parents: string[];
  size: number;
  createdTime: string;
  modifiedTime: string;
  trashed: boolean;
  md5Checksum?: string;
  sha256Checksum?: string;
}

export type SessionState = 'active' | 'done' | 'cancelled' | 'expired';

export interface UploadSession {
  id: string;
  accountId: string;
  name: string;
  mimeType: string;
  parents: string[];
  /** `X-Upload-Content-Length`, when the client declared one. */
  declaredSize: number | null;
  /** Known once declared or once a request states it in Content-Range. */
  total: number | null;
  /** Bytes durably stored, always a multiple of 256 KiB until the upload completes. */
  committed: number;
  createdAt: number;
  expiresAt: number;
  state: SessionState;
  fileId?: string;
  /** The `fields` of the initiating request, applied to the final reply. */
  fields?: string;
}

interface Account extends Omit<AccountInfo, 'usage'> {
  baseUsage: number;
  driveUsage: number;
}

interface RefreshGrant {
  accountId: string;
  clientId: string;
  scope: string;
  revoked: boolean;
}

interface AccessGrant {
  accountId: string;
  expiresAt: number;
  scope: string;
  refreshToken?: string;
  revoked: boolean;
}

interface AuthCode {
  accountId: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  offline: boolean;
  expiresAt: number;
  used: boolean;
}

export type Authentication = { ok: true; accountId: string } | { ok: false; problem: 'missing' | 'invalid' };

const token = (bytes = 32) => randomBytes(bytes).toString('base64url');
/** Drive ids are URL-safe base64 strings of about 33 characters. */
const driveId = () => `1${token(24)}`;
const AUTH_CODE_TTL_MS = 10 * 60 * 1000;

/**
 * Everything the emulator knows: OAuth clients and grants, accounts, files and
 * upload sessions. Metadata lives in memory (an emulator restart starts
 * empty); file bytes live on disk under `dir`.
 */
export class DriveState {
  readonly clients = new Map<string, string>();
  private readonly accounts = new Map<string, Account>();
  private readonly refreshGrants = new Map<string, RefreshGrant>();
  private readonly accessGrants = new Map<string, AccessGrant>();
  private readonly authCodes = new Map<string, AuthCode>();
  private readonly fileRecords = new Map<string, StoredFile>();
  private readonly sessionRecords = new Map<string, UploadSession>();
  private readonly sessionLocks = new Map<string, Promise<unknown>>();
  private readonly consentQueue: ConsentPreset[] = [];
  private accountCounter = 0;

  constructor(
    readonly dir: string,
    readonly defaultClient: { clientId: string; clientSecret: string },
    private readonly accessTokenTtlSeconds: number,
    private readonly sessionTtlMs: number,
    readonly now: () => number,
  ) {
    this.clients.set(defaultClient.clientId, defaultClient.clientSecret);
    fs.mkdirSync(path.join(dir, 'files'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'sessions'), { recursive: true });
  }

  // ---- OAuth ----

  registerClient(clientId: string, clientSecret: string): void {
    this.clients.set(clientId, clientSecret);
  }

  addAccount(options: AccountOptions = {}): AccountCredentials {
    const clientId = options.clientId ?? this.defaultClient.clientId;
    const clientSecret = this.clients.get(clientId);
    if (clientSecret === undefined) throw new Error(`Unknown OAuth client ${clientId}`);
    const n = ++this.accountCounter;
    const id = `acct-${n}-${token(6)}`;
    const quotaLimit = options.quotaLimit === undefined ? FREE_ACCOUNT_LIMIT : options.quotaLimit;
    const baseUsage = options.usage ?? 0;
    if (quotaLimit !== null && (!Number.isSafeInteger(quotaLimit) || quotaLimit < 0)) throw new Error('quotaLimit must be a non-negative integer or null');
    if (!Number.isSafeInteger(baseUsage) || baseUsage < 0) throw new Error('usage must be a non-negative integer');
    const email = options.email ?? `user${n}@emulator.test`;
    this.accounts.set(id, {
      id,
      email,
      displayName: options.displayName ?? email.split('@')[0] ?? email,
      quotaLimit,
      baseUsage,
      driveUsage: 0,
      peakUsage: baseUsage,
      rootFolderId: `0A${token(12)}`,
    });
    const refreshToken = options.refreshToken ?? `1//${token(48)}`;
    this.refreshGrants.set(refreshToken, { accountId: id, clientId, scope: DRIVE_FILE_SCOPE, revoked: false });
    return { id, email, clientId, clientSecret, refreshToken };
  }

  /** What the next auto-consent does: sign in (creating) an account like this, or refuse. */
  queueConsent(preset: ConsentPreset): void {
    this.consentQueue.push(preset);
  }

  /**
   * What a consent screen would do: sign in the account named by `login_hint`,
   * else apply the next queued preset (a new account, or a refusal), else
   * create a default account.
   */
  takeConsent(clientId: string, loginHint: string | undefined): string | 'denied' {
    if (loginHint) {
      for (const account of this.accounts.values()) if (account.email === loginHint) return account.id;
    }
    const next: ConsentPreset = this.consentQueue.shift() ?? {};
    const { deny, refreshToken: _ignored, ...preset } = next;
    if (deny) return 'denied';
    const created = this.addAccount({ ...preset, clientId, ...(loginHint ? { email: loginHint } : {}) });
    // The consent flow hands out its own refresh token through the code exchange.
    this.refreshGrants.delete(created.refreshToken);
    return created.id;
  }

  issueAuthCode(grant: Omit<AuthCode, 'expiresAt' | 'used'>): string {
    const code = `4/${token(32)}`;
    this.authCodes.set(code, { ...grant, expiresAt: this.now() + AUTH_CODE_TTL_MS, used: false });
    return code;
  }

  /** Redeems a code once; undefined when unknown, used, expired, or bound to another client/redirect. */
  redeemAuthCode(code: string, clientId: string, redirectUri: string | undefined): AuthCode | undefined {
    const grant = this.authCodes.get(code);
    if (!grant || grant.used || grant.expiresAt <= this.now() || grant.clientId !== clientId) return undefined;
    if (redirectUri !== undefined && redirectUri !== grant.redirectUri) return undefined;
    grant.used = true;
    return grant;
  }

  issueRefreshToken(accountId: string, clientId: string, scope: string): string {
    const refreshToken = `1//${token(48)}`;
    this.refreshGrants.set(refreshToken, { accountId, clientId, scope, revoked: false });
    return refreshToken;
  }

  refreshGrant(refreshToken: string): RefreshGrant | undefined {
    const grant = this.refreshGrants.get(refreshToken);
    return grant && !grant.revoked && this.accounts.has(grant.accountId) ? grant : undefined;
  }

  issueAccessToken(accountId: string, scope: string, refreshToken?: string): { accessToken: string; expiresIn: number } {
    const accessToken = `ya29.${token(48)}`;
    const grant: AccessGrant = { accountId, scope, expiresAt: this.now() + this.accessTokenTtlSeconds * 1000, revoked: false };
    if (refreshToken !== undefined) grant.refreshToken = refreshToken;
    this.accessGrants.set(accessToken, grant);
    return { accessToken, expiresIn: this.accessTokenTtlSeconds };
  }

  /** Revokes a refresh token and every access token minted from it, as Google does. */
  revokeRefreshToken(refreshToken: string): boolean {
    const grant = this.refreshGrants.get(refreshToken);
    if (!grant || grant.revoked) return false;
    grant.revoked = true;
    for (const access of this.accessGrants.values()) if (access.refreshToken === refreshToken) access.revoked = true;
    return true;
  }

  /** The refresh token an access token was minted from, if any. */
  accessGrantRefreshToken(accessToken: string): string | undefined {
    return this.accessGrants.get(accessToken)?.refreshToken;
  }

  revokeAccessToken(accessToken: string): boolean {
    const grant = this.accessGrants.get(accessToken);
    if (!grant || grant.revoked) return false;
    grant.revoked = true;
    return true;
  }

  /** Invalidates live access tokens (of one account, or all) while clients still believe them valid. */
  expireAccessTokens(accountId?: string): number {
    let n = 0;
    for (const grant of this.accessGrants.values()) {
      if (grant.revoked || grant.expiresAt <= this.now()) continue;
      if (accountId !== undefined && grant.accountId !== accountId) continue;
      grant.expiresAt = this.now();
      n++;
    }
    return n;
  }

  authenticate(authorization: string | undefined): Authentication {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m?.[1]) return { ok: false, problem: 'missing' };
    const grant = this.accessGrants.get(m[1]);
    if (!grant || grant.revoked || grant.expiresAt <= this.now() || !this.accounts.has(grant.accountId)) return { ok: false, problem: 'invalid' };
    return { ok: true, accountId: grant.accountId };
  }

  /** The account an access token belongs to, valid or not (for fault matching and counters). */
  accountOfAccessToken(authorization: string | undefined): string | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    return m?.[1] ? this.accessGrants.get(m[1])?.accountId : undefined;
  }

  // ---- accounts ----

  account(accountId: string): AccountInfo | undefined {
    const a = this.accounts.get(accountId);
    if (!a) return undefined;
    const { baseUsage, driveUsage, ...info } = a;
    return { ...info, usage: baseUsage + driveUsage };
  }

  accountIds(): string[] {
    return [...this.accounts.keys()];
  }

  setQuota(accountId: string, change: { quotaLimit?: number | null; usage?: number }): void {
    const a = this.mustAccount(accountId);
    if (change.quotaLimit !== undefined) a.quotaLimit = change.quotaLimit;
    if (change.usage !== undefined) a.baseUsage = change.usage;
    this.notePeak(a);
  }

  /** Whether `extra` more bytes fit the account's quota. */
  fits(accountId: string, extra: number): boolean {
    const a = this.mustAccount(accountId);
    return a.quotaLimit === null || a.baseUsage + a.driveUsage + extra <= a.quotaLimit;
  }

  usage(accountId: string): { limit: number | null; usage: number; usageInDrive: number } {
    const a = this.mustAccount(accountId);
    return { limit: a.quotaLimit, usage: a.baseUsage + a.driveUsage, usageInDrive: a.driveUsage };
  }

  private mustAccount(accountId: string): Account {
    const a = this.accounts.get(accountId);
    if (!a) throw new Error(`Unknown account ${accountId}`);
    return a;
  }

  private notePeak(a: Account): void {
    a.peakUsage = Math.max(a.peakUsage, a.baseUsage + a.driveUsage);
  }

  // ---- files ----

  filePath(fileId: string): string {
    return path.join(this.dir, 'files', fileId);
  }

  file(fileId: string, accountId?: string): StoredFile | undefined {
    const f = this.fileRecords.get(fileId);
    if (!f || (accountId !== undefined && f.accountId !== accountId)) return undefined;
    return f;
  }

  files(accountId: string): StoredFile[] {
    return [...this.fileRecords.values()].filter((f) => f.accountId === accountId).map((f) => ({ ...f, parents: [...f.parents] }));
  }

  /** Resolves the `root` alias to the account's root folder id. */
  resolveId(accountId: string, id: string): string {
    return id === 'root' ? this.mustAccount(accountId).rootFolderId : id;
  }

  /** Whether `id` can be a parent: the account's root or one of its folders. */
  isFolder(accountId: string, id: string): boolean {
    const resolved = this.resolveId(accountId, id);
    if (resolved === this.mustAccount(accountId).rootFolderId) return true;
    const f = this.file(resolved, accountId);
    return f !== undefined && f.mimeType === FOLDER_MIME && !f.trashed;
  }

  createFolder(accountId: string, name: string, parents: string[]): StoredFile {
    const at = new Date(this.now()).toISOString();
    const folder: StoredFile = {
      id: driveId(),
      accountId,
      name,
      mimeType: FOLDER_MIME,
      parents: parents.length ? parents.map((p) => this.resolveId(accountId, p)) : [this.mustAccount(accountId).rootFolderId],
      size: 0,
      createdTime: at,
      modifiedTime: at,
      trashed: false,
    };
    this.fileRecords.set(folder.id, folder);
    return folder;
  }

  /** Deletes a file, or a folder with everything under it; frees their bytes. */
  async deleteFile(fileId: string): Promise<void> {
    const f = this.fileRecords.get(fileId);
    if (!f) return;
    this.fileRecords.delete(fileId);
    if (f.mimeType === FOLDER_MIME) {
      for (const child of [...this.fileRecords.values()]) if (child.parents.includes(fileId)) await this.deleteFile(child.id);
    } else {
      this.mustAccount(f.accountId).driveUsage -= f.size;
      await fsp.rm(this.filePath(fileId), { force: true });
    }
  }

  // ---- upload sessions ----

  sessionPath(sessionId: string): string {
    return path.join(this.dir, 'sessions', `${sessionId}.part`);
  }

  async createSession(init: Omit<UploadSession, 'id' | 'committed' | 'createdAt' | 'expiresAt' | 'state' | 'total'>): Promise<UploadSession> {
    const session: UploadSession = {
      ...init,
      id: token(32),
      total: init.declaredSize,
      committed: 0,
      createdAt: this.now(),
      expiresAt: this.now() + this.sessionTtlMs,
      state: 'active',
    };
    await fsp.writeFile(this.sessionPath(session.id), Buffer.alloc(0), { flag: 'wx' });
    this.sessionRecords.set(session.id, session);
    return session;
  }

  /** The session, with lazy expiry applied. */
  session(sessionId: string): UploadSession | undefined {
    const s = this.sessionRecords.get(sessionId);
    if (s && s.state === 'active' && s.expiresAt <= this.now()) this.endSession(s, 'expired');
    return s;
  }

  sessions(accountId?: string): UploadSession[] {
    return [...this.sessionRecords.keys()]
      .map((id) => this.session(id))
      .filter((s): s is UploadSession => s !== undefined && (accountId === undefined || s.accountId === accountId))
      .map((s) => ({ ...s, parents: [...s.parents] }));
  }

  /** Ends an active session (cancelled or expired) and frees its partial bytes. */
  endSession(session: UploadSession, state: 'cancelled' | 'expired'): void {
    if (session.state !== 'active') return;
    session.state = state;
    fs.rmSync(this.sessionPath(session.id), { force: true });
  }

  expireSessions(filter: { accountId?: string; sessionId?: string } = {}): number {
    let n = 0;
    for (const s of this.sessionRecords.values()) {
      if (s.state !== 'active') continue;
      if (filter.accountId !== undefined && s.accountId !== filter.accountId) continue;
      if (filter.sessionId !== undefined && s.id !== filter.sessionId) continue;
      this.endSession(s, 'expired');
      n++;
    }
    return n;
  }

  /** Runs `work` after every earlier request on the same session has finished. */
  async withSessionLock<T>(sessionId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.sessionLocks.get(sessionId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.sessionLocks.set(sessionId, next);
    try {
      return await next;
    } finally {
      if (this.sessionLocks.get(sessionId) === next) this.sessionLocks.delete(sessionId);
    }
  }

  /**
   * Turns a fully received session into a file: checks the quota (a full
   * account refuses, and the session stays as it was), moves the bytes into
   * place and counts them against the account.
   */
  async finalizeSession(session: UploadSession): Promise<StoredFile | 'quota'> {
    const total = session.total ?? session.committed;
    if (!this.fits(session.accountId, total)) return 'quota';
    const id = driveId();
    const part = this.sessionPath(session.id);
    await fsp.truncate(part, total);
    const target = this.filePath(id);
    await fsp.rename(part, target);
    const at = new Date(this.now()).toISOString();
    const file: StoredFile = {
      id,
      accountId: session.accountId,
      name: session.name,
      mimeType: session.mimeType,
      parents: session.parents.length ? session.parents.map((p) => this.resolveId(session.accountId, p)) : [this.mustAccount(session.accountId).rootFolderId],
      size: total,
      createdTime: at,
      modifiedTime: at,
      trashed: false,
    };
    this.fileRecords.set(id, file);
    const account = this.mustAccount(session.accountId);
    account.driveUsage += total;
    this.notePeak(account);
    session.committed = total;
    session.state = 'done';
    session.fileId = id;
    return file;
  }
}

/**
 * Checksums are computed when a client first asks for them, not when a file is
 * finalised: reading every upload back would make the emulator, which shares
 * the machine with the gateway in benchmarks, far costlier than the remote
 * service it stands for.
 */
export async function ensureChecksums(state: { filePath(id: string): string }, file: StoredFile): Promise<StoredFile> {
  if (file.md5Checksum === undefined && file.mimeType !== FOLDER_MIME) {
    const { md5, sha256 } = await digest(state.filePath(file.id));
    file.md5Checksum = md5;
    file.sha256Checksum = sha256;
  }
  return file;
}

async function digest(file: string): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  for await (const part of fs.createReadStream(file)) {
    md5.update(part as Buffer);
    sha256.update(part as Buffer);
  }
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}

/** The v3 file resource as Drive shapes it (int64 as strings). */
export function fileResource(f: StoredFile): Record<string, unknown> {
  const resource: Record<string, unknown> = {
    kind: 'drive#file',
    id: f.id,
    name: f.name,
    mimeType: f.mimeType,
    parents: f.parents,
    trashed: f.trashed,
    createdTime: f.createdTime,
    modifiedTime: f.modifiedTime,
  };
  if (f.mimeType !== FOLDER_MIME) {
    resource.size = String(f.size);
    if (f.md5Checksum !== undefined) resource.md5Checksum = f.md5Checksum;
    if (f.sha256Checksum !== undefined) resource.sha256Checksum = f.sha256Checksum;
  }
  return resource;
}

/** What Drive returns when no `fields` are asked for. */
export function defaultFileFields(f: StoredFile): Record<string, unknown> {
  return { kind: 'drive#file', id: f.id, name: f.name, mimeType: f.mimeType };
}
