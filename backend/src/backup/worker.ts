import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import type { AccountRegistry } from '../pool/registry';
import { AuthRevokedError, PermanentError, ProviderError, ProviderNotFoundError, RateLimitedError, TransientError } from '../providers/errors';
import type { BackupInfo, FileRecord, MetadataStore } from '../store/types';
import { JOB, type JobQueue } from './queue/types';
import { type BackupTarget, backupRemoteId } from './target';

export interface BackupRetryPolicy {
  /** Attempts in all, the first included; after the last one a backup stays failed until an admin retries it. */
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

export interface BackupWorkerDeps {
  store: MetadataStore;
  registry: AccountRegistry;
  target: BackupTarget;
  queue: JobQueue;
  clock: Clock;
  logger: Logger;
  retry: BackupRetryPolicy;
  /** How long a claim lasts; renewed every third of it while the copy runs. */
  leaseMs: number;
  random?: () => number;
}

/** Why a copy was stopped from outside. */
type StopReason = 'shutdown' | 'lease_lost';

/** Which side of the copy a failure came from, for a reason an admin can act on. */
type Side = 'primary' | 'target' | 'verify' | 'other';

/** A failure with the side it happened on. */
class BackupFailure extends Error {
  constructor(
    readonly side: Side,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}

class Stopped extends Error {
  constructor(readonly reason: StopReason) {
    super(`backup stopped: ${reason}`);
  }
}

/** The wait before the next attempt after `attempts` failed ones: base·2^(attempts−1) plus up to one base of jitter, at most max. */
export function retryDelayMs(attempts: number, policy: BackupRetryPolicy, random: () => number = Math.random, retryAfterMs = 0): number {
  const exponential = policy.baseMs * 2 ** Math.max(0, attempts - 1) + random() * policy.baseMs;
  return Math.round(Math.min(Math.max(exponential, retryAfterMs), policy.maxMs));
}

/**
 * The JOB.backupFile handler (ARCHITECTURE.md, "Backup state machine"). The
 * file record is the truth; a job only says "look at this file":
 *
 * 1. Claim the backup with a lease (`claimBackup`): pending, failed-and-due,
 *    or running under a lapsed lease. Nothing to claim → another worker has
 *    it, or it is done: the job is a no-op (duplicate jobs are harmless).
 * 2. Stream the primary into one PUT on the target while hashing what was
 *    read; the last piece is held back until the hash matches the file's
 *    SHA-256, so a primary returning different bytes never lands as a backup.
 *    The lease is renewed every third of its length meanwhile; if a renewal
 *    finds it taken over, the copy stops and leaves the record to the new
 *    holder.
 * 3. Read the copy back from the target and hash it.
 * 4. Settle under the lease: done, or failed with a next attempt
 *    (exponential backoff with jitter, and a delayed job at that time), or
 *    failed for good (permanent errors such as a rejected password, or out of
 *    attempts) until an admin retries it.
 *
 * A file deleted meanwhile loses the fresh copy instead; a shutdown past its
 * grace period hands the claim back (`abortAll`).
 *
 * Nothing here holds more than one piece of a file in memory.
 */
export class BackupWorker {
  private readonly running = new Map<string, AbortController>();
  private stopped = false;
  private readonly random: () => number;

  constructor(private readonly deps: BackupWorkerDeps) {
    this.random = deps.random ?? Math.random;
  }

  /**
   * Stops every running copy (shutdown after its grace period): each gives
   * its claim back as `pending`, without counting the attempt, so another
   * worker can start over at once instead of waiting for the lease to lapse.
   */
  abortAll(): void {
    this.stopped = true;
    for (const controller of this.running.values()) controller.abort(new Stopped('shutdown'));
  }

