import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OffsetMismatchError, PermanentError, ProviderNotFoundError } from '../../src/providers/errors';
import type { StorageProvider } from '../../src/providers/types';

/**
 * What every StorageProvider adapter must do (providers/types.ts). Each
 * adapter's test calls this with a factory; `reopen` gives a second instance
 * over the same storage, as after a gateway restart.
 */
export interface ProviderFactory {
  open(): Promise<{ provider: StorageProvider; reopen: () => StorageProvider; dispose: () => Promise<void> }>;
}

/** 256 KiB: the strictest chunk multiple (Google Drive); valid for every provider. */
const CHUNK = 256 * 1024;

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function describeProviderContract(name: string, factory: ProviderFactory): void {
  describe(`StorageProvider contract: ${name}`, () => {
    let provider: StorageProvider;
    let reopen: () => StorageProvider;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ provider, reopen, dispose } = await factory.open());
    });
    afterEach(async () => {
      await dispose();
    });

    /** Uploads `data` in CHUNK pieces and returns the remote id. */
    async function upload(p: StorageProvider, data: Buffer): Promise<string> {
      const handle = await p.startUpload({ name: 'f.bin', size: data.length, mimeType: 'application/octet-stream' });
      let offset = 0;
      let remoteId: string | undefined;
      do {
        const result = await p.writeChunk(handle, offset, data.subarray(offset, offset + CHUNK));
        offset = result.committed;
        remoteId = result.remoteId;
      } while (remoteId === undefined);
      expect(offset).toBe(data.length);
      return remoteId;
    }

    it.each([0, 1, CHUNK, CHUNK + 1, 3 * CHUNK + 12_345])('stores %d bytes and reads back exactly them', async (size) => {
      const data = randomBytes(size);
      const remoteId = await upload(provider, data);
      const { stream, size: stored } = await provider.read(remoteId);
      expect(stored).toBe(size);
      expect(sha256(await collect(stream))).toBe(sha256(data));
    });

    it('reports progress, gives the remote id only with the last byte, and resumes after a restart', async () => {
      const data = randomBytes(2 * CHUNK + 7);
      const handle = await provider.startUpload({ name: 'r.bin', size: data.length, mimeType: 'application/octet-stream' });
      expect(await provider.queryUpload(handle)).toEqual({ state: 'in_progress', committed: 0 });
      const first = await provider.writeChunk(handle, 0, data.subarray(0, CHUNK));
      expect(first).toEqual({ committed: CHUNK });

      // A new instance (gateway restarted) continues from what is committed.
      const again = reopen();
      const state = await again.queryUpload(handle);
      expect(state).toEqual({ state: 'in_progress', committed: CHUNK });
      await again.writeChunk(handle, CHUNK, data.subarray(CHUNK, 2 * CHUNK));
      const last = await again.writeChunk(handle, 2 * CHUNK, data.subarray(2 * CHUNK));
      expect(last.committed).toBe(data.length);
      expect(last.remoteId).toEqual(expect.any(String));
      expect(await again.queryUpload(handle)).toEqual({ state: 'done', remoteId: last.remoteId });
      expect(sha256(await collect((await provider.read(last.remoteId!)).stream))).toBe(sha256(data));
    });

    it('refuses a chunk past the committed offset and says where it really is; a replay changes nothing', async () => {
      const data = randomBytes(3 * CHUNK);
      const handle = await provider.startUpload({ name: 'o.bin', size: data.length, mimeType: 'application/octet-stream' });
      await provider.writeChunk(handle, 0, data.subarray(0, CHUNK));
      const gap = provider.writeChunk(handle, 2 * CHUNK, data.subarray(2 * CHUNK));
      await expect(gap).rejects.toBeInstanceOf(OffsetMismatchError);
      await expect(gap).rejects.toMatchObject({ committed: CHUNK });
      // Re-sending bytes that are already committed (a retry after a lost reply) is either refused
      // with the real offset or acknowledged; either way the stored bytes are the first ones sent.
      try {
        const replay = await provider.writeChunk(handle, 0, Buffer.alloc(CHUNK, 0x55));
        expect(replay.committed).toBe(CHUNK);
      } catch (err) {
        expect(err).toBeInstanceOf(OffsetMismatchError);
        expect(err).toMatchObject({ committed: CHUNK });
      }
      expect(await provider.queryUpload(handle)).toEqual({ state: 'in_progress', committed: CHUNK });
      await provider.writeChunk(handle, CHUNK, data.subarray(CHUNK, 2 * CHUNK));
      const last = await provider.writeChunk(handle, 2 * CHUNK, data.subarray(2 * CHUNK));
      expect(sha256(await collect((await provider.read(last.remoteId!)).stream))).toBe(sha256(data));
    });

    it('refuses bytes past the declared size', async () => {
      const handle = await provider.startUpload({ name: 's.bin', size: 10, mimeType: 'application/octet-stream' });
      await expect(provider.writeChunk(handle, 0, Buffer.alloc(11))).rejects.toBeInstanceOf(PermanentError);
    });

    it('serves inclusive byte ranges', async () => {
      const data = randomBytes(CHUNK + 100);
      const remoteId = await upload(provider, data);
      for (const [start, end] of [
        [0, 0],
        [10, 20],
        [CHUNK - 5, CHUNK + 5],
        [data.length - 1, data.length - 1],
      ] as const) {
        const { stream, size } = await provider.read(remoteId, { start, end });
        expect(size).toBe(data.length);
        expect((await collect(stream)).equals(data.subarray(start, end + 1))).toBe(true);
      }
    });

    it('aborts an upload: its session is gone', async () => {
      const handle = await provider.startUpload({ name: 'a.bin', size: 100, mimeType: 'application/octet-stream' });
      await provider.writeChunk(handle, 0, Buffer.alloc(50));
      await provider.abortUpload(handle);
      await provider.abortUpload(handle);
      expect(await provider.queryUpload(handle)).toEqual({ state: 'expired' });
      await expect(provider.writeChunk(handle, 50, Buffer.alloc(50))).rejects.toBeInstanceOf(ProviderNotFoundError);
    });

    it('removes objects idempotently; a removed or unknown object is not found', async () => {
      const remoteId = await upload(provider, randomBytes(10));
      await provider.remove(remoteId);
      await provider.remove(remoteId);
      await expect(provider.read(remoteId)).rejects.toBeInstanceOf(ProviderNotFoundError);
      await expect(provider.read('../../etc/passwd')).rejects.toBeInstanceOf(ProviderNotFoundError);
    });

    it('refuses a handle it did not make', async () => {
      await expect(provider.queryUpload('{"not":"mine"}')).rejects.toBeInstanceOf(PermanentError);
    });

    it('reports quota and health', async () => {
      const quota = await provider.quota();
      expect(quota.used).toBeGreaterThanOrEqual(0);
      // An unlimited member (a Drive plan without a cap) reports no limit.
      if (provider.capabilities.reportsQuota && quota.limit !== null) expect(quota.limit).toBeGreaterThanOrEqual(quota.used);
      expect(await provider.check()).toBe('healthy');
    });
  });
}
