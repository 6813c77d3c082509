import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock';
import { digestsEqual, sha256Hex } from '../core/crypto';
import { AppError, InsufficientStorageError, PayloadTooLargeError, ValidationError } from '../core/errors';
import { newSecret } from '../core/ids';
import type { Logger } from '../core/logger';
import type { Allocator, Placement } from '../pool/allocator';
import type { PoolHealth } from '../pool/health';
import type { AccountRegistry } from '../pool/registry';
import {
  AuthRevokedError,
  OffsetMismatchError,
  PermanentError,
  ProviderError,
  ProviderNotFoundError,
  QuotaExceededError,
  RateLimitedError,
} from '../providers/errors';
import type { StorageProvider, UploadTarget } from '../providers/types';
import type { EventBus } from '../realtime/event-bus';
import { type BackupState, type FileRecord, type FileState, IN_FLIGHT_STATES, type MetadataStore } from '../store/types';
import { UploadError, notYourUpload, resync, upstreamUnavailable, uploadGone, uploadRestarted } from './errors';
import { UploadLocks } from './exclusive';
import { sanitizeFilename, resolveMimeType } from './filename';
import { UploadHashes } from './hashes';

/** The contract's chunk size: 4 MiB, a multiple of Drive's 256 KiB rule. */
export const CHUNK_SIZE = 4 * 1024 * 1024;
/** Google Drive's limit per file (5 TB); no member we support takes more in one object. */
export const MAX_FILE_SIZE = 5 * 1000 ** 4;
/** How often an active upload pushes its expiry forward (not on every chunk: one write less per chunk). */
const EXPIRY_BUMP_MS = 60_000;
/** A member that acknowledges a chunk without committing any of it, this many times in a row, is treated as down. */
const MAX_STALLED_WRITES = 3;
/** Starting over more often than this (per upload, per process) means something is wrong beyond one session. */
const MAX_RESTARTS = 5;
/** How long opening an upload waits for the member to say where it stands. */
const OPEN_QUERY_LIMIT_MS = 20_000;

/** Why a writer is asked to stop. */
export type PreemptReason = 'superseded' | 'cancelled' | 'expired';

/** Settles with `work`, or rejects with `onTimeout()` after `ms` (the work goes on in the background, ignored). */
async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface InitiateInput {
  filename: string;
  size: number;
  contentType?: string | undefined;
}

export interface InitiatedUpload {
  fileId: string;
  uploadUrl: string;
  uploadToken: string;
  chunkSize: number;
}

/** Who is asking: the holder of the upload token, or a logged-in user. */
export type UploadAccess = { uploadToken: string } | { userId: string };

export interface UploadServiceDeps {
  store: MetadataStore;
  allocator: Allocator;
  registry: AccountRegistry;
  health: PoolHealth;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  uploadExpiryMs: number;
  /** The backup state a newly uploaded file starts in (`disabled` until a backup target exists). */
  initialBackupState: () => BackupState;
  chunkSize?: number;
}

/**
 * Resumable uploads (ARCHITECTURE.md, "Upload"): initiate places the file and
 * reserves its size; an `UploadCursor` then feeds bytes to the member's
 * resumable session, persisting the committed offset after every chunk so any
 * process can resume; cancel and expiry give the reservations back. The
 * WebSocket and HTTP handlers are thin layers over this.
 */
export class UploadService {
  readonly chunkSize: number;
  private readonly hashes = new UploadHashes();
  private readonly locks = new UploadLocks();
  private readonly restarts = new Map<string, number>();
  private readonly ending = new Map<string, Promise<boolean>>();

  constructor(private readonly deps: UploadServiceDeps) {
    this.chunkSize = deps.chunkSize ?? CHUNK_SIZE;
  }

