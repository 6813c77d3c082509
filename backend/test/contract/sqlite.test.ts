import path from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite';
import { tempDir } from '../support/temp';
import { describeStoreContract } from './store.contract';

// Each test gets its own file; a "peer" is a second connection to that file, as a worker process would open.
describeStoreContract('sqlite', {
  async open() {
    const { dir, cleanup } = tempDir();
    const file = path.join(dir, 'metadata.db');
    const store = openSqliteStore(file);
    return {
      store,
      openPeer: async () => openSqliteStore(file),
      dispose: async () => {
        await store.close();
        cleanup();
      },
    };
  },
});
