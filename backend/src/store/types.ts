/**
 * Repository interfaces: the only way the rest of the code reaches durable
 * state. Two adapters implement them (sqlite/, mongo/) and one contract suite
 * (test/contract/store.contract.ts) holds both to the same behaviour. Methods
 * that the logic relies on being atomic say so; each adapter implements them
 * with a single conditional write (SQL `UPDATE … WHERE` / MongoDB conditional
 * update), never read-then-write.
 *
 * Ids are strings (UUIDv4) everywhere. Sizes are bytes as JS numbers (safe up
 * to 8 PiB). Dates are `Date` objects.
 */

export type Role = 'user' | 'admin';

export interface UserRecord {
  id: string;
  email: string;
  /** Null for users who only ever signed in with Google. */
  passwordHash: string | null;
  role: Role;
  disabled: boolean;
  storageQuota: number;
  storageUsed: number;
  googleId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewUser {
  email: string;
  passwordHash: string | null;
  role: Role;
  storageQuota: number;
  googleId?: string | null;
}

export type UserPatch = Partial<Pick<UserRecord, 'passwordHash' | 'role' | 'disabled' | 'storageQuota' | 'googleId'>>;

export interface Page<T> {
  items: T[];
  total: number;
}

export interface PageQuery {
  offset: number;
  limit: number;
}

export interface UsersRepo {
  /** Throws `ConflictError('email_taken')` when the (normalised) email exists. */
  create(input: NewUser): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | null>;
  findByEmail(email: string): Promise<UserRecord | null>;
  findByGoogleId(googleId: string): Promise<UserRecord | null>;
  /** Newest first; `q` matches a substring of the email. */
  list(query: PageQuery & { q?: string }): Promise<Page<UserRecord>>;
  update(id: string, patch: UserPatch): Promise<UserRecord | null>;
  countByRole(role: Role): Promise<number>;
  /** Atomic: adds `bytes` to storageUsed only if the result stays within storageQuota. */
  reserveStorage(id: string, bytes: number): Promise<boolean>;
  /** Atomic: subtracts `bytes` from storageUsed, never below zero. */
  releaseStorage(id: string, bytes: number): Promise<void>;
}

/**
 * A refresh token is `<id>.<secret>`; only SHA-256(secret) is stored. Tokens
 * issued from one login form a family: rotating one marks it used and issues the
 * next in the same family. Presenting a used token again means it leaked, and
 * the whole family is revoked.
 */
export interface RefreshTokenRecord {
  id: string;
  familyId: string;
  userId: string;
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
}

export interface RefreshTokensRepo {
  create(record: Omit<RefreshTokenRecord, 'usedAt' | 'revokedAt'>): Promise<RefreshTokenRecord>;
  findById(id: string): Promise<RefreshTokenRecord | null>;
  /** Atomic: true for exactly one caller, and only while the token is unused and not revoked. */
  markUsed(id: string, at: Date): Promise<boolean>;
  /** Revokes every token of the family that is not revoked yet; returns how many. */
  revokeFamily(familyId: string, at: Date): Promise<number>;
  revokeAllForUser(userId: string, at: Date): Promise<number>;
  /** Housekeeping: removes tokens that expired before `before`; returns how many. */
  deleteExpired(before: Date): Promise<number>;
}

export type FileState = 'pending' | 'uploading' | 'complete' | 'cancelled' | 'expired' | 'failed';
export type BackupState = 'disabled' | 'pending' | 'running' | 'done' | 'failed';

export interface BackupInfo {
  state: BackupState;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: Date | null;
  /** Until when a worker holds a `running` backup; past it the reconciler may re-run it. */
  leaseUntil: Date | null;
  remotePath: string | null;
  backedUpAt: Date | null;
}

export interface FileRecord {
  id: string;
  ownerId: string;
  name: string;
  size: number;
  mimeType: string;
  sha256: string | null;
  state: FileState;
  /** Pool member holding the primary copy and its id there. */
  accountId: string | null;
  remoteId: string | null;
  /** Bytes durably committed upstream (resumable uploads resume from here). */
  committed: number;
  /** Provider-specific resumable session state (e.g. a Drive session URI), serialised. */
  uploadSession: string | null;
  /** SHA-256 of the upload token that authorises sending this file's bytes; null once none is valid. */
  uploadTokenHash: string | null;
  /** An upload with no activity until then is abandoned: the sweeper expires it and frees its reservations. */
  uploadExpiresAt: Date | null;
  /** When the bytes were placed on `accountId` (counts towards that account's rolling daily upload cap). */
  placedAt: Date | null;
  backup: BackupInfo;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface NewFile {
  ownerId: string;
  name: string;
  size: number;
  mimeType: string;
  accountId: string | null;
  backupState: BackupState;
  uploadSession?: string | null;
  uploadTokenHash?: string | null;
  uploadExpiresAt?: Date | null;
  placedAt?: Date | null;
}

export type FilePatch = Partial<
  Pick<
    FileRecord,
    | 'name'
    | 'sha256'
    | 'state'
    | 'accountId'
    | 'remoteId'
    | 'committed'
    | 'uploadSession'
    | 'uploadTokenHash'
    | 'uploadExpiresAt'
    | 'placedAt'
    | 'deletedAt'
  >
> & { backup?: Partial<BackupInfo> };

/** Upload states in which a file still holds reservations (user quota and account space). */
export const IN_FLIGHT_STATES: readonly FileState[] = ['pending', 'uploading'];
/** States whose bytes count as stored or being stored on their account. */
export const LIVE_STATES: readonly FileState[] = ['pending', 'uploading', 'complete'];

export type FileSort = 'createdAt' | '-createdAt' | 'name' | '-name' | 'size' | '-size';

export interface FilesRepo {
  create(input: NewFile): Promise<FileRecord>;
  /** Deleted files are returned too (callers decide); see `deletedAt`. */
  findById(id: string): Promise<FileRecord | null>;
  /** Only files not deleted; `q` matches a substring of the name. */
  listByOwner(query: PageQuery & { ownerId: string; q?: string; sort?: FileSort }): Promise<Page<FileRecord>>;
  /**
   * Applies `patch`. With `whenState`, atomically and only while the file is
   * in one of those states; null when it is not (or does not exist).
   */
  update(id: string, patch: FilePatch, whenState?: readonly FileState[]): Promise<FileRecord | null>;
  /** Atomic compare-and-set of the committed offset: succeeds only if it is still `from` and the upload is in flight. */
  advanceCommitted(id: string, from: number, to: number): Promise<boolean>;
  /** Atomic: moves `state` to `to` only if it is currently one of `from`. */
  transitionState(id: string, from: FileState[], to: FileState): Promise<boolean>;
  /**
   * Atomic: marks the file deleted at `at`, unless it already is or its upload
   * is still in flight (IN_FLIGHT_STATES: cancel it instead). Returns the
   * deleted record to exactly one caller, else null — so the owner's storage
   * is released once, however many deletes race.
   */
  markDeleted(id: string, at: Date): Promise<FileRecord | null>;
  /**
   * Atomic: forgets where one copy lived — `remoteId` for the primary,
   * `backup.remotePath` for the backup — only while it still is `expected`.
   * True for exactly one caller, so a copy removed by two delete jobs at once
   * frees its account's space once.
   */
  forgetCopy(id: string, copy: 'primary' | 'backup', expected: string): Promise<boolean>;
  /**
   * Atomic job claim: a backup that is `pending`, or `failed` with a next
   * attempt that is due (a failure without one waits for an admin's retry), or
   * `running` with an expired lease becomes `running` with a new lease and one
   * more attempt. Returns the claimed record, or null if someone else has it.
   */
  claimBackup(id: string, now: Date, leaseUntil: Date): Promise<FileRecord | null>;
  /**
   * Atomic: applies `patch` to the backup only while the claim identified by
   * `lease` still holds (state `running`, lease unchanged), so a worker whose
   * lease lapsed and was taken over cannot overwrite the newer outcome. Also
   * renews a lease (patch `leaseUntil`). Returns whether it applied.
   */
  settleBackup(id: string, lease: Date, patch: Partial<BackupInfo>): Promise<boolean>;
  /**
   * Live, complete files whose backup is in one of `from` become `pending`
   * (attempts kept, schedule and error cleared); returns how many. Used when a
   * backup target appears and for "back up everything missing".
   */
  requeueBackups(from: BackupState[]): Promise<number>;
  /** Live files by backup state, oldest first (admin views). */
  listByBackupState(query: PageQuery & { state?: BackupState }): Promise<Page<FileRecord>>;
  /**
   * Deleted files that may still have a copy to remove (for the reconciler):
   * a recorded primary or backup location, or a backup still `running` under
   * a lease that lapsed before `now` — its worker died, possibly after its PUT
   * landed an object it never recorded.
   */
  listDeletedWithCopies(now: Date, limit: number): Promise<string[]>;
  /** Ids of live, complete files whose backup a worker could claim now (for the reconciler). */
  listBackupDue(now: Date, limit: number): Promise<string[]>;
  countByBackupState(): Promise<Record<BackupState, number>>;
  /** Ids of uploads still in flight (pending/uploading) whose `uploadExpiresAt` is before `now`. */
  listAbandonedUploads(now: Date, limit: number): Promise<string[]>;
  /**
   * Bytes placed on each account since `since`, by account id, counting files in
   * LIVE_STATES (deleted ones too: the provider counted them when they arrived).
   */
  placedBytesSince(since: Date): Promise<Record<string, number>>;
  /** Files in LIVE_STATES on the account, deleted ones excluded. */
  countLiveOnAccount(accountId: string): Promise<number>;
  /** Forgets the account on every file that points at it (before the account is removed); returns how many. */
  detachAccount(accountId: string): Promise<number>;
}

export type Provider = 'gdrive' | 'webdav' | 'local';
export type Health = 'unknown' | 'healthy' | 'degraded' | 'down';

export interface AccountRecord {
  id: string;
  provider: Provider;
  name: string;
  enabled: boolean;
  draining: boolean;
  /** Sealed with MASTER_KEY (core/crypto.ts); never returned by an API. */
  credentials: string;
  /** Null when the member reports no limit. */
  quotaLimit: number | null;
  quotaUsed: number;
  /** Bytes promised to uploads in flight. */
  reserved: number;
  health: Health;
  consecutiveFailures: number;
  lastCheckAt: Date | null;
  lastError: string | null;
  lastChosenAt: Date | null;
  /** When the last failure counted in `consecutiveFailures` happened (circuit breaker cool-down). */
  lastFailureAt: Date | null;
  /** Bytes this member accepts per rolling 24 hours; null for no cap (Google's is 750 GB). */
  dailyCap: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewAccount {
  provider: Provider;
  name: string;
  credentials: string;
  quotaLimit: number | null;
  quotaUsed: number;
  dailyCap?: number | null;
}

export type AccountPatch = Partial<
  Pick<
    AccountRecord,
    | 'name'
    | 'enabled'
    | 'draining'
    | 'credentials'
    | 'quotaLimit'
    | 'quotaUsed'
    | 'health'
    | 'consecutiveFailures'
    | 'lastCheckAt'
    | 'lastError'
    | 'lastChosenAt'
    | 'lastFailureAt'
    | 'dailyCap'
  >
>;

export interface AccountsRepo {
  create(input: NewAccount): Promise<AccountRecord>;
  findById(id: string): Promise<AccountRecord | null>;
  /** Oldest first. */
  list(): Promise<AccountRecord[]>;
  update(id: string, patch: AccountPatch): Promise<AccountRecord | null>;
  remove(id: string): Promise<boolean>;
  /**
   * Atomic: adds `bytes` to `reserved` only if `quotaLimit − quotaUsed − reserved ≥ bytes`
   * (always, when there is no limit), and stamps `lastChosenAt`.
   */
  reserve(id: string, bytes: number, at: Date): Promise<boolean>;
  /** Atomic: an upload failed or expired; its reservation is returned (never below zero). */
  release(id: string, bytes: number): Promise<void>;
  /** Atomic: an upload completed; its reservation turns into used space. */
  commitReservation(id: string, bytes: number): Promise<void>;
  /** Atomic: a stored object was removed; its bytes no longer count as used (never below zero). */
  freeUsed(id: string, bytes: number): Promise<void>;
}

export interface LinkRecord {
  id: string;
  fileId: string;
  createdBy: string;
  /** SHA-256 of the link token; the token itself is only shown once. */
  tokenHash: string;
  passwordHash: string | null;
  expiresAt: Date;
  revokedAt: Date | null;
  createdAt: Date;
}

export interface LinksRepo {
  create(record: Omit<LinkRecord, 'id' | 'createdAt' | 'revokedAt'>): Promise<LinkRecord>;
  findByTokenHash(tokenHash: string): Promise<LinkRecord | null>;
  listByFile(fileId: string): Promise<LinkRecord[]>;
  /** Returns false when the link does not exist or was already revoked. */
  revoke(id: string, at: Date): Promise<boolean>;
}

export interface AuditEvent {
  id: string;
  at: Date;
  /** Null for anonymous or system actions (e.g. a failed login for an unknown email). */
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}

export interface AuditRepo {
  append(event: Omit<AuditEvent, 'id' | 'at'> & { at?: Date }): Promise<AuditEvent>;
  /** Newest first. */
  list(query: PageQuery & { actorId?: string; action?: string }): Promise<Page<AuditEvent>>;
}

export interface MetadataStore {
  readonly kind: 'sqlite' | 'mongodb';
  readonly users: UsersRepo;
  readonly refreshTokens: RefreshTokensRepo;
  readonly files: FilesRepo;
  readonly accounts: AccountsRepo;
  readonly links: LinksRepo;
  readonly audit: AuditRepo;
  /** Throws when the store cannot be reached (used by /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
