import path from 'node:path';
import { LocalDiskProvider } from '../../src/providers/local';
import { tempDir } from '../support/temp';
import { describeProviderContract } from './provider.contract';

describeProviderContract('local disk', {
  async open() {
    const { dir, cleanup } = tempDir('ddx-local-');
    const root = path.join(dir, 'storage');
    return { provider: new LocalDiskProvider(root), reopen: () => new LocalDiskProvider(root), dispose: async () => cleanup() };
  },
});