  async initiate(userId: string, input: InitiateInput): Promise<InitiatedUpload> {
    const { store, clock } = this.deps;
    const name = sanitizeFilename(input.filename);
    if (name === null) throw new ValidationError('filename: must contain a usable name', [{ field: 'filename', message: 'must contain a usable name' }]);
    const target: UploadTarget = { name, size: input.size, mimeType: resolveMimeType(input.contentType, name) };

    if (!(await store.users.reserveStorage(userId, target.size))) {
      const user = await store.users.findById(userId);
      const free = user ? Math.max(0, user.storageQuota - user.storageUsed) : 0;
      throw new PayloadTooLargeError('quota_exceeded', `This file needs ${target.size} bytes but only ${free} bytes of your storage quota are free`);
    }
    let placement: Placement;
    try {
      placement = await this.deps.allocator.place(target);
    } catch (err) {
      await store.users.releaseStorage(userId, target.size);
      throw err;
    }
    const token = newSecret();
    try {
      const file = await store.files.create({
        ownerId: userId,
        name,
        size: target.size,
        mimeType: target.mimeType,
        accountId: placement.account.id,
        backupState: this.deps.initialBackupState(),
        uploadSession: placement.handle,
        uploadTokenHash: sha256Hex(token),
        uploadExpiresAt: new Date(clock.now().getTime() + this.deps.uploadExpiryMs),
        placedAt: placement.placedAt,
      });
      this.deps.logger.info({ fileId: file.id, accountId: placement.account.id, size: target.size }, 'upload initiated');
      return { fileId: file.id, uploadUrl: `/ws_api/upload/${file.id}`, uploadToken: token, chunkSize: this.chunkSize };
    } catch (err) {
      await store.accounts.release(placement.account.id, target.size);
      await store.users.releaseStorage(userId, target.size);
      await placement.provider.abortUpload(placement.handle).catch(() => undefined);
      throw err;
    }
  }

  /**
   * The file behind an upload, if `access` may touch it. Every refusal looks
   * the same (404), so nobody learns which upload ids exist.
   */
  async authorize(fileId: string, access: UploadAccess): Promise<FileRecord> {
    const file = await this.deps.store.files.findById(fileId);
    if (!file || file.deletedAt) throw notYourUpload();
    if ('userId' in access) {
      if (file.ownerId !== access.userId) throw notYourUpload();
    } else if (!file.uploadTokenHash || !digestsEqual(sha256Hex(access.uploadToken), file.uploadTokenHash)) {
      throw new UploadError(401, 'invalid_upload_token', 'The upload token is not valid for this upload', false);
    }
    return this.expireIfDue(file);
  }

  async status(fileId: string, access: UploadAccess): Promise<{ state: FileState; committed: number; size: number }> {
    const file = await this.authorize(fileId, access);
    return { state: file.state, committed: file.committed, size: file.size };
  }

  /**
   * Takes the upload for writing (waiting for, and pre-empting, any other
   * writer in this process), learns from the member how many bytes it really
   * holds, and returns a cursor positioned there. `onPreempt` is called if a
   * newer connection takes over or the upload is cancelled.
   */
  async open(fileId: string, access: UploadAccess, onPreempt: (reason: PreemptReason) => void): Promise<UploadCursor> {
    await this.authorize(fileId, access);
    const release = await this.locks.acquire(fileId, onPreempt);
    try {
      // Re-read: the previous holder may have moved it on while we waited.
      const file = await this.expireIfDue(await this.mustFind(fileId));
      if (file.state === 'complete') return new UploadCursor(this, file, null, release);
      if (!IN_FLIGHT_STATES.includes(file.state)) throw uploadGone(file.state);
      const synced = await this.syncWithMember(file);
      if (synced.state === 'complete') return new UploadCursor(this, synced, null, release);
      await this.deps.store.files.transitionState(file.id, ['pending'], 'uploading');
      const current = await this.touch({ ...synced, state: 'uploading' }, true);
      return new UploadCursor(this, current, await this.providerOf(current), release);
    } catch (err) {
      release();
      throw err;
    }
  }

