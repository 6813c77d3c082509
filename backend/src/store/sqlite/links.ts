import type Database from 'better-sqlite3';
import { newId } from '../../core/ids';
import type { LinkRecord, LinksRepo } from '../types';
import { date, dateOrNull, ms } from './rows';

interface LinkRow {
  id: string;
  file_id: string;
  created_by: string;
  token_hash: string;
  password_hash: string | null;
  expires_at: number;
  revoked_at: number | null;
  created_at: number;
}

const toLink = (r: LinkRow): LinkRecord => ({
  id: r.id,
  fileId: r.file_id,
  createdBy: r.created_by,
  tokenHash: r.token_hash,
  passwordHash: r.password_hash,
  expiresAt: date(r.expires_at),
  revokedAt: dateOrNull(r.revoked_at),
  createdAt: date(r.created_at),
});

export class SqliteLinks implements LinksRepo {
  constructor(private readonly db: Database.Database) {}

  async create(record: Omit<LinkRecord, 'id' | 'createdAt' | 'revokedAt'>): Promise<LinkRecord> {
    const link: LinkRecord = { ...record, id: newId(), createdAt: new Date(), revokedAt: null };
    this.db
      .prepare(
        `INSERT INTO links (id, file_id, created_by, token_hash, password_hash, expires_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(link.id, link.fileId, link.createdBy, link.tokenHash, link.passwordHash, ms(link.expiresAt), ms(link.createdAt));
    return link;
  }

  async findByTokenHash(tokenHash: string): Promise<LinkRecord | null> {
    const row = this.db.prepare('SELECT * FROM links WHERE token_hash = ?').get(tokenHash) as LinkRow | undefined;
    return row ? toLink(row) : null;
  }

  async listByFile(fileId: string): Promise<LinkRecord[]> {
    return (this.db.prepare('SELECT * FROM links WHERE file_id = ? ORDER BY created_at DESC, id').all(fileId) as LinkRow[]).map(toLink);
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    return this.db.prepare('UPDATE links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(ms(at), id).changes === 1;
  }
}
