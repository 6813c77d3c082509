import { randomUUID } from 'node:crypto';
import { describe } from 'vitest';
import { openMongoStore } from '../../src/store/mongo';
import { describeStoreContract } from './store.contract';

/**
 * Runs the same contract against MongoDB when MONGODB_URI points at a server.
 * Each test uses a fresh database that is dropped afterwards. Without the
 * variable (no MongoDB server exists on CI machines) the suite says so once.
 */
const uri = process.env.MONGODB_URI;

if (!uri) {
  console.log('SKIP MongoDB store contract: MONGODB_URI is not set (set it to a MongoDB server to run this suite)');
}

describe.runIf(Boolean(uri))('mongodb adapter', () => {
  describeStoreContract('mongodb', {
    async open() {
      const dbName = `ddx_contract_${randomUUID().replace(/-/g, '')}`;
      const store = await openMongoStore(uri!, { dbName });
      const mongoose = await import('mongoose');
      return {
        store,
        openPeer: () => openMongoStore(uri!, { dbName }),
        dispose: async () => {
          const conn = mongoose.default.createConnection(uri!, { dbName });
          await conn.asPromise();
          await conn.dropDatabase();
          await conn.close();
          await store.close();
        },
      };
    },
  });
});