  async cancel(fileId: string, access: UploadAccess): Promise<FileRecord> {
    const file = await this.authorize(fileId, access);
    if (file.state === 'complete') throw new AppError(409, 'upload_complete', 'This upload is complete; delete the file instead');
    this.locks.preempt(fileId, 'cancelled');
    await this.abandon(file, 'cancelled', 'cancelled by the user');
    return this.mustFind(fileId);
  }

  /** Expires uploads nobody touched within the expiry time; returns how many. */
  async expireAbandoned(limit = 100): Promise<number> {
    const ids = await this.deps.store.files.listAbandonedUploads(this.deps.clock.now(), limit);
    let expired = 0;
    for (const id of ids) {
      const file = await this.deps.store.files.findById(id);
      if (!file) continue;
      this.locks.preempt(id, 'expired');
      if (await this.abandon(file, 'expired', 'no activity before the upload expired')) expired++;
    }
    return expired;
  }

  // ---- used by UploadCursor -------------------------------------------------

  /** @internal Sends `bytes` (starting at `offset`) to the member until all of it is committed. */
  async write(cursor: UploadCursor, offset: number, bytes: Buffer): Promise<void> {
    const file = cursor.file;
    const provider = cursor.provider;
    if (!provider || !file.uploadSession) throw uploadGone(file.state);
    if (offset !== file.committed) throw resync(file.committed);
    if (offset + bytes.length > file.size) {
      throw new UploadError(400, 'size_exceeded', `These bytes end at ${offset + bytes.length}, past the declared size ${file.size}`, false);
    }
    const end = offset + bytes.length;
    let stalled = 0;
    let pos = offset;
    // A 0-byte file has one empty final write; everything else loops until the chunk is in.
    while (pos < end || (bytes.length === 0 && cursor.remoteId === null)) {
      let committed: number;
      let remoteId: string | undefined;
      const sending = bytes.subarray(pos - offset);
      const reply = provider.writeChunk(file.uploadSession, pos, sending);
      // Hash while the bytes travel: one turn of the event loop lets the request hit the socket first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const settleHash = this.hashes.speculate(file.id, pos, sending);
      try {
        ({ committed, remoteId } = await reply);
      } catch (err) {
        if (err instanceof OffsetMismatchError && err.committed > pos && err.committed <= end) {
          // The member already had some of these bytes (a reply was lost): count them and go on.
          committed = err.committed;
        } else {
          settleHash(0);
          throw await this.recoverFromWriteError(cursor, pos, err);
        }
      }
      settleHash(committed - pos);
      if (committed > end || committed < pos) {
        await this.resetCommitted(file, committed);
        throw resync(committed);
      }
      if (committed === pos && remoteId === undefined) {
        if (++stalled >= MAX_STALLED_WRITES) throw upstreamUnavailable('it accepted no bytes');
        continue;
      }
      stalled = 0;
      try {
        await this.advance(cursor, pos, committed);
      } catch (err) {
        // The member finished an upload that was cancelled or expired meanwhile: the object is nobody's.
        if (remoteId !== undefined && err instanceof UploadError && err.status === 410) await provider.remove(remoteId).catch(() => undefined);
        throw err;
      }
      pos = committed;
      if (remoteId !== undefined) cursor.remoteId = remoteId;
      if (bytes.length === 0) break;
    }
    await this.deps.health.recordSuccess(await this.accountOf(file));
  }

  /** @internal Verifies and records a finished upload; returns the complete file. */
  async finalize(cursor: UploadCursor): Promise<FileRecord> {
    const file = cursor.file;
    const provider = cursor.provider;
    if (!provider) throw uploadGone(file.state);
    let remoteId = cursor.remoteId;
    if (remoteId === null) {
      const state = await this.queryMember(file, provider);
      if (state.state !== 'done') throw resync(state.state === 'in_progress' ? state.committed : 0);
      remoteId = state.remoteId;
    }
    return this.complete(file, provider, remoteId);
  }

