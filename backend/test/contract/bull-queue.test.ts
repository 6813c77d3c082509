import net from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { BullQueue } from '../../src/backup/queue/bull';
import { JOB } from '../../src/backup/queue/types';
import { createLogger } from '../../src/core/logger';
import { redisPrefix } from '../support/redis';
import { describeQueueContract } from './queue.contract';

const silent = createLogger('silent');

describeQueueContract('Bull on Redis', {
  async open() {
    const redis = await redisPrefix();
    return { queue: new BullQueue({ redisUrl: redis.url, prefix: redis.prefix }, silent), dispose: () => redis.cleanup() };
  },
});

/** A loopback port with nothing listening: Redis "down". */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Bull queue specifics', () => {
  it('keeps every key under its prefix, and a job added by one process is run by another', async () => {
    const redis = await redisPrefix();
    const api = new BullQueue({ redisUrl: redis.url, prefix: redis.prefix }, silent);
    const worker = new BullQueue({ redisUrl: redis.url, prefix: redis.prefix }, silent);
    try {
      await api.enqueue(JOB.backupFile, { fileId: 'shared' });
      expect(await worker.pending(JOB.backupFile)).toBe(1);
      const keys = await redis.keys();
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((k) => k.startsWith(`${redis.prefix}:backup.file:`))).toBe(true);
      const seen: string[] = [];
      worker.process(JOB.backupFile, 1, async ({ fileId }) => {
        seen.push(fileId);
      });
      await vi.waitFor(() => expect(seen).toEqual(['shared']), { timeout: 5_000, interval: 20 });
    } finally {
      await api.close();
      await worker.close();
      await redis.cleanup();
    }
  });

  it('survives Redis being unreachable: enqueue and ping reject quickly, errors are logged once, close returns', async () => {
    const lines: string[] = [];
    const logger = createLogger(
      'warn',
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const queue = new BullQueue({ redisUrl: `redis://127.0.0.1:${await deadPort()}`, prefix: 'ddx-test-down' }, logger);
    queue.process(JOB.backupFile, 2, async () => undefined);
    const started = Date.now();
    await expect(queue.enqueue(JOB.backupFile, { fileId: 'x' })).rejects.toThrow();
    await expect(queue.ping()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const redisErrors = lines.filter((l) => l.includes('Redis error'));
    expect(redisErrors.length).toBeGreaterThanOrEqual(1);
    // One line per queue per interval, not one per reconnect attempt.
    expect(redisErrors.length).toBeLessThanOrEqual(2);
    const closing = Date.now();
    await queue.close();
    expect(Date.now() - closing).toBeLessThan(7_000);
  });
});
