import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';

/**
 * The real Redis the Bull tests use (127.0.0.1:6379 unless TEST_REDIS_URL
 * says otherwise). Redis is shared by every test file running in parallel,
 * so each test works under its own key prefix and only ever deletes its own
 * keys — never FLUSHDB.
 */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface RedisPrefix {
  url: string;
  /** QUEUE_PREFIX for this test: `ddx-test-<random>`. */
  prefix: string;
  /** Keys under the prefix. */
  keys(): Promise<string[]>;
  /** Deletes every key under the prefix (what a flushed or replaced Redis looks like to us); returns how many. */
  deleteKeys(): Promise<number>;
  /** Deletes the keys and closes the connection. */
  cleanup(): Promise<void>;
}

export async function redisPrefix(): Promise<RedisPrefix> {
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw new Error(
      `The Bull queue tests need a Redis server at ${TEST_REDIS_URL} (Debian package redis-server; or set TEST_REDIS_URL): ${String(err)}`,
    );
  }
  const prefix = `ddx-test-${randomBytes(6).toString('hex')}`;
  const keys = async () => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  };
  const deleteKeys = async () => {
    const found = await keys();
    if (found.length > 0) await client.unlink(...found);
    return found.length;
  };
  return {
    url: TEST_REDIS_URL,
    prefix,
    keys,
    deleteKeys,
    async cleanup() {
      try {
        await deleteKeys();
      } finally {
        client.disconnect();
      }
    },
  };
}
