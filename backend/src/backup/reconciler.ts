import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import type { EventBus } from '../realtime/event-bus';
import type { MetadataStore } from '../store/types';
import { JOB, type JobName, type JobQueue } from './queue/types';

/**
 * How many ids one pass enqueues per kind. Re-adding a queued id is a no-op
 * (jobId dedupe), so a backlog larger than this simply takes a few passes:
 * the oldest work is listed first and leaves the list as it is done.
 */
export const RECONCILE_BATCH = 2_000;
/** Adds in flight at once: enough to hide Redis round trips, few enough not to flood it. */
const ENQUEUE_PARALLELISM = 16;
/** Running backups looked at per pass for lapsed leases: at most the workers' total concurrency are running. */
const RUNNING_SCAN = 1_000;

export interface ReconcileOutcome {
  /** Files from before the target existed, made pending this pass. */
  requeued: number;
  backups: number;
  deletions: number;
}

/**
 * Compares the store with the queue: the store says what needs doing, the
 * queue may have lost it (Redis flushed or replaced, an in-process queue gone
 * with its process, a worker killed mid-job). Runs at startup and every
 * RECONCILE_INTERVAL_SECONDS wherever workers run. Each pass:
 *
 * - with a backup target: files still `disabled` (from before the target was
 *   configured) become `pending`; every backup a worker could claim now
 *   (pending, failed and due, running under a lapsed lease) is enqueued;
 * - every deleted file that still has a copy somewhere gets a delete job.
 *
 * Enqueueing is idempotent, so passes can repeat freely.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly deps: {
      store: MetadataStore;
      queue: JobQueue;
      clock: Clock;
      logger: Logger;
      /** Whether a backup target is configured (without one, backups are left alone). */
      backups: boolean;
      batchSize?: number;
    },
  ) {}

  /** First pass now, then every `intervalMs` (0: only the first). */
  start(intervalMs: number): void {
    if (this.timer || this.stopped) return;
    this.trigger();
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.trigger(), intervalMs);
      this.timer.unref();
    }
  }

  /** Stops the schedule and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pass;
  }

  /** One pass, unless one is already running (then that one's end). */
  private trigger(): void {
    if (this.pass || this.stopped) return;
    this.pass = this.runOnce()
      .then(
        () => undefined,
        (err: unknown) => this.deps.logger.warn({ err }, 'reconcile pass failed; the next one tries again'),
      )
      .finally(() => {
        this.pass = null;
      });
  }

  async runOnce(): Promise<ReconcileOutcome> {
    const { store, clock, logger } = this.deps;
    const limit = this.deps.batchSize ?? RECONCILE_BATCH;
    const outcome: ReconcileOutcome = { requeued: 0, backups: 0, deletions: 0 };
    if (this.deps.backups) {
      outcome.requeued = await store.files.requeueBackups(['disabled']);
      if (outcome.requeued > 0) logger.info({ files: outcome.requeued }, 'backup target configured: files from before it are now pending');
      outcome.backups = await this.enqueueDueBackups(limit);
    }
    const deleted = await store.files.listDeletedWithCopies(clock.now(), limit);
    outcome.deletions = await enqueueAll(this.deps.queue, JOB.deleteFile, deleted.map((fileId) => ({ fileId })));
    if (outcome.backups > 0 || outcome.deletions > 0) logger.debug({ ...outcome, at: clock.now() }, 'reconcile pass enqueued work');
    return outcome;
  }

  /**
   * Enqueues every backup a worker could claim now (up to `limit`); returns how many.
   *
   * A backup whose worker died is `running` under a lapsed lease, and its job
   * may still sit in Redis as active until Bull notices the dead worker (its
   * lock expires, then a stalled-job check runs): an add under the usual id
   * would be ignored meanwhile. Those get an id naming the lapsed lease, so
   * the take-over does not wait for Bull.
   */
  async enqueueDueBackups(limit: number = this.deps.batchSize ?? RECONCILE_BATCH): Promise<number> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const due = await store.files.listBackupDue(now, limit);
    if (due.length === 0) return 0;
    const lapsed = new Map<string, number>();
    const running = await store.files.listByBackupState({ state: 'running', offset: 0, limit: RUNNING_SCAN });
    for (const file of running.items) {
      const lease = file.backup.leaseUntil?.getTime();
      if (lease !== undefined && lease < now.getTime()) lapsed.set(file.id, lease);
    }
    return enqueueAll(
      this.deps.queue,
      JOB.backupFile,
      due.map((fileId) => {
        const lease = lapsed.get(fileId);
        return lease === undefined ? { fileId } : { fileId, jobId: `${JOB.backupFile}:${fileId}:lapsed-${lease}` };
      }),
    );
  }
}

/**
 * Adds one job per entry (by default under the usual job id, so work already
 * queued is skipped by the queue). Stops at the first failure — Redis is down, and hundreds more
 * timeouts would tell nothing new — and rejects with how far it got.
 */
export async function enqueueAll(queue: JobQueue, name: JobName, jobs: Array<{ fileId: string; jobId?: string }>): Promise<number> {
  let added = 0;
  for (let i = 0; i < jobs.length; i += ENQUEUE_PARALLELISM) {
    const batch = jobs.slice(i, i + ENQUEUE_PARALLELISM);
    const results = await Promise.allSettled(
      batch.map(({ fileId, jobId }) => queue.enqueue(name, { fileId }, jobId === undefined ? {} : { jobId })),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    added += results.filter((r) => r.status === 'fulfilled').length;
    if (failed) {
      throw new Error(`Queued ${added} of ${jobs.length} ${name} jobs, then the queue failed: ${String(failed.reason)}`, { cause: failed.reason });
    }
  }
  return added;
}

/**
 * A finished upload's backup is queued at once instead of at the next
 * reconcile pass. Runs in every API process (the upload completes there);
 * the job itself runs wherever workers do. Returns the unsubscribe function.
 */
export function backupCompletedUploads(deps: { events: EventBus; queue: JobQueue; logger: Logger }): () => void {
  return deps.events.subscribe((event) => {
    if (event.type !== 'upload.completed') return;
    deps.queue
      .enqueue(JOB.backupFile, { fileId: event.fileId })
      .catch((err: unknown) => deps.logger.warn({ fileId: event.fileId, err }, 'could not queue the backup of a new upload; the reconciler will'));
  });
}
