import { createLogger } from '../../src/core/logger';
import { LocalQueue } from '../../src/backup/queue/local';
import { describeQueueContract } from './queue.contract';

describeQueueContract('in-process', {
  async open() {
    return { queue: new LocalQueue(createLogger('silent')), dispose: async () => undefined };
  },
});
