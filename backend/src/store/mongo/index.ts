import mongoose from 'mongoose';
import type { MetadataStore } from '../types';
import { registerModels } from './models';
import { MongoAccounts, MongoAudit, MongoFiles, MongoLinks, MongoRefreshTokens, MongoUsers } from './repos';

/**
 * The production metadata store. Each store gets its own mongoose connection
 * (not the global default), so tests can open several against separate
 * databases. Indexes are built before the store is handed out: the unique
 * email index is what makes concurrent registrations safe.
 */
export async function openMongoStore(uri: string, options: { dbName?: string } = {}): Promise<MetadataStore> {
  const connection = mongoose.createConnection(uri, {
    serverSelectionTimeoutMS: 5000,
    ...(options.dbName ? { dbName: options.dbName } : {}),
  });
  await connection.asPromise();
  const models = registerModels(connection);
  await Promise.all(Object.values(models).map((model) => model.init()));

  return {
    kind: 'mongodb',
    users: new MongoUsers(models),
    refreshTokens: new MongoRefreshTokens(models),
    files: new MongoFiles(models),
    accounts: new MongoAccounts(models),
    links: new MongoLinks(models),
    audit: new MongoAudit(models),
    async ping() {
      const db = connection.db;
      if (!db) throw new Error('MongoDB connection is not open');
      await db.admin().ping();
    },
    async close() {
      await connection.close();
    },
  };
}
