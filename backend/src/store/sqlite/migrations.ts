import type Database from 'better-sqlite3';

/**
 * Schema migrations, applied in order inside one transaction each. The
 * database's `user_version` records how many have run. Never edit a migration
 * that has shipped; append a new one.
 *
 * Times are integer milliseconds since the epoch; booleans are 0/1.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    disabled INTEGER NOT NULL DEFAULT 0,
    storage_quota INTEGER NOT NULL,
    storage_used INTEGER NOT NULL DEFAULT 0 CHECK (storage_used >= 0),
    google_id TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    revoked_at INTEGER
  );
  CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
  CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL CHECK (provider IN ('gdrive', 'webdav', 'local')),
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    draining INTEGER NOT NULL DEFAULT 0,
    credentials TEXT NOT NULL,
    quota_limit INTEGER,
    quota_used INTEGER NOT NULL DEFAULT 0,
    reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    health TEXT NOT NULL DEFAULT 'unknown',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_check_at INTEGER,
    last_error TEXT,
    last_chosen_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE files (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    mime_type TEXT NOT NULL,
    sha256 TEXT,
    state TEXT NOT NULL,
    account_id TEXT REFERENCES accounts(id),
    remote_id TEXT,
    committed INTEGER NOT NULL DEFAULT 0,
    upload_session TEXT,
    backup_state TEXT NOT NULL,
    backup_attempts INTEGER NOT NULL DEFAULT 0,
    backup_last_error TEXT,
    backup_next_attempt_at INTEGER,
    backup_lease_until INTEGER,
    backup_remote_path TEXT,
    backed_up_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER
  );
  CREATE INDEX files_owner ON files(owner_id, deleted_at, created_at);
  CREATE INDEX files_backup ON files(backup_state, backup_next_attempt_at);

  CREATE TABLE links (
    id TEXT PRIMARY KEY,
    file_id TEXT NOT NULL REFERENCES files(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX links_file ON links(file_id);

  CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    ip TEXT,
    details TEXT NOT NULL
  );
  CREATE INDEX audit_at ON audit_events(at);
  CREATE INDEX audit_actor ON audit_events(actor_id, at);
  `,
  // 2: the pool and resumable uploads.
  `
  ALTER TABLE accounts ADD COLUMN last_failure_at INTEGER;
  ALTER TABLE accounts ADD COLUMN daily_cap INTEGER;
  ALTER TABLE files ADD COLUMN upload_token_hash TEXT;
  ALTER TABLE files ADD COLUMN upload_expires_at INTEGER;
  ALTER TABLE files ADD COLUMN placed_at INTEGER;
  CREATE INDEX files_account ON files(account_id, placed_at);
  CREATE INDEX files_upload_expiry ON files(state, upload_expires_at);
  `,
];

export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `metadata.db is at schema version ${current}, newer than this build knows (${MIGRATIONS.length}); refusing to run an older gateway against it`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    const sql = MIGRATIONS[version];
    if (sql === undefined) break;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
  return MIGRATIONS.length;
}