  async run(fileId: string): Promise<void> {
    const { store, clock, logger } = this.deps;
    if (this.stopped) return;
    const claimedAt = clock.now();
    const file = await store.files.claimBackup(fileId, claimedAt, new Date(claimedAt.getTime() + this.deps.leaseMs));
    if (!file) {
      logger.debug({ fileId }, 'backup: nothing to claim (done, not due, or held by another worker)');
      return;
    }
    const controller = new AbortController();
    this.running.set(fileId, controller);
    const lease = new LeaseKeeper({
      store,
      clock,
      logger,
      fileId,
      lease: file.backup.leaseUntil ?? new Date(claimedAt.getTime() + this.deps.leaseMs),
      leaseMs: this.deps.leaseMs,
      onLost: () => controller.abort(new Stopped('lease_lost')),
    });
    const started = Date.now();
    let timings = { copyMs: 0, verifyMs: 0 };
    const remotePath = backupRemoteId(fileId);
    logger.info({ fileId, size: file.size, attempt: file.backup.attempts, target: this.deps.target.description }, 'backup started');
    try {
      try {
        timings = await this.copy(file, remotePath, controller.signal);
      } catch (err) {
        const heldLease = await lease.stop();
        const stop = controller.signal.aborted && controller.signal.reason instanceof Stopped ? controller.signal.reason.reason : null;
        if (stop === 'lease_lost') {
          logger.warn({ fileId }, 'backup: lease taken over by another worker; this copy stopped, its outcome is theirs');
        } else if (stop === 'shutdown') {
          // Not the file's fault: give the claim back and do not count the attempt.
          const released = await this.settle(file, heldLease, { state: 'pending', attempts: Math.max(0, file.backup.attempts - 1), leaseUntil: null });
          if (released) logger.info({ fileId }, 'backup interrupted by shutdown; released for the next worker');
        } else if (await this.deleted(fileId)) {
          // The delete job may have removed our object under us: the failure is moot.
          await this.dropCopyOfDeleted(file, heldLease, remotePath);
        } else {
          await this.fail(file, heldLease, err instanceof BackupFailure ? err : new BackupFailure('other', err));
        }
        return;
      }
      // From here on only the store can fail; if it does, the job fails, the lease lapses and the backup is redone.
      const heldLease = await lease.stop();
      if (await this.deleted(fileId)) {
        await this.dropCopyOfDeleted(file, heldLease, remotePath);
        return;
      }
      const settled = await this.settle(file, heldLease, {
        state: 'done',
        backedUpAt: clock.now(),
        remotePath,
        lastError: null,
        nextAttemptAt: null,
        leaseUntil: null,
      });
      if (settled) logger.info({ fileId, size: file.size, ms: Date.now() - started, ...timings, attempt: file.backup.attempts, remotePath }, 'backup done');
    } finally {
      await lease.stop();
      this.running.delete(fileId);
    }
  }

  private async deleted(fileId: string): Promise<boolean> {
    const now = await this.deps.store.files.findById(fileId);
    return !now || now.deletedAt !== null;
  }

  /** The file was deleted while we copied it: the copy must not outlive it. */
  private async dropCopyOfDeleted(file: FileRecord, lease: Date, remotePath: string): Promise<void> {
    const { logger } = this.deps;
    const removed = await this.deps.target.remove(remotePath).then(
      () => true,
      (err: unknown) => {
        logger.warn({ fileId: file.id, err }, 'backup: removing the copy of a deleted file failed; the delete job will');
        return false;
      },
    );
    await this.settle(file, lease, {
      state: 'failed',
      lastError: 'The file was deleted while it was being backed up',
      nextAttemptAt: null,
      leaseUntil: null,
      // A copy we could not remove stays on record, so the reconciler's delete job finds it.
      remotePath: removed ? null : remotePath,
    });
    if (removed) logger.info({ fileId: file.id }, 'backup: file deleted during the copy; copy removed');
  }