  publishProgress(file: FileRecord, received: number): void {
    this.deps.events.publish({
      type: 'upload.progress',
      fileId: file.id,
      ownerId: file.ownerId,
      accountId: file.accountId,
      size: file.size,
      committed: file.committed,
      received,
      at: this.deps.clock.now().toISOString(),
    });
  }

  // ---- internals --------------------------------------------------------------

  private async mustFind(fileId: string): Promise<FileRecord> {
    const file = await this.deps.store.files.findById(fileId);
    if (!file || file.deletedAt) throw notYourUpload();
    return file;
  }

  private async expireIfDue(file: FileRecord): Promise<FileRecord> {
    if (!IN_FLIGHT_STATES.includes(file.state) || !file.uploadExpiresAt || file.uploadExpiresAt > this.deps.clock.now()) return file;
    await this.abandon(file, 'expired', 'no activity before the upload expired');
    return this.mustFind(file.id);
  }

  /** The upload's account; if it was removed meanwhile, the client is told to reconnect (and starts over elsewhere). */
  private async accountOf(file: FileRecord) {
    const account = file.accountId ? await this.deps.store.accounts.findById(file.accountId) : null;
    if (!account) throw uploadRestarted('The storage account of this upload was removed');
    return account;
  }

  private async providerOf(file: FileRecord): Promise<StorageProvider> {
    return this.deps.registry.providerFor(await this.accountOf(file));
  }

  private async queryMember(file: FileRecord, provider: StorageProvider) {
    if (!file.uploadSession) return { state: 'expired' as const };
    try {
      return await provider.queryUpload(file.uploadSession);
    } catch (err) {
      if (err instanceof ProviderNotFoundError) return { state: 'expired' as const };
      if (err instanceof ProviderError) await this.deps.health.recordFailure(await this.accountOf(file), err);
      if (err instanceof AuthRevokedError) return { state: 'expired' as const, moveAway: true };
      if (err instanceof RateLimitedError) throw upstreamUnavailable('rate limited', Math.ceil(err.retryAfterMs / 1000));
      if (err instanceof ProviderError) throw upstreamUnavailable(err.message);
      throw err;
    }
  }

  /**
   * Brings the stored offset in line with what the member actually holds (it
   * may be ahead if we crashed between its reply and our write), and starts
   * over when the member lost the session.
   */
  private async syncWithMember(file: FileRecord): Promise<FileRecord> {
    const account = file.accountId ? await this.deps.store.accounts.findById(file.accountId) : null;
    if (!account || !file.uploadSession) {
      await this.restart(file, 'The storage account of this upload is gone', true);
      throw uploadRestarted('The storage account of this upload is gone');
    }
    const provider = this.deps.registry.providerFor(account);
    // The member's own retries can take a minute; the client hears back sooner and reconnects later.
    const state = await withTimeout(this.queryMember(file, provider), OPEN_QUERY_LIMIT_MS, () =>
      upstreamUnavailable('it did not say in time where the upload stands'),
    );
    if (state.state === 'done') return this.complete(file, provider, state.remoteId);
    if (state.state === 'expired') {
      const moveAway = 'moveAway' in state;
      if (file.committed === 0 && !moveAway) {
        // Nothing was sent yet: a fresh session costs the client nothing, so no error.
        return this.restart(file, 'The upload session expired', false);
      }
      await this.restart(file, 'The upload session expired', moveAway);
      throw uploadRestarted('The storage account no longer has this upload session');
    }
    if (state.committed !== file.committed) {
      this.deps.logger.info({ fileId: file.id, stored: file.committed, member: state.committed }, 'upload offset re-synced from the member');
      await this.resetCommitted(file, state.committed);
      return { ...file, committed: state.committed };
    }
    return file;
  }

