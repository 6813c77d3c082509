import type Database from 'better-sqlite3';
import { ConflictError } from '../../core/errors';
import { newId } from '../../core/ids';
import type { NewUser, Page, PageQuery, Role, UserPatch, UserRecord, UsersRepo } from '../types';
import { bool, date, likeContains, setClause } from './rows';

interface UserRow {
  id: string;
  email: string;
  password_hash: string | null;
  role: Role;
  disabled: number;
  storage_quota: number;
  storage_used: number;
  google_id: string | null;
  created_at: number;
  updated_at: number;
}

const toUser = (r: UserRow): UserRecord => ({
  id: r.id,
  email: r.email,
  passwordHash: r.password_hash,
  role: r.role,
  disabled: bool(r.disabled),
  storageQuota: r.storage_quota,
  storageUsed: r.storage_used,
  googleId: r.google_id,
  createdAt: date(r.created_at),
  updatedAt: date(r.updated_at),
});

const COLUMNS = {
  passwordHash: 'password_hash',
  role: 'role',
  disabled: 'disabled',
  storageQuota: 'storage_quota',
  googleId: 'google_id',
};

export class SqliteUsers implements UsersRepo {
  constructor(private readonly db: Database.Database) {}

  async create(input: NewUser): Promise<UserRecord> {
    const now = Date.now();
    const row: UserRow = {
      id: newId(),
      email: input.email,
      password_hash: input.passwordHash,
      role: input.role,
      disabled: 0,
      storage_quota: input.storageQuota,
      storage_used: 0,
      google_id: input.googleId ?? null,
      created_at: now,
      updated_at: now,
    };
    try {
      this.db
        .prepare(
          `INSERT INTO users (id, email, password_hash, role, disabled, storage_quota, storage_used, google_id, created_at, updated_at)
           VALUES (@id, @email, @password_hash, @role, @disabled, @storage_quota, @storage_used, @google_id, @created_at, @updated_at)`,
        )
        .run(row);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new ConflictError('email_taken', 'An account with this email already exists');
      }
      throw err;
    }
    return toUser(row);
  }

  async findById(id: string): Promise<UserRecord | null> {
    const row = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const row = this.db.prepare('SELECT * FROM users WHERE email = ?').get(email) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  async findByGoogleId(googleId: string): Promise<UserRecord | null> {
    const row = this.db.prepare('SELECT * FROM users WHERE google_id = ?').get(googleId) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  async list(query: PageQuery & { q?: string }): Promise<Page<UserRecord>> {
    const where = query.q ? `WHERE email LIKE @q ESCAPE '\\'` : '';
    const params = { q: query.q ? likeContains(query.q) : null, limit: query.limit, offset: query.offset };
    const rows = this.db
      .prepare(`SELECT * FROM users ${where} ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset`)
      .all(params) as UserRow[];
    const { total } = this.db.prepare(`SELECT COUNT(*) AS total FROM users ${where}`).get(params) as { total: number };
    return { items: rows.map(toUser), total };
  }

  async update(id: string, patch: UserPatch): Promise<UserRecord | null> {
    const { sql, params } = setClause(patch, COLUMNS);
    if (sql) {
      try {
        this.db.prepare(`UPDATE users SET ${sql}, updated_at = @now WHERE id = @id`).run({ ...params, id, now: Date.now() });
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new ConflictError('google_account_linked', 'This Google account is already linked to another user');
        }
        throw err;
      }
    }
    return this.findById(id);
  }

  async countByRole(role: Role): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM users WHERE role = ?').get(role) as { n: number }).n;
  }

  async reserveStorage(id: string, bytes: number): Promise<boolean> {
    const result = this.db
      .prepare(
        `UPDATE users SET storage_used = storage_used + @bytes, updated_at = @now
         WHERE id = @id AND storage_used + @bytes <= storage_quota`,
      )
      .run({ id, bytes, now: Date.now() });
    return result.changes === 1;
  }

  async releaseStorage(id: string, bytes: number): Promise<void> {
    this.db
      .prepare(`UPDATE users SET storage_used = MAX(0, storage_used - @bytes), updated_at = @now WHERE id = @id`)
      .run({ id, bytes, now: Date.now() });
  }
}
