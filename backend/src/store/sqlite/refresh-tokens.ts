import type Database from 'better-sqlite3';
import type { RefreshTokenRecord, RefreshTokensRepo } from '../types';
import { date, dateOrNull, ms } from './rows';

interface Row {
  id: string;
  family_id: string;
  user_id: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
}

const toRecord = (r: Row): RefreshTokenRecord => ({
  id: r.id,
  familyId: r.family_id,
  userId: r.user_id,
  tokenHash: r.token_hash,
  createdAt: date(r.created_at),
  expiresAt: date(r.expires_at),
  usedAt: dateOrNull(r.used_at),
  revokedAt: dateOrNull(r.revoked_at),
});

export class SqliteRefreshTokens implements RefreshTokensRepo {
  constructor(private readonly db: Database.Database) {}

  async create(record: Omit<RefreshTokenRecord, 'usedAt' | 'revokedAt'>): Promise<RefreshTokenRecord> {
    this.db
      .prepare(
        `INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(record.id, record.familyId, record.userId, record.tokenHash, ms(record.createdAt), ms(record.expiresAt));
    return { ...record, usedAt: null, revokedAt: null };
  }

  async findById(id: string): Promise<RefreshTokenRecord | null> {
    const row = this.db.prepare('SELECT * FROM refresh_tokens WHERE id = ?').get(id) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  async markUsed(id: string, at: Date): Promise<boolean> {
    const result = this.db
      .prepare('UPDATE refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL')
      .run(ms(at), id);
    return result.changes === 1;
  }

  async revokeFamily(familyId: string, at: Date): Promise<number> {
    return this.db
      .prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL')
      .run(ms(at), familyId).changes;
  }

  async revokeAllForUser(userId: string, at: Date): Promise<number> {
    return this.db
      .prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL')
      .run(ms(at), userId).changes;
  }

  async deleteExpired(before: Date): Promise<number> {
    return this.db.prepare('DELETE FROM refresh_tokens WHERE expires_at < ?').run(ms(before)).changes;
  }
}
