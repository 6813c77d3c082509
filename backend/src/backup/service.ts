import type { Clock } from '../core/clock';
import { ConflictError, NotFoundError } from '../core/errors';
import type { Logger } from '../core/logger';
import { type FileView, toFileView } from '../files/view';
import type { BackupState, FileRecord, MetadataStore, Page } from '../store/types';
import { JOB, type JobQueue } from './queue/types';
import type { Reconciler } from './reconciler';
import type { BackupTarget } from './target';

/** Who did it, for the audit log. */
export interface Actor {
  id: string | null;
  ip: string | null;
}

/** The file object plus where its copies live: admins only (ARCHITECTURE.md, "file object"). */
export interface AdminBackupView extends Omit<FileView, 'backup'> {
  ownerId: string;
  accountId: string | null;
  remoteId: string | null;
  backup: FileView['backup'] & { remotePath: string | null; nextAttemptAt: string | null; leaseUntil: string | null };
}

export function toAdminBackupView(file: FileRecord): AdminBackupView {
  const view = toFileView(file);
  return {
    ...view,
    ownerId: file.ownerId,
    accountId: file.accountId,
    remoteId: file.remoteId,
    backup: {
      ...view.backup,
      // Admins get the recorded error itself, with the server and path it names.
      lastError: file.backup.lastError,
      remotePath: file.backup.remotePath,
      nextAttemptAt: file.backup.nextAttemptAt?.toISOString() ?? null,
      leaseUntil: file.backup.leaseUntil?.toISOString() ?? null,
    },
  };
}

/** Ceiling of one run-missing: far above any backlog we expect, and the reconciler enqueues whatever is left. */
const RUN_MISSING_LIMIT = 100_000;

/** The admin backup API's logic (`/api/v1/admin/backups`); the routes are a thin layer over it. */
export class BackupAdmin {
  constructor(
    private readonly deps: {
      store: MetadataStore;
      queue: JobQueue;
      target: BackupTarget | null;
      reconciler: Reconciler;
      clock: Clock;
      logger: Logger;
    },
  ) {}

  summary(): Promise<Record<BackupState, number>> {
    return this.deps.store.files.countByBackupState();
  }

  async list(query: { state?: BackupState; page: number; limit: number }): Promise<Page<AdminBackupView>> {
    const page = await this.deps.store.files.listByBackupState({
      offset: (query.page - 1) * query.limit,
      limit: query.limit,
      ...(query.state ? { state: query.state } : {}),
    });
    return { items: page.items.map(toAdminBackupView), total: page.total };
  }

  /**
   * Backs one file up again (after a permanent failure was fixed) with a
   * fresh set of attempts. A file whose copy is verified (`done`) is refused:
   * re-copying would take its fallback away while it runs, and over a copy
   * that may be the only readable one.
   */
  async retry(fileId: string, actor: Actor): Promise<AdminBackupView> {
    const { store, clock, logger } = this.deps;
    const file = await store.files.findById(fileId);
    if (!file || file.deletedAt) throw new NotFoundError('No such file', 'file_not_found');
    this.requireTarget();
    if (file.state !== 'complete') throw new ConflictError('file_not_complete', `Only complete files are backed up; this one is ${file.state}`);
    if (file.backup.state === 'done') throw new ConflictError('backup_done', 'This file already has a verified backup copy');
    const lease = file.backup.leaseUntil;
    if (file.backup.state === 'running' && lease && lease.getTime() > clock.now().getTime()) {
      throw new ConflictError('backup_running', 'This file is being backed up right now');
    }
    await store.files.update(fileId, { backup: { state: 'pending', attempts: 0, lastError: null, nextAttemptAt: null, leaseUntil: null } });
    const queued = (await this.enqueue(() => this.deps.queue.enqueue(JOB.backupFile, { fileId }))) !== false;
    await store.audit.append({
      actorId: actor.id,
      action: 'backup.retry',
      targetType: 'file',
      targetId: fileId,
      ip: actor.ip,
      details: { previousState: file.backup.state, attempts: file.backup.attempts, queued },
    });
    logger.info({ fileId, previousState: file.backup.state, actor: actor.id }, 'backup retry requested');
    return toAdminBackupView((await store.files.findById(fileId)) ?? file);
  }

  /** Every live, complete file without a good copy (pending, failed, disabled) becomes pending and is queued. */
  async runMissing(actor: Actor): Promise<{ queued: number }> {
    const { store, logger } = this.deps;
    this.requireTarget();
    const queued = await store.files.requeueBackups(['pending', 'failed', 'disabled']);
    const enqueued = (await this.enqueue(() => this.deps.reconciler.enqueueDueBackups(Math.min(Math.max(queued, 1), RUN_MISSING_LIMIT)))) || 0;
    await store.audit.append({
      actorId: actor.id,
      action: 'backup.run_missing',
      targetType: null,
      targetId: null,
      ip: actor.ip,
      details: { queued, enqueued },
    });
    logger.info({ queued, actor: actor.id }, 'backup of every missing copy requested');
    return { queued };
  }

  private requireTarget(): void {
    if (!this.deps.target) throw new ConflictError('backup_not_configured', 'No backup target is configured (set BACKUP_WEBDAV_URL)');
  }

  /**
   * The store already says the work is pending, so a queue that cannot be
   * reached only delays it until the reconciler's next pass: logged, not an error.
   */
  private async enqueue<T>(work: () => Promise<T>): Promise<T | false> {
    try {
      return await work();
    } catch (err) {
      this.deps.logger.warn({ err }, 'backup: the queue is unreachable; the reconciler will enqueue this work');
      return false;
    }
  }
}