  /** Maps a failed chunk write to what the client is told, after doing what the failure calls for. */
  private async recoverFromWriteError(cursor: UploadCursor, pos: number, err: unknown): Promise<unknown> {
    const file = cursor.file;
    cursor.stale = true;
    if (!(err instanceof ProviderError)) return err;
    const account = await this.accountOf(file);
    this.deps.logger.warn({ fileId: file.id, accountId: account.id, offset: pos, err }, 'chunk write failed');
    if (err instanceof OffsetMismatchError) {
      await this.resetCommitted(file, err.committed);
      return resync(err.committed);
    }
    if (err instanceof ProviderNotFoundError || err instanceof PermanentError) {
      await this.restart(file, 'The upload session was lost', false);
      return uploadRestarted('The storage account dropped this upload session');
    }
    await this.deps.health.recordFailure(account, err);
    if (err instanceof QuotaExceededError || err instanceof AuthRevokedError) {
      await this.restart(file, err instanceof QuotaExceededError ? 'The storage account is full' : 'The storage account was disconnected', true);
      return uploadRestarted(err instanceof QuotaExceededError ? 'The storage account filled up' : 'The storage account was disconnected');
    }
    if (err instanceof RateLimitedError) return upstreamUnavailable('rate limited', Math.ceil(err.retryAfterMs / 1000));
    return upstreamUnavailable(err.message);
  }

  /**
   * A new upstream session from byte 0: on the same member, or (when it is
   * full, revoked, or will not start one) on another, moving the reservation.
   * Returns the updated file; the caller tells the client to start over.
   */
  private async restart(file: FileRecord, why: string, moveAway: boolean): Promise<FileRecord> {
    const { store, logger } = this.deps;
    const current = await this.mustFind(file.id);
    if (!IN_FLIGHT_STATES.includes(current.state)) throw uploadGone(current.state);
    const count = (this.restarts.get(file.id) ?? 0) + 1;
    this.restarts.set(file.id, count);
    if (count > MAX_RESTARTS) {
      await this.fail(file, `${why}, and starting over ${MAX_RESTARTS} times did not help`);
      throw new UploadError(502, 'upload_failed', `${why}; the upload failed after ${MAX_RESTARTS} fresh starts`, false);
    }
    this.hashes.drop(file.id);
    const target: UploadTarget = { name: file.name, size: file.size, mimeType: file.mimeType };
    const oldSession = file.uploadSession;
    const oldAccount = file.accountId ? await store.accounts.findById(file.accountId) : null;
    if (!moveAway && oldAccount?.enabled) {
      let handle: string | undefined;
      try {
        handle = await this.deps.registry.providerFor(oldAccount).startUpload(target);
      } catch (err) {
        await this.deps.health.recordFailure(oldAccount, err);
      }
      if (handle !== undefined) {
        // Only while still in flight: a cancel or expiry that won meanwhile keeps the upload ended.
        const updated = await store.files.update(file.id, { uploadSession: handle, committed: 0 }, IN_FLIGHT_STATES);
        if (!updated) {
          await this.deps.registry.providerFor(oldAccount).abortUpload(handle).catch(() => undefined);
          throw uploadGone((await this.mustFind(file.id)).state);
        }
        logger.info({ fileId: file.id, accountId: oldAccount.id, why }, 'upload restarted on the same account');
        return updated;
      }
    }
    let placement: Placement;
    try {
      placement = await this.deps.allocator.place(target, { exclude: new Set(oldAccount ? [oldAccount.id] : []) });
    } catch (err) {
      if (err instanceof InsufficientStorageError) {
        await this.fail(file, `${why}, and no other storage account has room`);
        throw new UploadError(507, 'insufficient_storage', `${why}, and no other storage account has room for this file`, false);
      }
      if (err instanceof AppError) throw new UploadError(503, err.code, err.message, true, err.details?.retryAfterSeconds);
      throw err;
    }
    const moved = await store.files.update(
      file.id,
      { accountId: placement.account.id, uploadSession: placement.handle, committed: 0, placedAt: placement.placedAt },
      IN_FLIGHT_STATES,
    );
    if (!moved) {
      // Ended meanwhile (cancel, expiry): its clean-up freed the old account; the new placement is undone here.
      await store.accounts.release(placement.account.id, file.size);
      await placement.provider.abortUpload(placement.handle).catch(() => undefined);
      throw uploadGone((await this.mustFind(file.id)).state);
    }
    if (oldAccount) {
      await store.accounts.release(oldAccount.id, file.size);
      if (oldSession) await this.deps.registry.providerFor(oldAccount).abortUpload(oldSession).catch(() => undefined);
    }
    logger.info({ fileId: file.id, from: oldAccount?.id ?? null, to: placement.account.id, why }, 'upload moved to another account');
    return moved;
  }

