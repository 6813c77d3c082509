import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TransientError } from '../../src/providers/errors';
import { LocalDiskProvider } from '../../src/providers/local';
import { tempDir } from '../support/temp';
import { describeProviderContract } from './provider.contract';

describeProviderContract('local disk', {
  async open() {
    const { dir, cleanup } = tempDir('ddx-local-');
    const root = path.join(dir, 'storage');
    return { provider: new LocalDiskProvider(root, { initialise: true }), reopen: () => new LocalDiskProvider(root), dispose: async () => cleanup() };
  },
});

describe('local disk storage directory', () => {
  it('never creates a missing directory for a member in the pool: down, with a clear reason, until the disk is back', async () => {
    const { dir, cleanup } = tempDir('ddx-local-mount-');
    try {
      const root = path.join(dir, 'storage');
      const added = new LocalDiskProvider(root, { initialise: true });
      expect(await added.check()).toBe('healthy');
      const handle = await added.startUpload({ name: 'a.bin', size: 3, mimeType: 'x/y' });
      const { remoteId } = await added.writeChunk(handle, 0, Buffer.from('abc'));

      // The disk is not mounted: the directory is gone (or an empty mount point is left).
      fs.renameSync(root, `${root}.off`);
      const member = new LocalDiskProvider(root);
      expect(await member.check()).toBe('down');
      await expect(member.startUpload({ name: 'b.bin', size: 1, mimeType: 'x/y' })).rejects.toThrow(/is its disk mounted/);
      await expect(member.read(remoteId!)).rejects.toBeInstanceOf(TransientError);
      await expect(member.remove(remoteId!)).rejects.toBeInstanceOf(TransientError);
      await expect(member.quota()).rejects.toBeInstanceOf(TransientError);
      expect(fs.existsSync(root)).toBe(false);
      fs.mkdirSync(root);
      expect(await member.check()).toBe('down');

      fs.rmdirSync(root);
      fs.renameSync(`${root}.off`, root);
      expect(await member.check()).toBe('healthy');
      const { stream } = await member.read(remoteId!);
      const parts: Buffer[] = [];
      for await (const part of stream) parts.push(part as Buffer);
      expect(Buffer.concat(parts).toString()).toBe('abc');
    } finally {
      cleanup();
    }
  });

  it('adopts a directory written before members were marked (it has objects/)', async () => {
    const { dir, cleanup } = tempDir('ddx-local-adopt-');
    try {
      fs.mkdirSync(path.join(dir, 'objects'), { recursive: true });
      expect(await new LocalDiskProvider(dir).check()).toBe('healthy');
      expect(fs.existsSync(path.join(dir, '.directdrivex-member'))).toBe(true);
    } finally {
      cleanup();
    }
  });
});
