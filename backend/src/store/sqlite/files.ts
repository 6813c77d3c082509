import type Database from 'better-sqlite3';
import { newId } from '../../core/ids';
import {
  type BackupInfo,
  type BackupState,
  type FilePatch,
  type FileRecord,
  type FileSort,
  type FileState,
  type FilesRepo,
  IN_FLIGHT_STATES,
  LIVE_STATES,
  type NewFile,
  type Page,
  type PageQuery,
} from '../types';
import { date, dateOrNull, likeContains, ms, msOrNull, setClause } from './rows';

interface FileRow {
  id: string;
  owner_id: string;
  name: string;
  size: number;
  mime_type: string;
  sha256: string | null;
  state: FileState;
  account_id: string | null;
  remote_id: string | null;
  committed: number;
  upload_session: string | null;
  upload_token_hash: string | null;
  upload_expires_at: number | null;
  placed_at: number | null;
  backup_state: BackupState;
  backup_attempts: number;
  backup_last_error: string | null;
  backup_next_attempt_at: number | null;
  backup_lease_until: number | null;
  backup_remote_path: string | null;
  backed_up_at: number | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

const toFile = (r: FileRow): FileRecord => ({
  id: r.id,
  ownerId: r.owner_id,
  name: r.name,
  size: r.size,
  mimeType: r.mime_type,
  sha256: r.sha256,
  state: r.state,
  accountId: r.account_id,
  remoteId: r.remote_id,
  committed: r.committed,
  uploadSession: r.upload_session,
  uploadTokenHash: r.upload_token_hash,
  uploadExpiresAt: dateOrNull(r.upload_expires_at),
  placedAt: dateOrNull(r.placed_at),
  backup: {
    state: r.backup_state,
    attempts: r.backup_attempts,
    lastError: r.backup_last_error,
    nextAttemptAt: dateOrNull(r.backup_next_attempt_at),
    leaseUntil: dateOrNull(r.backup_lease_until),
    remotePath: r.backup_remote_path,
    backedUpAt: dateOrNull(r.backed_up_at),
  },
  createdAt: date(r.created_at),
  updatedAt: date(r.updated_at),
  deletedAt: dateOrNull(r.deleted_at),
});

const FILE_COLUMNS = {
  name: 'name',
  sha256: 'sha256',
  state: 'state',
  accountId: 'account_id',
  remoteId: 'remote_id',
  committed: 'committed',
  uploadSession: 'upload_session',
  uploadTokenHash: 'upload_token_hash',
  uploadExpiresAt: 'upload_expires_at',
  placedAt: 'placed_at',
  deletedAt: 'deleted_at',
};

/** `IN (…)` list of string literals for fixed, internal state sets (never user input). */
const sqlList = (values: readonly string[]): string => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');

const BACKUP_COLUMNS: Record<keyof BackupInfo, string> = {
  state: 'backup_state',
  attempts: 'backup_attempts',
  lastError: 'backup_last_error',
  nextAttemptAt: 'backup_next_attempt_at',
  leaseUntil: 'backup_lease_until',
  remotePath: 'backup_remote_path',
  backedUpAt: 'backed_up_at',
};

const SORTS: Record<FileSort, string> = {
  createdAt: 'created_at ASC',
  '-createdAt': 'created_at DESC',
  name: 'name COLLATE NOCASE ASC',
  '-name': 'name COLLATE NOCASE DESC',
  size: 'size ASC',
  '-size': 'size DESC',
};

/** Which backups a worker may take now: pending, failed and due, or running with a lapsed lease. */
const CLAIMABLE = `deleted_at IS NULL AND state = 'complete' AND (
  backup_state = 'pending'
  OR (backup_state = 'failed' AND backup_next_attempt_at IS NOT NULL AND backup_next_attempt_at <= @now)
  OR (backup_state = 'running' AND backup_lease_until < @now))`;

export class SqliteFiles implements FilesRepo {
  constructor(private readonly db: Database.Database) {}

  async create(input: NewFile): Promise<FileRecord> {
    const now = Date.now();
    const id = newId();
    this.db
      .prepare(
        `INSERT INTO files (id, owner_id, name, size, mime_type, state, account_id, committed, backup_state,
           upload_session, upload_token_hash, upload_expires_at, placed_at, created_at, updated_at)
         VALUES (@id, @ownerId, @name, @size, @mimeType, 'pending', @accountId, 0, @backupState,
           @uploadSession, @uploadTokenHash, @uploadExpiresAt, @placedAt, @now, @now)`,
      )
      .run({
        id,
        now,
        ownerId: input.ownerId,
        name: input.name,
        size: input.size,
        mimeType: input.mimeType,
        accountId: input.accountId,
        backupState: input.backupState,
        uploadSession: input.uploadSession ?? null,
        uploadTokenHash: input.uploadTokenHash ?? null,
        uploadExpiresAt: msOrNull(input.uploadExpiresAt),
        placedAt: msOrNull(input.placedAt),
      });
    const created = await this.findById(id);
    if (!created) throw new Error('file vanished right after insert');
    return created;
  }

