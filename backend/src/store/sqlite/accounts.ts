import type Database from 'better-sqlite3';
import { newId } from '../../core/ids';
import type { AccountPatch, AccountRecord, AccountsRepo, Health, NewAccount, Provider } from '../types';
import { bool, date, dateOrNull, ms, setClause } from './rows';

interface AccountRow {
  id: string;
  provider: Provider;
  name: string;
  enabled: number;
  draining: number;
  credentials: string;
  quota_limit: number | null;
  quota_used: number;
  reserved: number;
  health: Health;
  consecutive_failures: number;
  last_check_at: number | null;
  last_error: string | null;
  last_chosen_at: number | null;
  last_failure_at: number | null;
  daily_cap: number | null;
  created_at: number;
  updated_at: number;
}

const toAccount = (r: AccountRow): AccountRecord => ({
  id: r.id,
  provider: r.provider,
  name: r.name,
  enabled: bool(r.enabled),
  draining: bool(r.draining),
  credentials: r.credentials,
  quotaLimit: r.quota_limit,
  quotaUsed: r.quota_used,
  reserved: r.reserved,
  health: r.health,
  consecutiveFailures: r.consecutive_failures,
  lastCheckAt: dateOrNull(r.last_check_at),
  lastError: r.last_error,
  lastChosenAt: dateOrNull(r.last_chosen_at),
  lastFailureAt: dateOrNull(r.last_failure_at),
  dailyCap: r.daily_cap,
  createdAt: date(r.created_at),
  updatedAt: date(r.updated_at),
});

const COLUMNS = {
  name: 'name',
  enabled: 'enabled',
  draining: 'draining',
  credentials: 'credentials',
  quotaLimit: 'quota_limit',
  quotaUsed: 'quota_used',
  health: 'health',
  consecutiveFailures: 'consecutive_failures',
  lastCheckAt: 'last_check_at',
  lastError: 'last_error',
  lastChosenAt: 'last_chosen_at',
  lastFailureAt: 'last_failure_at',
  dailyCap: 'daily_cap',
};

export class SqliteAccounts implements AccountsRepo {
  constructor(private readonly db: Database.Database) {}

  async create(input: NewAccount): Promise<AccountRecord> {
    const id = newId();
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO accounts (id, provider, name, credentials, quota_limit, quota_used, daily_cap, created_at, updated_at)
         VALUES (@id, @provider, @name, @credentials, @quotaLimit, @quotaUsed, @dailyCap, @now, @now)`,
      )
      .run({ ...input, dailyCap: input.dailyCap ?? null, id, now });
    const created = await this.findById(id);
    if (!created) throw new Error('account vanished right after insert');
    return created;
  }

  async findById(id: string): Promise<AccountRecord | null> {
    const row = this.db.prepare('SELECT * FROM accounts WHERE id = ?').get(id) as AccountRow | undefined;
    return row ? toAccount(row) : null;
  }

  async list(): Promise<AccountRecord[]> {
    return (this.db.prepare('SELECT * FROM accounts ORDER BY created_at ASC, rowid ASC').all() as AccountRow[]).map(toAccount);
  }

  async update(id: string, patch: AccountPatch): Promise<AccountRecord | null> {
    const { sql, params } = setClause(patch, COLUMNS);
    if (sql) this.db.prepare(`UPDATE accounts SET ${sql}, updated_at = @now WHERE id = @id`).run({ ...params, id, now: Date.now() });
    return this.findById(id);
  }

  async remove(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM accounts WHERE id = ?').run(id).changes === 1;
  }

  async reserve(id: string, bytes: number, at: Date): Promise<boolean> {
    return (
      this.db
        .prepare(
          `UPDATE accounts SET reserved = reserved + @bytes, last_chosen_at = @at, updated_at = @at
           WHERE id = @id AND (quota_limit IS NULL OR quota_limit - quota_used - reserved >= @bytes)`,
        )
        .run({ id, bytes, at: ms(at) }).changes === 1
    );
  }

  async release(id: string, bytes: number): Promise<void> {
    this.db
      .prepare('UPDATE accounts SET reserved = MAX(0, reserved - @bytes), updated_at = @now WHERE id = @id')
      .run({ id, bytes, now: Date.now() });
  }

  async freeUsed(id: string, bytes: number): Promise<void> {
    this.db
      .prepare('UPDATE accounts SET quota_used = MAX(0, quota_used - @bytes), updated_at = @now WHERE id = @id')
      .run({ id, bytes, now: Date.now() });
  }

  async commitReservation(id: string, bytes: number): Promise<void> {
    this.db
      .prepare(
        `UPDATE accounts SET reserved = MAX(0, reserved - @bytes), quota_used = quota_used + @bytes, updated_at = @now
         WHERE id = @id`,
      )
      .run({ id, bytes, now: Date.now() });
  }
}