  /** Primary → target in one PUT, then the copy read back and compared. Throws BackupFailure or Stopped. */
  /** Streams the primary into the target, then verifies the copy; returns how long each took (for logs and benchmarks). */
  private async copy(file: FileRecord, remotePath: string, signal: AbortSignal): Promise<{ copyMs: number; verifyMs: number }> {
    const copyStarted = Date.now();
    const { store, registry, target } = this.deps;
    if (!file.accountId || !file.remoteId) throw new BackupFailure('primary', new PermanentError('The file has no primary copy to back up'));
    const account = await store.accounts.findById(file.accountId);
    if (!account) throw new BackupFailure('primary', new PermanentError('The storage account that holds the primary copy no longer exists'));

    let source: { stream: Readable; size: number };
    try {
      source = await registry.providerFor(account).read(file.remoteId);
    } catch (err) {
      throw new BackupFailure('primary', err);
    }
    if (source.size !== file.size) {
      source.stream.destroy();
      throw new BackupFailure('primary', new PermanentError(`The primary copy holds ${source.size} bytes, not the file's ${file.size}`));
    }

    // What went wrong on the reading side, if anything: the PUT only sees its body fail.
    let primaryFailure: BackupFailure | Stopped | null = null;
    const hash = createHash('sha256');
    const expected = file.sha256;
    const size = file.size;
    async function* content(): AsyncGenerator<Buffer> {
      let read = 0;
      try {
        for await (const chunk of source.stream) {
          if (signal.aborted) throw signal.reason;
          const piece = chunk as Buffer;
          read += piece.length;
          if (read > size) throw new BackupFailure('primary', new PermanentError(`The primary copy returned more than the file's ${size} bytes`));
          hash.update(piece);
          // The last piece goes out only once the whole file is known to be right.
          if (read === size) checkDigest();
          yield piece;
        }
        if (read !== size) throw new BackupFailure('primary', new TransientError(`The primary copy ended after ${read} of ${size} bytes`));
        if (size === 0) checkDigest();
      } catch (err) {
        primaryFailure = err instanceof BackupFailure || err instanceof Stopped ? err : new BackupFailure('primary', err);
        throw primaryFailure;
      }
    }
    const checkDigest = () => {
      const digest = hash.copy().digest('hex');
      if (expected !== null && digest !== expected) {
        throw new BackupFailure(
          'primary',
          new PermanentError(`The primary copy's bytes do not match the file's SHA-256 (read ${digest}, recorded ${expected}); it was not backed up`),
        );
      }
    };

    try {
      await target.writeObject(remotePath, content(), size, signal);
    } catch (err) {
      throw primaryFailure ?? (signal.aborted ? signal.reason : new BackupFailure('target', err));
    } finally {
      source.stream.destroy();
    }
    const written = hash.digest('hex');
    const verifyStarted = Date.now();
    await this.verify(remotePath, size, written, signal);
    return { copyMs: verifyStarted - copyStarted, verifyMs: Date.now() - verifyStarted };
  }

  /** Reads the copy back from the target: it must be exactly the bytes we sent. */
  private async verify(remotePath: string, size: number, digest: string, signal: AbortSignal): Promise<void> {
    const hash = createHash('sha256');
    let read = 0;
    try {
      const { stream, size: stored } = await this.deps.target.read(remotePath);
      try {
        if (stored !== size) throw new TransientError(`The backup server holds ${stored} bytes instead of ${size}`);
        for await (const chunk of stream) {
          if (signal.aborted) throw signal.reason;
          hash.update(chunk as Buffer);
          read += (chunk as Buffer).length;
        }
      } finally {
        stream.destroy();
      }
    } catch (err) {
      if (err instanceof Stopped) throw err;
      // Gone right after the server said it had it: worth another try, not a reason to give up.
      if (err instanceof ProviderNotFoundError) throw new BackupFailure('verify', new TransientError(`The copy is not on the backup server after the PUT: ${err.message}`));
      throw new BackupFailure('verify', err);
    }
    const got = hash.digest('hex');
    if (read !== size || got !== digest) {
      throw new BackupFailure('verify', new TransientError(`The copy read back from the backup server does not match (${read} bytes, SHA-256 ${got})`));
    }
  }