  async findById(id: string): Promise<FileRecord | null> {
    const row = this.db.prepare('SELECT * FROM files WHERE id = ?').get(id) as FileRow | undefined;
    return row ? toFile(row) : null;
  }

  async listByOwner(query: PageQuery & { ownerId: string; q?: string; sort?: FileSort }): Promise<Page<FileRecord>> {
    const where = `owner_id = @ownerId AND deleted_at IS NULL${query.q ? ` AND name LIKE @q ESCAPE '\\'` : ''}`;
    const params = { ownerId: query.ownerId, q: query.q ? likeContains(query.q) : null, limit: query.limit, offset: query.offset };
    const order = SORTS[query.sort ?? '-createdAt'];
    const rows = this.db
      .prepare(`SELECT * FROM files WHERE ${where} ORDER BY ${order}, id ASC LIMIT @limit OFFSET @offset`)
      .all(params) as FileRow[];
    const { total } = this.db.prepare(`SELECT COUNT(*) AS total FROM files WHERE ${where}`).get(params) as { total: number };
    return { items: rows.map(toFile), total };
  }

  async update(id: string, patch: FilePatch, whenState?: readonly FileState[]): Promise<FileRecord | null> {
    const { backup, ...fields } = patch;
    const main = setClause(fields, FILE_COLUMNS);
    const extra = setClause(
      Object.fromEntries(Object.entries(backup ?? {}).map(([k, v]) => [`backup_${k}`, v])),
      Object.fromEntries(Object.entries(BACKUP_COLUMNS).map(([k, c]) => [`backup_${k}`, c])),
    );
    const sets = [main.sql, extra.sql].filter(Boolean).join(', ');
    const condition = whenState ? ` AND state IN (${whenState.length ? sqlList(whenState) : 'NULL'})` : '';
    if (sets) {
      const changed = this.db
        .prepare(`UPDATE files SET ${sets}, updated_at = @now WHERE id = @id${condition}`)
        .run({ ...main.params, ...extra.params, id, now: Date.now() }).changes;
      if (whenState && changed === 0) return null;
    } else if (whenState) {
      const current = await this.findById(id);
      return current && whenState.includes(current.state) ? current : null;
    }
    return this.findById(id);
  }

  async advanceCommitted(id: string, from: number, to: number): Promise<boolean> {
    return (
      this.db
        .prepare(
          `UPDATE files SET committed = @to, updated_at = @now
           WHERE id = @id AND committed = @from AND state IN (${sqlList(IN_FLIGHT_STATES)})`,
        )
        .run({ id, from, to, now: Date.now() }).changes === 1
    );
  }

  async transitionState(id: string, from: FileState[], to: FileState): Promise<boolean> {
    if (from.length === 0) return false;
    const placeholders = from.map((_, i) => `@from${i}`).join(', ');
    const params: Record<string, unknown> = { id, to, now: Date.now() };
    from.forEach((s, i) => (params[`from${i}`] = s));
    return (
      this.db.prepare(`UPDATE files SET state = @to, updated_at = @now WHERE id = @id AND state IN (${placeholders})`).run(params)
        .changes === 1
    );
  }

  async markDeleted(id: string, at: Date): Promise<FileRecord | null> {
    const changed = this.db
      .prepare(
        `UPDATE files SET deleted_at = @at, updated_at = @now
         WHERE id = @id AND deleted_at IS NULL AND state NOT IN (${sqlList(IN_FLIGHT_STATES)})`,
      )
      .run({ id, at: ms(at), now: Date.now() }).changes;
    return changed === 1 ? this.findById(id) : null;
  }

  async forgetCopy(id: string, copy: 'primary' | 'backup', expected: string): Promise<boolean> {
    const column = copy === 'primary' ? 'remote_id' : 'backup_remote_path';
    return (
      this.db.prepare(`UPDATE files SET ${column} = NULL, updated_at = @now WHERE id = @id AND ${column} = @expected`).run({ id, expected, now: Date.now() })
        .changes === 1
    );
  }

  async claimBackup(id: string, now: Date, leaseUntil: Date): Promise<FileRecord | null> {
    const changed = this.db
      .prepare(
        `UPDATE files SET backup_state = 'running', backup_attempts = backup_attempts + 1,
           backup_lease_until = @lease, updated_at = @now
         WHERE id = @id AND ${CLAIMABLE}`,
      )
      .run({ id, now: ms(now), lease: ms(leaseUntil) }).changes;
    return changed === 1 ? this.findById(id) : null;
  }