  private async resetCommitted(file: FileRecord, committed: number): Promise<void> {
    this.hashes.drop(file.id);
    await this.deps.store.files.update(file.id, { committed });
  }

  /** Moves the stored offset forward (compare-and-set), and keeps an active upload from expiring. */
  private async advance(cursor: UploadCursor, from: number, to: number): Promise<void> {
    if (!(await this.deps.store.files.advanceCommitted(cursor.file.id, from, to))) {
      cursor.stale = true;
      const now = await this.mustFind(cursor.file.id);
      throw IN_FLIGHT_STATES.includes(now.state) ? resync(now.committed) : uploadGone(now.state);
    }
    cursor.file = await this.touch({ ...cursor.file, committed: to }, false);
  }

  private async touch(file: FileRecord, force: boolean): Promise<FileRecord> {
    const now = this.deps.clock.now().getTime();
    const expiresAt = file.uploadExpiresAt?.getTime() ?? 0;
    // Pushed forward at most once a minute (a quarter of the expiry time when that is shorter).
    const bumpEvery = Math.min(EXPIRY_BUMP_MS, this.deps.uploadExpiryMs / 4);
    if (!force && expiresAt - now > this.deps.uploadExpiryMs - bumpEvery) return file;
    const uploadExpiresAt = new Date(now + this.deps.uploadExpiryMs);
    await this.deps.store.files.update(file.id, { uploadExpiresAt });
    return { ...file, uploadExpiresAt };
  }

  /** Records the finished upload: hash, remote id, state; converts the reservation into used space. */
  private async complete(file: FileRecord, provider: StorageProvider, remoteId: string): Promise<FileRecord> {
    const { store } = this.deps;
    const sha256 = this.hashes.take(file.id, file.size) ?? (await this.hashStored(file, provider, remoteId));
    await store.files.update(file.id, { remoteId, sha256, committed: file.size });
    if (await store.files.transitionState(file.id, [...IN_FLIGHT_STATES], 'complete')) {
      if (file.accountId) await store.accounts.commitReservation(file.accountId, file.size);
      await store.files.update(file.id, { uploadSession: null });
      this.restarts.delete(file.id);
      this.deps.events.publish({
        type: 'upload.completed',
        fileId: file.id,
        ownerId: file.ownerId,
        accountId: file.accountId,
        size: file.size,
        at: this.deps.clock.now().toISOString(),
      });
      this.deps.logger.info({ fileId: file.id, accountId: file.accountId, size: file.size }, 'upload complete');
    }
    const done = await this.mustFind(file.id);
    if (done.state !== 'complete') {
      // Cancelled or expired while the last bytes were on their way: the stored copy is nobody's.
      await provider.remove(remoteId).catch(() => undefined);
      throw uploadGone(done.state);
    }
    return done;
  }

  /**
   * The SHA-256 of the stored object, read back from the member: used when the
   * running hash was lost (restart, another replica) — and it proves the
   * member holds exactly `size` bytes.
   */
  private async hashStored(file: FileRecord, provider: StorageProvider, remoteId: string): Promise<string> {
    const hash = createHash('sha256');
    let length = 0;
    try {
      const { stream } = await provider.read(remoteId);
      for await (const piece of stream) {
        const bytes = piece as Buffer;
        hash.update(bytes);
        length += bytes.length;
      }
    } catch (err) {
      if (err instanceof ProviderError && !(err instanceof ProviderNotFoundError)) throw upstreamUnavailable(`reading it back: ${err.message}`);
      throw err;
    }
    if (length !== file.size) {
      await this.fail(file, `the storage account holds ${length} bytes, not ${file.size}`);
      throw new UploadError(502, 'upload_failed', `The storage account holds ${length} bytes of this file instead of ${file.size}`, false);
    }
    this.deps.logger.info({ fileId: file.id }, 'upload hashed by reading it back');
    return hash.digest('hex');
  }

