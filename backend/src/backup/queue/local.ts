import type { Logger } from '../../core/logger';
import type { EnqueueOptions, JobHandler, JobName, JobPayloads, JobQueue } from './types';

interface LocalJob {
  id: string;
  name: JobName;
  payload: JobPayloads[JobName];
  timer?: NodeJS.Timeout;
}

/**
 * The embedded default: jobs live in this process's memory, so they vanish
 * when it stops — which is fine, because the store says what still needs
 * doing and the reconciler re-enqueues it at the next start.
 */
export class LocalQueue implements JobQueue {
  readonly kind = 'local' as const;
  private readonly waiting = new Map<JobName, LocalJob[]>();
  private readonly delayed = new Map<string, LocalJob>();
  private readonly handlers = new Map<JobName, { handler: JobHandler<JobName>; concurrency: number; running: number }>();
  private readonly known = new Set<string>();
  private readonly active = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly logger: Logger) {}

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options: EnqueueOptions = {}): Promise<void> {
    if (this.closed) throw new Error('The job queue is closed');
    const id = options.jobId ?? `${name}:${payload.fileId}`;
    // Like Bull: a job with the same id that has not run yet is not added twice.
    if (this.known.has(id)) return;
    this.known.add(id);
    const job: LocalJob = { id, name, payload };
    if (options.delayMs && options.delayMs > 0) {
      job.timer = setTimeout(() => {
        this.delayed.delete(id);
        this.push(job);
      }, options.delayMs);
      job.timer.unref();
      this.delayed.set(id, job);
      return;
    }
    this.push(job);
  }

  process<N extends JobName>(name: N, concurrency: number, handler: JobHandler<N>): void {
    this.handlers.set(name, { handler: handler as JobHandler<JobName>, concurrency: Math.max(1, concurrency), running: 0 });
    this.drain(name);
  }

  async pending(name: JobName): Promise<number> {
    return (this.waiting.get(name)?.length ?? 0) + [...this.delayed.values()].filter((j) => j.name === name).length;
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('The job queue is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.delayed.values()) clearTimeout(job.timer);
    this.delayed.clear();
    this.waiting.clear();
    await Promise.allSettled([...this.active]);
  }

  private push(job: LocalJob): void {
    if (this.closed) return;
    const list = this.waiting.get(job.name) ?? [];
    list.push(job);
    this.waiting.set(job.name, list);
    this.drain(job.name);
  }

  private drain(name: JobName): void {
    const slot = this.handlers.get(name);
    const list = this.waiting.get(name);
    if (!slot || !list) return;
    while (!this.closed && slot.running < slot.concurrency && list.length > 0) {
      const job = list.shift()!;
      // From here on a new job with the same id may be queued (the work may need doing again).
      this.known.delete(job.id);
      slot.running++;
      const run = slot
        .handler(job.payload)
        .catch((err: unknown) => this.logger.error({ err, job: job.name, id: job.id }, 'job failed'))
        .finally(() => {
          slot.running--;
          this.active.delete(run);
          this.drain(name);
        });
      this.active.add(run);
    }
  }
}