  /** Records a failed attempt: retried later with backoff, or failed for good. */
  private async fail(file: FileRecord, lease: Date, failure: BackupFailure): Promise<void> {
    const { clock, logger, retry } = this.deps;
    const attempts = file.backup.attempts;
    const error = failure.error;
    const permanent = error instanceof ProviderError && !error.retryable;
    const reason = describe(failure);
    if (permanent || attempts >= retry.maxAttempts) {
      const lastError = permanent ? reason : `${reason} (gave up after ${attempts} attempts)`;
      if (await this.settle(file, lease, { state: 'failed', lastError, nextAttemptAt: null, leaseUntil: null })) {
        logger.error({ fileId: file.id, attempts, permanent, reason: lastError }, 'backup failed; waiting for an admin to retry it');
      }
      return;
    }
    const delay = retryDelayMs(attempts, retry, this.random, error instanceof RateLimitedError ? error.retryAfterMs : 0);
    const nextAttemptAt = new Date(clock.now().getTime() + delay);
    if (!(await this.settle(file, lease, { state: 'failed', lastError: reason, nextAttemptAt, leaseUntil: null }))) return;
    logger.warn({ fileId: file.id, attempts, nextAttemptAt, reason }, 'backup attempt failed; will retry');
    // Its own id: the job now running still holds the plain one, and Bull ignores an add of a running id.
    await this.deps.queue
      .enqueue(JOB.backupFile, { fileId: file.id }, { delayMs: delay, jobId: `${JOB.backupFile}:${file.id}:attempt-${attempts + 1}` })
      .catch((err: unknown) => logger.warn({ fileId: file.id, err }, 'backup: could not queue the retry; the reconciler will when it is due'));
  }

  /** Applies `patch` under our lease; false (logged) when the claim was taken over in the meantime. */
  private async settle(file: FileRecord, lease: Date, patch: Partial<BackupInfo>): Promise<boolean> {
    const applied = await this.deps.store.files.settleBackup(file.id, lease, patch);
    if (!applied) this.deps.logger.warn({ fileId: file.id, state: patch.state }, 'backup: the claim was taken over; outcome not recorded');
    return applied;
  }
}

/** A reason for `lastError` that says which side failed and what to do about it. */
function describe(failure: BackupFailure): string {
  const { side, error } = failure;
  const message = error instanceof Error ? error.message : String(error);
  if (side === 'target' && error instanceof AuthRevokedError) {
    return `The backup server rejected the username and password (BACKUP_WEBDAV_USERNAME / BACKUP_WEBDAV_PASSWORD): ${message}`;
  }
  const where = { primary: 'Reading the primary copy', target: 'Writing to the backup server', verify: 'Verifying the copy', other: 'The backup' }[side];
  return `${where} failed: ${message}`;
}

/**
 * Keeps a backup claim alive while a copy runs: every third of the lease it
 * pushes `leaseUntil` forward under the current lease. A renewal that does not
 * apply means someone else holds the claim now (`onLost`). `stop` waits for a
 * renewal in flight, so the caller settles with the lease the store has.
 */
class LeaseKeeper {
  private current: Date;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly o: {
      store: MetadataStore;
      clock: Clock;
      logger: Logger;
      fileId: string;
      lease: Date;
      leaseMs: number;
      onLost: () => void;
    },
  ) {
    this.current = o.lease;
    this.schedule();
  }

  async stop(): Promise<Date> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
    return this.current;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.renew().finally(() => this.schedule());
    }, Math.max(10, Math.floor(this.o.leaseMs / 3)));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    const next = new Date(this.o.clock.now().getTime() + this.o.leaseMs);
    try {
      if (await this.o.store.files.settleBackup(this.o.fileId, this.current, { leaseUntil: next })) {
        this.current = next;
      } else {
        this.stopped = true;
        this.o.onLost();
      }
    } catch (err) {
      // The store hiccuped: keep the old lease and try again next time; it may still be valid.
      this.o.logger.warn({ fileId: this.o.fileId, err }, 'backup: renewing the lease failed');
    }
  }
}
