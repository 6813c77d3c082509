import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { MetadataStore } from '../types';
import { SqliteAccounts } from './accounts';
import { SqliteAudit } from './audit';
import { SqliteFiles } from './files';
import { SqliteLinks } from './links';
import { migrate } from './migrations';
import { SqliteRefreshTokens } from './refresh-tokens';
import { SqliteUsers } from './users';

/**
 * The embedded metadata store: one SQLite file in WAL mode. Several processes
 * (API and worker) may open the same file; `busy_timeout` makes a writer wait
 * for another's transaction instead of failing.
 */
export function openSqliteStore(file: string): MetadataStore {
  if (file !== ':memory:') {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // The file holds password hashes and sealed credentials: owner-only. SQLite gives
    // the -wal and -shm files the database file's permissions, so creating it 0600 covers them.
    try {
      fs.writeFileSync(file, '', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);

  return {
    kind: 'sqlite',
    users: new SqliteUsers(db),
    refreshTokens: new SqliteRefreshTokens(db),
    files: new SqliteFiles(db),
    accounts: new SqliteAccounts(db),
    links: new SqliteLinks(db),
    audit: new SqliteAudit(db),
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
