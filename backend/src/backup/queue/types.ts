/**
 * The job queue (ARCHITECTURE.md, "Interfaces that carry the design"): Bull on
 * Redis when REDIS_URL is set, an in-process queue otherwise. A queue only
 * dispatches: whether a job still needs doing is decided by the file record in
 * the metadata store, so losing queued jobs (Redis flushed, a worker killed)
 * costs time, never data — the reconciler re-enqueues from the store. Retries
 * are scheduled by the job logic (as delayed jobs, recorded in the store), not
 * by the queue, so both adapters behave the same.
 */

/** Job names, one constant each. */
export const JOB = {
  /** Copy a complete file's primary to the backup target and verify it. */
  backupFile: 'backup.file',
  /** Remove a deleted file's primary and backup copies. */
  deleteFile: 'file.delete',
} as const;

export type JobName = (typeof JOB)[keyof typeof JOB];

/** The payload of each job. */
export interface JobPayloads {
  'backup.file': { fileId: string };
  'file.delete': { fileId: string };
}

export interface EnqueueOptions {
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  /**
   * A job with this id that is still waiting (or delayed) is not added again,
   * so the reconciler can re-enqueue freely. Default: `<name>:<payload id>`.
   */
  jobId?: string;
}

export type JobHandler<N extends JobName> = (payload: JobPayloads[N]) => Promise<void>;

export interface JobQueue {
  readonly kind: 'bull' | 'local';
  /** Adds a job. Rejects when the queue cannot be reached (callers log it; the reconciler catches up). */
  enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options?: EnqueueOptions): Promise<void>;
  /**
   * Runs `handler` for jobs of `name`, at most `concurrency` at once in this
   * process. A handler that throws has its job dropped (logged): retrying is
   * the handler's own decision, recorded in the store.
   */
  process<N extends JobName>(name: N, concurrency: number, handler: JobHandler<N>): void;
  /** Jobs of `name` waiting or delayed (admin views, tests). */
  pending(name: JobName): Promise<number>;
  /** Throws when the queue cannot be reached (used by /readyz). */
  ping(): Promise<void>;
  /** Stops taking jobs, waits for running handlers, closes connections. */
  close(): Promise<void>;
}
