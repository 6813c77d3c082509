import path from 'node:path';
import type { Config } from '../config/env';
import { openMongoStore } from './mongo';
import { openSqliteStore } from './sqlite';
import type { MetadataStore } from './types';

export type { MetadataStore } from './types';

/** MongoDB when MONGODB_URI is set (production), otherwise the embedded SQLite file in DATA_DIR. */
export async function openStore(config: Pick<Config, 'mongodbUri' | 'dataDir'>): Promise<MetadataStore> {
  if (config.mongodbUri) return openMongoStore(config.mongodbUri);
  return openSqliteStore(path.join(config.dataDir, 'metadata.db'));
}