  private async fail(file: FileRecord, reason: string): Promise<void> {
    await this.abandon(file, 'failed', reason);
  }

  /**
   * Ends an unfinished upload (cancelled, expired, failed): exactly one caller
   * wins the state change and gives back both reservations and the upstream
   * session. Returns whether this call won.
   */
  private async abandon(file: FileRecord, to: 'cancelled' | 'expired' | 'failed', reason: string): Promise<boolean> {
    // A second caller (a repeated cancel, the sweeper) waits for the first to finish the clean-up.
    const running = this.ending.get(file.id);
    if (running) return running.then(() => false);
    const ending = this.endUpload(file, to, reason).finally(() => this.ending.delete(file.id));
    this.ending.set(file.id, ending);
    return ending;
  }

  private async endUpload(file: FileRecord, to: 'cancelled' | 'expired' | 'failed', reason: string): Promise<boolean> {
    const { store } = this.deps;
    if (!(await store.files.transitionState(file.id, [...IN_FLIGHT_STATES], to))) return false;
    // A restart may have moved the upload to another account or session since `file` was read.
    file = (await store.files.findById(file.id)) ?? file;
    this.hashes.drop(file.id);
    this.restarts.delete(file.id);
    await store.users.releaseStorage(file.ownerId, file.size);
    const account = file.accountId ? await store.accounts.findById(file.accountId) : null;
    if (account) await store.accounts.release(account.id, file.size);
    // The token stays: a client that reconnects learns the upload was cancelled or expired (410).
    await store.files.update(file.id, { uploadSession: null });
    if (account && file.uploadSession) {
      await this.deps.registry
        .providerFor(account)
        .abortUpload(file.uploadSession)
        .catch((err: unknown) => this.deps.logger.warn({ fileId: file.id, err }, 'could not abort the upstream session'));
    }
    this.deps.events.publish({
      type: `upload.${to}`,
      fileId: file.id,
      ownerId: file.ownerId,
      accountId: file.accountId,
      size: file.size,
      reason,
      at: this.deps.clock.now().toISOString(),
    });
    this.deps.logger.info({ fileId: file.id, state: to, reason }, 'upload ended unfinished');
    return true;
  }
}

/**
 * One writer's hold on one upload (see UploadService.open). Writes go through
 * the service so every chunk is persisted, hashed and published the same way
 * for WebSocket and HTTP clients.
 */
export class UploadCursor {
  /** Set once the member has the last byte. */
  remoteId: string | null = null;
  /** Set when a failure means this cursor must not write again (the client reconnects). */
  stale = false;

  constructor(
    private readonly service: UploadService,
    public file: FileRecord,
    readonly provider: StorageProvider | null,
    private readonly releaseLock: () => void,
  ) {}

  get committed(): number {
    return this.file.committed;
  }

  get size(): number {
    return this.file.size;
  }

  get isComplete(): boolean {
    return this.file.state === 'complete';
  }

  async write(offset: number, bytes: Buffer): Promise<void> {
    if (this.stale) throw resync(this.file.committed);
    await this.service.write(this, offset, bytes);
  }

  /** Completes the upload once every byte is committed (for a 0-byte file, sends its one empty write first). */
  async finish(): Promise<FileRecord> {
    if (this.isComplete) return this.file;
    if (this.file.size === 0 && this.remoteId === null) await this.write(0, Buffer.alloc(0));
    this.file = await this.service.finalize(this);
    return this.file;
  }

  release(): void {
    this.releaseLock();
  }
}
