import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backoffDelay, delayFor } from '../../src/providers/retry';
import { UploadLocks } from '../../src/uploads/exclusive';
import { UploadHashes } from '../../src/uploads/hashes';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('UploadHashes', () => {
  it('hashes bytes committed in order, in any piece sizes', () => {
    const hashes = new UploadHashes();
    const data = randomBytes(1000);
    hashes.speculate('f', 0, data.subarray(0, 10))(10);
    hashes.speculate('f', 10, data.subarray(10, 999))(989);
    hashes.speculate('f', 999, data.subarray(999))(1);
    expect(hashes.take('f', 1000)).toBe(sha(data));
    expect(hashes.take('f', 1000)).toBeNull();
  });

  it('rolls a speculative update back to what the member kept', () => {
    const hashes = new UploadHashes();
    const data = randomBytes(600);
    hashes.speculate('f', 0, data.subarray(0, 400))(256); // a partial commit keeps 256 bytes
    hashes.speculate('f', 256, data.subarray(256, 600))(0); // a failed write keeps none
    hashes.speculate('f', 256, data.subarray(256, 600))(344);
    expect(hashes.take('f', 600)).toBe(sha(data));
  });

  it('gives up on a gap (a resume it did not see) instead of returning a wrong digest', () => {
    const hashes = new UploadHashes();
    hashes.speculate('f', 0, Buffer.from('abc'))(3);
    hashes.speculate('f', 5, Buffer.from('xyz'))(3);
    expect(hashes.take('f', 8)).toBeNull();
    expect(hashes.covers('g', 10)).toBe(false);
  });

  it('knows the empty file', () => {
    expect(new UploadHashes().take('empty', 0)).toBe(sha(Buffer.alloc(0)));
  });
});

describe('UploadLocks', () => {
  it('lets a newcomer take over only after the holder released, asking it to stop first', async () => {
    const locks = new UploadLocks();
    const events: string[] = [];
    let releaseFirst!: () => void;
    releaseFirst = await locks.acquire('f', () => {
      events.push('first asked to stop');
      setTimeout(() => {
        events.push('first released');
        releaseFirst();
      }, 10);
    });
    const second = locks.acquire('f', () => events.push('second asked to stop')).then((release) => {
      events.push('second holds');
      return release;
    });
    (await second)();
    expect(events).toEqual(['first asked to stop', 'first released', 'second holds']);
    // Released twice is harmless; the upload is free again.
    releaseFirst();
    (await locks.acquire('f', () => undefined))();
  });
});

describe('backoff', () => {
  const policy = { attempts: 7, baseDelayMs: 1000, maxDelayMs: 32_000 };
  it('doubles with up to one unit of jitter and stops at the maximum', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(1000);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(8500);
    expect(backoffDelay(10, policy, () => 0.99)).toBe(32_000);
  });
  it('honours a longer Retry-After, within the maximum', () => {
    expect(delayFor(0, policy, 5000, () => 0)).toBe(5000);
    expect(delayFor(0, policy, 120_000, () => 0)).toBe(32_000);
    expect(delayFor(2, policy, 10, () => 0)).toBe(4000);
  });
});