  async listBackupDue(now: Date, limit: number): Promise<string[]> {
    const rows = this.db
      .prepare(`SELECT id FROM files WHERE ${CLAIMABLE} ORDER BY created_at ASC LIMIT @limit`)
      .all({ now: ms(now), limit }) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  async countByBackupState(): Promise<Record<BackupState, number>> {
    const counts: Record<BackupState, number> = { disabled: 0, pending: 0, running: 0, done: 0, failed: 0 };
    const rows = this.db
      .prepare(`SELECT backup_state AS state, COUNT(*) AS n FROM files WHERE deleted_at IS NULL GROUP BY backup_state`)
      .all() as Array<{ state: BackupState; n: number }>;
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  async settleBackup(id: string, lease: Date, patch: Partial<BackupInfo>): Promise<boolean> {
    const { sql, params } = setClause(
      Object.fromEntries(Object.entries(patch).map(([k, v]) => [`backup_${k}`, v])),
      Object.fromEntries(Object.entries(BACKUP_COLUMNS).map(([k, c]) => [`backup_${k}`, c])),
    );
    if (!sql) return false;
    return (
      this.db
        .prepare(
          `UPDATE files SET ${sql}, updated_at = @now
           WHERE id = @id AND backup_state = 'running' AND backup_lease_until = @lease`,
        )
        .run({ ...params, id, lease: ms(lease), now: Date.now() }).changes === 1
    );
  }

  async requeueBackups(from: BackupState[]): Promise<number> {
    if (from.length === 0) return 0;
    return this.db
      .prepare(
        `UPDATE files SET backup_state = 'pending', backup_next_attempt_at = NULL, backup_last_error = NULL,
           backup_lease_until = NULL, updated_at = @now
         WHERE deleted_at IS NULL AND state = 'complete' AND backup_state IN (${sqlList(from)})`,
      )
      .run({ now: Date.now() }).changes;
  }

  async listByBackupState(query: PageQuery & { state?: BackupState }): Promise<Page<FileRecord>> {
    const where = `deleted_at IS NULL AND state = 'complete'${query.state ? ' AND backup_state = @state' : ''}`;
    const params = { state: query.state ?? null, limit: query.limit, offset: query.offset };
    const rows = this.db
      .prepare(`SELECT * FROM files WHERE ${where} ORDER BY created_at ASC, id ASC LIMIT @limit OFFSET @offset`)
      .all(params) as FileRow[];
    const { total } = this.db.prepare(`SELECT COUNT(*) AS total FROM files WHERE ${where}`).get(params) as { total: number };
    return { items: rows.map(toFile), total };
  }

  async listDeletedWithCopies(now: Date, limit: number): Promise<string[]> {
    const rows = this.db
      .prepare(
        `SELECT id FROM files WHERE deleted_at IS NOT NULL
           AND (remote_id IS NOT NULL OR backup_remote_path IS NOT NULL OR (backup_state = 'running' AND backup_lease_until < @now))
         ORDER BY deleted_at ASC LIMIT @limit`,
      )
      .all({ now: ms(now), limit }) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  async listAbandonedUploads(now: Date, limit: number): Promise<string[]> {
    const rows = this.db
      .prepare(
        `SELECT id FROM files WHERE state IN (${sqlList(IN_FLIGHT_STATES)}) AND upload_expires_at < @now
         ORDER BY upload_expires_at ASC LIMIT @limit`,
      )
      .all({ now: ms(now), limit }) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  async placedBytesSince(since: Date): Promise<Record<string, number>> {
    const rows = this.db
      .prepare(
        `SELECT account_id AS accountId, SUM(size) AS bytes FROM files
         WHERE account_id IS NOT NULL AND placed_at >= @since AND state IN (${sqlList(LIVE_STATES)})
         GROUP BY account_id`,
      )
      .all({ since: ms(since) }) as Array<{ accountId: string; bytes: number }>;
    return Object.fromEntries(rows.map((r) => [r.accountId, r.bytes]));
  }

  async countLiveOnAccount(accountId: string): Promise<number> {
    const row = this.db
      .prepare(`SELECT COUNT(*) AS n FROM files WHERE account_id = ? AND deleted_at IS NULL AND state IN (${sqlList(LIVE_STATES)})`)
      .get(accountId) as { n: number };
    return row.n;
  }

  async detachAccount(accountId: string): Promise<number> {
    return this.db.prepare('UPDATE files SET account_id = NULL, updated_at = @now WHERE account_id = @accountId').run({ accountId, now: Date.now() })
      .changes;
  }
}
