import type { Logger } from '../../core/logger';
import { BullQueue } from './bull';
import { LocalQueue } from './local';
import type { JobQueue } from './types';

export { JOB, type JobName, type JobPayloads, type JobQueue } from './types';

/** Bull on Redis when REDIS_URL is set, else the in-process queue. */
export function openQueue(config: { redisUrl: string | undefined; queuePrefix: string }, logger: Logger): JobQueue {
  if (config.redisUrl) return new BullQueue({ redisUrl: config.redisUrl, prefix: config.queuePrefix }, logger);
  return new LocalQueue(logger);
}
