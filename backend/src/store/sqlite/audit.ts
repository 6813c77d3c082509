import type Database from 'better-sqlite3';
import { newId } from '../../core/ids';
import type { AuditEvent, AuditRepo, Page, PageQuery } from '../types';
import { date, ms } from './rows';

interface AuditRow {
  id: string;
  at: number;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  details: string;
}

const toEvent = (r: AuditRow): AuditEvent => ({
  id: r.id,
  at: date(r.at),
  actorId: r.actor_id,
  action: r.action,
  targetType: r.target_type,
  targetId: r.target_id,
  ip: r.ip,
  details: JSON.parse(r.details) as Record<string, unknown>,
});

export class SqliteAudit implements AuditRepo {
  constructor(private readonly db: Database.Database) {}

  async append(input: Omit<AuditEvent, 'id' | 'at'> & { at?: Date }): Promise<AuditEvent> {
    const event: AuditEvent = { ...input, id: newId(), at: input.at ?? new Date() };
    this.db
      .prepare(
        `INSERT INTO audit_events (id, at, actor_id, action, target_type, target_id, ip, details)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(event.id, ms(event.at), event.actorId, event.action, event.targetType, event.targetId, event.ip, JSON.stringify(event.details));
    return event;
  }

  async list(query: PageQuery & { actorId?: string; action?: string }): Promise<Page<AuditEvent>> {
    const conditions: string[] = [];
    if (query.actorId !== undefined) conditions.push('actor_id = @actorId');
    if (query.action !== undefined) conditions.push('action = @action');
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const params = { actorId: query.actorId ?? null, action: query.action ?? null, limit: query.limit, offset: query.offset };
    const rows = this.db
      .prepare(`SELECT * FROM audit_events ${where} ORDER BY at DESC, rowid DESC LIMIT @limit OFFSET @offset`)
      .all(params) as AuditRow[];
    const { total } = this.db.prepare(`SELECT COUNT(*) AS total FROM audit_events ${where}`).get(params) as { total: number };
    return { items: rows.map(toEvent), total };
  }
}
