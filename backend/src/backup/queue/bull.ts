import Bull from 'bull';
import Redis, { type RedisOptions } from 'ioredis';
import type { Logger } from '../../core/logger';
import type { EnqueueOptions, JobHandler, JobName, JobPayloads, JobQueue } from './types';

export interface BullQueueOptions {
  redisUrl: string;
  /** Prefix of every key (QUEUE_PREFIX): deployments and test runs sharing one Redis never see each other's jobs. */
  prefix: string;
  /** How long one Redis command may take before it fails (enqueue, ping); a hung Redis must not hang callers. */
  commandTimeoutMs?: number;
}

/** Reconnect quickly (capped) so dispatch resumes soon after Redis comes back. */
const reconnectDelay = (times: number): number => Math.min(times * 200, 2_000);
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
/** After running handlers finish, Bull gets this long to disconnect cleanly before its sockets are cut. */
const DISCONNECT_TIMEOUT_MS = 5_000;
/** Redis errors repeat on every reconnect attempt while it is down: log one per queue per this interval. */
const ERROR_LOG_INTERVAL_MS = 30_000;

/**
 * The production queue: one Bull queue per job name on Redis (`REDIS_URL`),
 * keys under `QUEUE_PREFIX`.
 *
 * - Dedupe: `jobId` (default `<name>:<fileId>`) makes an add a no-op while a
 *   job with that id exists; finished jobs are removed at once
 *   (`removeOnComplete`/`removeOnFail`), so the same id can be queued again
 *   when the work needs doing again. Bull also ignores an add while that id is
 *   running, which is why retries use their own ids (see backup/worker.ts).
 * - Handlers never throw into Bull: a failure is logged and the job dropped,
 *   like the in-process queue; retries are the job logic's, kept in the store.
 * - Redis down: the process keeps running. Connection errors are logged (one
 *   line per queue per interval, not one per reconnect attempt), `enqueue` and
 *   `ping` reject within `commandTimeoutMs` or after one failed reconnect, and
 *   workers resume once Redis is back. Nothing durable is lost: the reconciler
 *   re-enqueues from the store.
 */
export class BullQueue implements JobQueue {
  readonly kind = 'bull' as const;
  private readonly queues = new Map<JobName, Bull.Queue>();
  private readonly active = new Set<Promise<void>>();
  private readonly lastErrorLog = new Map<JobName, number>();
  /** Connections we made for Bull: with `createClient`, Bull leaves closing them to us. */
  private readonly clients: Redis[] = [];
  private readonly redis: RedisOptions;
  private readonly commandTimeoutMs: number;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: BullQueueOptions,
    private readonly logger: Logger,
  ) {
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.redis = redisOptionsFromUrl(options.redisUrl);
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options: EnqueueOptions = {}): Promise<void> {
    if (this.closing) throw new Error('The job queue is closed');
    const jobId = options.jobId ?? `${name}:${payload.fileId}`;
    const delay = options.delayMs && options.delayMs > 0 ? Math.ceil(options.delayMs) : undefined;
    await withTimeout(
      this.queue(name).add(payload, {
        jobId,
        ...(delay !== undefined ? { delay } : {}),
        attempts: 1,
        removeOnComplete: true,
        removeOnFail: true,
      }),
      this.commandTimeoutMs,
      `Adding a ${name} job to Redis`,
    );
  }

  process<N extends JobName>(name: N, concurrency: number, handler: JobHandler<N>): void {
    if (this.closing) throw new Error('The job queue is closed');
    const queue = this.queue(name);
    const run = async (job: Bull.Job<unknown>): Promise<void> => {
      const payload = job.data as Partial<JobPayloads[N]> | null;
      if (!payload || typeof payload.fileId !== 'string') {
        this.logger.error({ job: name, id: job.id }, 'job with an unusable payload dropped');
        return;
      }
      const running = handler(payload as JobPayloads[N]).catch((err: unknown) => {
        this.logger.error({ err, job: name, id: job.id }, 'job failed');
      });
      this.active.add(running);
      try {
        await running;
      } finally {
        this.active.delete(running);
      }
    };
    // `process` resolves only when the queue closes, and rejects if it cannot start; either way, log.
    queue.process(Math.max(1, Math.floor(concurrency)), run).catch((err: unknown) => {
      if (!this.closing) this.logger.error({ err, job: name }, 'job worker stopped');
    });
  }

  async pending(name: JobName): Promise<number> {
    const queue = this.queue(name);
    const [waiting, delayed] = await withTimeout(
      Promise.all([queue.getWaitingCount(), queue.getDelayedCount()]),
      this.commandTimeoutMs,
      'Counting queued jobs in Redis',
    );
    return waiting + delayed;
  }

  async ping(): Promise<void> {
    if (this.closing) throw new Error('The job queue is closed');
    // Any queue's command connection will do: they all talk to the same Redis.
    await withTimeout(this.queue('backup.file').client.ping(), this.commandTimeoutMs, 'Redis PING');
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Bull's close stops taking jobs at once, then waits for the running ones.
      const closes = [...this.queues.values()].map((q) => q.close().catch((err: unknown) => this.logger.warn({ err }, 'closing a queue failed')));
      await Promise.allSettled([...this.active]);
      // With Redis unreachable Bull may wait for it forever; our handlers are done, so give up after a while.
      await withTimeout(Promise.all(closes), DISCONNECT_TIMEOUT_MS, 'Closing the queues').catch(() => undefined);
      await Promise.all(
        this.clients.map((client) =>
          withTimeout(client.quit(), 500, 'QUIT')
            .catch(() => undefined)
            .finally(() => client.disconnect()),
        ),
      );
    })();
    return this.closing;
  }

  private queue(name: JobName): Bull.Queue {
    const existing = this.queues.get(name);
    if (existing) return existing;
    const queue = new Bull(name, {
      prefix: this.options.prefix,
      createClient: (type) => this.connect(type),
      settings: {
        // After a Redis hiccup mid-job (or a flushed Redis), try fetching again soon, not after 5 s.
        retryProcessDelay: 500,
      },
    });
    queue.on('error', (err: Error) => this.logRedisError(name, err));
    this.queues.set(name, queue);
    return queue;
  }

  private connect(type: 'client' | 'subscriber' | 'bclient'): Redis {
    const common: RedisOptions = { ...this.redis, retryStrategy: reconnectDelay, connectTimeout: this.commandTimeoutMs };
    const client =
      type === 'client'
        ? // Commands fail after one failed reconnect instead of queueing for minutes: callers learn
          // quickly that Redis is down (the store keeps the truth); a slow Redis fails them by timeout.
          new Redis({ ...common, maxRetriesPerRequest: 1, commandTimeout: this.commandTimeoutMs, enableReadyCheck: true })
        : // Bull requires these for its blocking and subscriber connections.
          new Redis({ ...common, maxRetriesPerRequest: null, enableReadyCheck: false });
    this.clients.push(client);
    return client;
  }

  private logRedisError(name: JobName, err: Error): void {
    const now = Date.now();
    if (now - (this.lastErrorLog.get(name) ?? 0) < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLog.set(name, now);
    this.logger.warn({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, queue: name }, 'job queue: Redis error');
  }
}

/** ioredis options from a `redis://` / `rediss://` URL (user, password, database number, TLS). */
function redisOptionsFromUrl(raw: string): RedisOptions {
  const url = new URL(raw);
  const db = url.pathname.replace(/^\//, '');
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
