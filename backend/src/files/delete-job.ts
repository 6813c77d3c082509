import type { JobHandler } from '../backup/queue/types';
import { backupRemoteId, type BackupTarget } from '../backup/target';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import type { StorageProvider } from '../providers/types';
import type { AccountRecord, FileRecord, MetadataStore } from '../store/types';

export interface DeleteJobDeps {
  store: MetadataStore;
  registry: { providerFor(account: AccountRecord): StorageProvider };
  /** Null when no backup target is configured in this process: backup copies then wait for one that has it. */
  backupTarget: BackupTarget | null;
  logger: Logger;
  clock: Clock;
}

/** What one run did with each copy. */
export type CopyOutcome = 'removed' | 'none' | 'left' | 'forgotten';

/**
 * The `file.delete` job (JOB.deleteFile): removes a deleted file's primary
 * copy (freeing its account's used bytes) and its backup copy, forgetting
 * each location as it goes. Register it with
 * `queue.process(JOB.deleteFile, concurrency, createDeleteFileJob(deps))`.
 *
 * Idempotent and safe to run twice at once: removals are idempotent at the
 * provider, and the store's compare-and-set (`forgetCopy`) lets exactly one
 * run count a copy as gone, so an account's space is freed once. A copy that
 * cannot be removed now (account unreachable, no backup target configured
 * here, server errors) is left in place with its location recorded: the
 * reconciler's `listDeletedWithCopies` brings the job back for it.
 */
export function createDeleteFileJob(deps: DeleteJobDeps): JobHandler<'file.delete'> {
  return async ({ fileId }) => {
    await removeCopies(deps, fileId);
  };
}

export async function removeCopies(deps: DeleteJobDeps, fileId: string): Promise<{ primary: CopyOutcome; backup: CopyOutcome }> {
  const file = await deps.store.files.findById(fileId);
  // Only deleted files lose their copies: a stray or forged job for a live file does nothing.
  if (!file || file.deletedAt === null) return { primary: 'none', backup: 'none' };
  const primary = await removePrimary(deps, file);
  const backup = await removeBackup(deps, file);
  deps.logger.info({ fileId, primary, backup }, 'deleted file: copies processed');
  return { primary, backup };
}

async function removePrimary(deps: DeleteJobDeps, file: FileRecord): Promise<CopyOutcome> {
  const { store, logger } = deps;
  const remoteId = file.remoteId;
  if (remoteId === null) return 'none';
  const account = file.accountId === null ? null : await store.accounts.findById(file.accountId);
  if (!account) {
    // The account was removed from the pool (files are detached first): nobody can reach this copy any more.
    if (await store.files.forgetCopy(file.id, 'primary', remoteId)) {
      logger.warn({ fileId: file.id, accountId: file.accountId }, 'deleted file: its storage account is gone, the primary copy is forgotten');
    }
    return 'forgotten';
  }
  try {
    await deps.registry.providerFor(account).remove(remoteId);
  } catch (err) {
    logger.warn({ fileId: file.id, accountId: account.id, err }, 'deleted file: could not remove the primary copy yet');
    return 'left';
  }
  // Bytes of a complete upload count as used on the account; unfinished uploads never got there.
  if ((await store.files.forgetCopy(file.id, 'primary', remoteId)) && file.state === 'complete') {
    await store.accounts.freeUsed(account.id, file.size);
  }
  return 'removed';
}

async function removeBackup(deps: DeleteJobDeps, file: FileRecord): Promise<CopyOutcome> {
  const recorded = file.backup.remotePath;
  // A backup that got as far as writing may have left an object even if it never recorded its path.
  const attempted = file.backup.state === 'running' || file.backup.state === 'done' || file.backup.state === 'failed';
  const path = recorded ?? (attempted ? backupRemoteId(file.id) : null);
  if (path === null) return 'none';
  const target = deps.backupTarget;
  if (!target) {
    if (recorded !== null) deps.logger.warn({ fileId: file.id }, 'deleted file: no backup target is configured here; its backup copy waits');
    return recorded !== null ? 'left' : 'none';
  }
  try {
    await target.remove(path);
  } catch (err) {
    deps.logger.warn({ fileId: file.id, err }, 'deleted file: could not remove the backup copy yet');
    return 'left';
  }
  if (recorded !== null) await deps.store.files.forgetCopy(file.id, 'backup', recorded);
  const lease = file.backup.leaseUntil;
  if (file.backup.state === 'running' && lease !== null && lease.getTime() < deps.clock.now().getTime()) {
    // Its worker died mid-copy (a live one would see the delete and clean up itself): end that backup,
    // so the reconciler stops bringing this file back. Only while the lapsed claim is still the latest.
    await deps.store.files.settleBackup(file.id, lease, {
      state: 'failed',
      lastError: 'The file was deleted while it was being backed up',
      nextAttemptAt: null,
      leaseUntil: null,
      remotePath: null,
    });
  }
  return 'removed';
}
