import type { QueryFilter as FilterQuery } from 'mongoose';
import { ConflictError } from '../../core/errors';
import { newId } from '../../core/ids';
import {
  type AccountPatch,
  type AccountRecord,
  type AccountsRepo,
  type AuditEvent,
  type AuditRepo,
  type BackupInfo,
  type BackupState,
  type FilePatch,
  type FileRecord,
  type FileSort,
  type FileState,
  type FilesRepo,
  IN_FLIGHT_STATES,
  LIVE_STATES,
  type LinkRecord,
  type LinksRepo,
  type NewAccount,
  type NewFile,
  type NewUser,
  type Page,
  type PageQuery,
  type RefreshTokenRecord,
  type RefreshTokensRepo,
  type Role,
  type UserPatch,
  type UserRecord,
  type UsersRepo,
} from '../types';
import type { AccountDoc, AuditDoc, FileDoc, Models, UserDoc } from './models';

/** Lean documents carry `_id`; records carry `id`. */
function toRecord<T extends { id: string }>(doc: (Omit<T, 'id'> & { _id: string }) | null): T | null {
  if (!doc) return null;
  const { _id, ...rest } = doc;
  return { ...(rest as unknown as Omit<T, 'id'>), id: _id } as T;
}

function must<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`${what} vanished right after it was written`);
  return value;
}

const isDuplicateKey = (err: unknown): boolean => (err as { code?: number }).code === 11000;

const escapeRegex = (q: string): string => q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Drops undefined properties so `$set` never writes them. */
function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class MongoUsers implements UsersRepo {
  constructor(private readonly models: Models) {}

  async create(input: NewUser): Promise<UserRecord> {
    const now = new Date();
    const doc: UserDoc = {
      _id: newId(),
      email: input.email,
      passwordHash: input.passwordHash,
      role: input.role,
      disabled: false,
      storageQuota: input.storageQuota,
      storageUsed: 0,
      googleId: input.googleId ?? null,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.models.users.create(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw new ConflictError('email_taken', 'An account with this email already exists');
      throw err;
    }
    return must(toRecord<UserRecord>(doc), 'user');
  }

  async findById(id: string): Promise<UserRecord | null> {
    return toRecord<UserRecord>(await this.models.users.findById(id).lean<UserDoc>());
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    return toRecord<UserRecord>(await this.models.users.findOne({ email }).lean<UserDoc>());
  }

  async findByGoogleId(googleId: string): Promise<UserRecord | null> {
    return toRecord<UserRecord>(await this.models.users.findOne({ googleId }).lean<UserDoc>());
  }

  async list(query: PageQuery & { q?: string }): Promise<Page<UserRecord>> {
    const filter: FilterQuery<UserDoc> = query.q ? { email: { $regex: escapeRegex(query.q), $options: 'i' } } : {};
    const [docs, total] = await Promise.all([
      this.models.users.find(filter).sort({ createdAt: -1, _id: -1 }).skip(query.offset).limit(query.limit).lean<UserDoc[]>(),
      this.models.users.countDocuments(filter),
    ]);
    return { items: docs.map((d) => must(toRecord<UserRecord>(d), 'user')), total };
  }

  async update(id: string, patch: UserPatch): Promise<UserRecord | null> {
    try {
      const doc = await this.models.users
        .findOneAndUpdate({ _id: id }, { $set: { ...defined(patch), updatedAt: new Date() } }, { returnDocument: 'after' })
        .lean<UserDoc>();
      return toRecord<UserRecord>(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw new ConflictError('google_account_linked', 'This Google account is already linked to another user');
      throw err;
    }
  }

  async countByRole(role: Role): Promise<number> {
    return this.models.users.countDocuments({ role });
  }

  async reserveStorage(id: string, bytes: number): Promise<boolean> {
    const result = await this.models.users.updateOne(
      { _id: id, $expr: { $lte: [{ $add: ['$storageUsed', bytes] }, '$storageQuota'] } },
      { $inc: { storageUsed: bytes }, $set: { updatedAt: new Date() } },
    );
    // matched, not modified: a 0-byte reservation within the same millisecond changes nothing but succeeds.
    return result.matchedCount === 1;
  }

  async releaseStorage(id: string, bytes: number): Promise<void> {
    await this.models.users.updateOne(
      { _id: id },
      [{ $set: { storageUsed: { $max: [0, { $subtract: ['$storageUsed', bytes] }] }, updatedAt: '$$NOW' } }],
      { updatePipeline: true },
    );
  }
}

export class MongoRefreshTokens implements RefreshTokensRepo {
  constructor(private readonly models: Models) {}

  async create(record: Omit<RefreshTokenRecord, 'usedAt' | 'revokedAt'>): Promise<RefreshTokenRecord> {
    const { id, ...rest } = record;
    await this.models.refreshTokens.create({ ...rest, _id: id, usedAt: null, revokedAt: null });
    return { ...record, usedAt: null, revokedAt: null };
  }

  async findById(id: string): Promise<RefreshTokenRecord | null> {
    return toRecord<RefreshTokenRecord>(await this.models.refreshTokens.findById(id).lean());
  }

  async markUsed(id: string, at: Date): Promise<boolean> {
    const result = await this.models.refreshTokens.updateOne({ _id: id, usedAt: null, revokedAt: null }, { $set: { usedAt: at } });
    return result.modifiedCount === 1;
  }

  async revokeFamily(familyId: string, at: Date): Promise<number> {
    return (await this.models.refreshTokens.updateMany({ familyId, revokedAt: null }, { $set: { revokedAt: at } })).modifiedCount;
  }

  async revokeAllForUser(userId: string, at: Date): Promise<number> {
    return (await this.models.refreshTokens.updateMany({ userId, revokedAt: null }, { $set: { revokedAt: at } })).modifiedCount;
  }

  async deleteExpired(before: Date): Promise<number> {
    return (await this.models.refreshTokens.deleteMany({ expiresAt: { $lt: before } })).deletedCount;
  }
}

const NAME_COLLATION = { locale: 'en', strength: 2 } as const;

const FILE_SORTS: Record<FileSort, Record<string, 1 | -1>> = {
  createdAt: { createdAt: 1, _id: 1 },
  '-createdAt': { createdAt: -1, _id: 1 },
  name: { name: 1, _id: 1 },
  '-name': { name: -1, _id: 1 },
  size: { size: 1, _id: 1 },
  '-size': { size: -1, _id: 1 },
};

/** Same rule as the SQLite adapter's CLAIMABLE clause. */
function claimable(now: Date): FilterQuery<FileDoc> {
  return {
    deletedAt: null,
    state: 'complete',
    $or: [
      { 'backup.state': 'pending' },
      { 'backup.state': 'failed', 'backup.nextAttemptAt': { $ne: null, $lte: now } },
      { 'backup.state': 'running', 'backup.leaseUntil': { $lt: now } },
    ],
  };
}

export class MongoFiles implements FilesRepo {
  constructor(private readonly models: Models) {}

  async create(input: NewFile): Promise<FileRecord> {
    const now = new Date();
    const doc: FileDoc = {
      _id: newId(),
      ownerId: input.ownerId,
      name: input.name,
      size: input.size,
      mimeType: input.mimeType,
      sha256: null,
      state: 'pending',
      accountId: input.accountId,
      remoteId: null,
      committed: 0,
      uploadSession: input.uploadSession ?? null,
      uploadTokenHash: input.uploadTokenHash ?? null,
      uploadExpiresAt: input.uploadExpiresAt ?? null,
      placedAt: input.placedAt ?? null,
      backup: {
        state: input.backupState,
        attempts: 0,
        lastError: null,
        nextAttemptAt: null,
        leaseUntil: null,
        remotePath: null,
        backedUpAt: null,
      },
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
    };
    await this.models.files.create(doc);
    return must(toRecord<FileRecord>(doc), 'file');
  }

  async findById(id: string): Promise<FileRecord | null> {
    return toRecord<FileRecord>(await this.models.files.findById(id).lean<FileDoc>());
  }

  async listByOwner(query: PageQuery & { ownerId: string; q?: string; sort?: FileSort }): Promise<Page<FileRecord>> {
    const filter: FilterQuery<FileDoc> = { ownerId: query.ownerId, deletedAt: null };
    if (query.q) filter.name = { $regex: escapeRegex(query.q), $options: 'i' };
    const [docs, total] = await Promise.all([
      this.models.files
        .find(filter)
        // Case-insensitive name order like SQLite's NOCASE; only for name sorts, so the others
        // can use the (default-collation) owner index.
        .collation(query.sort === 'name' || query.sort === '-name' ? NAME_COLLATION : { locale: 'simple' })
        .sort(FILE_SORTS[query.sort ?? '-createdAt'])
        .skip(query.offset)
        .limit(query.limit)
        .lean<FileDoc[]>(),
      this.models.files.countDocuments(filter),
    ]);
    return { items: docs.map((d) => must(toRecord<FileRecord>(d), 'file')), total };
  }

  async update(id: string, patch: FilePatch, whenState?: readonly FileState[]): Promise<FileRecord | null> {
    const { backup, ...fields } = patch;
    const set: Record<string, unknown> = { ...defined(fields), updatedAt: new Date() };
    for (const [key, value] of Object.entries(backup ?? {})) {
      if (value !== undefined) set[`backup.${key}`] = value;
    }
    const filter: FilterQuery<FileDoc> = whenState ? { _id: id, state: { $in: [...whenState] } } : { _id: id };
    const doc = await this.models.files.findOneAndUpdate(filter, { $set: set }, { returnDocument: 'after' }).lean<FileDoc>();
    return toRecord<FileRecord>(doc);
  }

  async advanceCommitted(id: string, from: number, to: number): Promise<boolean> {
    const result = await this.models.files.updateOne(
      { _id: id, committed: from, state: { $in: [...IN_FLIGHT_STATES] } },
      { $set: { committed: to, updatedAt: new Date() } },
    );
    return result.matchedCount === 1;
  }

  async transitionState(id: string, from: FileState[], to: FileState): Promise<boolean> {
    if (from.length === 0) return false;
    const result = await this.models.files.updateOne({ _id: id, state: { $in: from } }, { $set: { state: to, updatedAt: new Date() } });
    return result.matchedCount === 1;
  }

  async markDeleted(id: string, at: Date): Promise<FileRecord | null> {
    const doc = await this.models.files
      .findOneAndUpdate(
        { _id: id, deletedAt: null, state: { $nin: [...IN_FLIGHT_STATES] } },
        { $set: { deletedAt: at, updatedAt: new Date() } },
        { returnDocument: 'after' },
      )
      .lean<FileDoc>();
    return toRecord<FileRecord>(doc);
  }

  async forgetCopy(id: string, copy: 'primary' | 'backup', expected: string): Promise<boolean> {
    const field = copy === 'primary' ? 'remoteId' : 'backup.remotePath';
    const result = await this.models.files.updateOne({ _id: id, [field]: expected }, { $set: { [field]: null, updatedAt: new Date() } });
    return result.matchedCount === 1;
  }

  async claimBackup(id: string, now: Date, leaseUntil: Date): Promise<FileRecord | null> {
    const doc = await this.models.files
      .findOneAndUpdate(
        { _id: id, ...claimable(now) },
        { $set: { 'backup.state': 'running', 'backup.leaseUntil': leaseUntil, updatedAt: now }, $inc: { 'backup.attempts': 1 } },
        { returnDocument: 'after' },
      )
      .lean<FileDoc>();
    return toRecord<FileRecord>(doc);
  }

  async listBackupDue(now: Date, limit: number): Promise<string[]> {
    const docs = await this.models.files.find(claimable(now), { _id: 1 }).sort({ createdAt: 1 }).limit(limit).lean<Array<{ _id: string }>>();
    return docs.map((d) => d._id);
  }

  async countByBackupState(): Promise<Record<BackupState, number>> {
    const counts: Record<BackupState, number> = { disabled: 0, pending: 0, running: 0, done: 0, failed: 0 };
    const rows = await this.models.files.aggregate<{ _id: BackupState; n: number }>([
      { $match: { deletedAt: null } },
      { $group: { _id: '$backup.state', n: { $sum: 1 } } },
    ]);
    for (const row of rows) counts[row._id] = row.n;
    return counts;
  }

  async settleBackup(id: string, lease: Date, patch: Partial<BackupInfo>): Promise<boolean> {
    const set: Record<string, unknown> = { updatedAt: new Date() };
    for (const [key, value] of Object.entries(patch)) if (value !== undefined) set[`backup.${key}`] = value;
    if (Object.keys(set).length === 1) return false;
    const result = await this.models.files.updateOne({ _id: id, 'backup.state': 'running', 'backup.leaseUntil': lease }, { $set: set });
    return result.matchedCount === 1;
  }

  async requeueBackups(from: BackupState[]): Promise<number> {
    if (from.length === 0) return 0;
    const result = await this.models.files.updateMany(
      { deletedAt: null, state: 'complete', 'backup.state': { $in: from } },
      { $set: { 'backup.state': 'pending', 'backup.nextAttemptAt': null, 'backup.lastError': null, 'backup.leaseUntil': null, updatedAt: new Date() } },
    );
    return result.modifiedCount;
  }

  async listByBackupState(query: PageQuery & { state?: BackupState }): Promise<Page<FileRecord>> {
    const filter: FilterQuery<FileDoc> = { deletedAt: null, state: 'complete' };
    if (query.state) filter['backup.state'] = query.state;
    const [docs, total] = await Promise.all([
      this.models.files.find(filter).sort({ createdAt: 1, _id: 1 }).skip(query.offset).limit(query.limit).lean<FileDoc[]>(),
      this.models.files.countDocuments(filter),
    ]);
    return { items: docs.map((d) => must(toRecord<FileRecord>(d), 'file')), total };
  }

  async listDeletedWithCopies(now: Date, limit: number): Promise<string[]> {
    const docs = await this.models.files
      .find(
        {
          deletedAt: { $ne: null },
          $or: [{ remoteId: { $ne: null } }, { 'backup.remotePath': { $ne: null } }, { 'backup.state': 'running', 'backup.leaseUntil': { $lt: now } }],
        },
        { _id: 1 },
      )
      .sort({ deletedAt: 1 })
      .limit(limit)
      .lean<Array<{ _id: string }>>();
    return docs.map((d) => d._id);
  }

  async listAbandonedUploads(now: Date, limit: number): Promise<string[]> {
    const docs = await this.models.files
      .find({ state: { $in: [...IN_FLIGHT_STATES] }, uploadExpiresAt: { $lt: now } }, { _id: 1 })
      .sort({ uploadExpiresAt: 1 })
      .limit(limit)
      .lean<Array<{ _id: string }>>();
    return docs.map((d) => d._id);
  }

  async placedBytesSince(since: Date): Promise<Record<string, number>> {
    const rows = await this.models.files.aggregate<{ _id: string; bytes: number }>([
      { $match: { accountId: { $ne: null }, placedAt: { $gte: since }, state: { $in: [...LIVE_STATES] } } },
      { $group: { _id: '$accountId', bytes: { $sum: '$size' } } },
    ]);
    return Object.fromEntries(rows.map((r) => [r._id, r.bytes]));
  }

  async countLiveOnAccount(accountId: string): Promise<number> {
    return this.models.files.countDocuments({ accountId, deletedAt: null, state: { $in: [...LIVE_STATES] } });
  }

  async detachAccount(accountId: string): Promise<number> {
    return (await this.models.files.updateMany({ accountId }, { $set: { accountId: null, updatedAt: new Date() } })).modifiedCount;
  }
}

export class MongoAccounts implements AccountsRepo {
  constructor(private readonly models: Models) {}

  async create(input: NewAccount): Promise<AccountRecord> {
    const now = new Date();
    const doc: AccountDoc = {
      _id: newId(),
      ...input,
      enabled: true,
      draining: false,
      reserved: 0,
      health: 'unknown',
      consecutiveFailures: 0,
      lastCheckAt: null,
      lastError: null,
      lastChosenAt: null,
      lastFailureAt: null,
      dailyCap: input.dailyCap ?? null,
      createdAt: now,
      updatedAt: now,
    };
    await this.models.accounts.create(doc);
    return must(toRecord<AccountRecord>(doc), 'account');
  }

  async findById(id: string): Promise<AccountRecord | null> {
    return toRecord<AccountRecord>(await this.models.accounts.findById(id).lean<AccountDoc>());
  }

  async list(): Promise<AccountRecord[]> {
    const docs = await this.models.accounts.find({}).sort({ createdAt: 1, _id: 1 }).lean<AccountDoc[]>();
    return docs.map((d) => must(toRecord<AccountRecord>(d), 'account'));
  }

  async update(id: string, patch: AccountPatch): Promise<AccountRecord | null> {
    const doc = await this.models.accounts
      .findOneAndUpdate({ _id: id }, { $set: { ...defined(patch), updatedAt: new Date() } }, { returnDocument: 'after' })
      .lean<AccountDoc>();
    return toRecord<AccountRecord>(doc);
  }

  async remove(id: string): Promise<boolean> {
    return (await this.models.accounts.deleteOne({ _id: id })).deletedCount === 1;
  }

  async reserve(id: string, bytes: number, at: Date): Promise<boolean> {
    const result = await this.models.accounts.updateOne(
      {
        _id: id,
        $or: [
          { quotaLimit: null },
          { $expr: { $gte: [{ $subtract: [{ $subtract: ['$quotaLimit', '$quotaUsed'] }, '$reserved'] }, bytes] } },
        ],
      },
      { $inc: { reserved: bytes }, $set: { lastChosenAt: at, updatedAt: at } },
    );
    return result.matchedCount === 1;
  }

  async release(id: string, bytes: number): Promise<void> {
    await this.models.accounts.updateOne(
      { _id: id },
      [{ $set: { reserved: { $max: [0, { $subtract: ['$reserved', bytes] }] }, updatedAt: '$$NOW' } }],
      { updatePipeline: true },
    );
  }

  async freeUsed(id: string, bytes: number): Promise<void> {
    await this.models.accounts.updateOne(
      { _id: id },
      [{ $set: { quotaUsed: { $max: [0, { $subtract: ['$quotaUsed', bytes] }] }, updatedAt: '$$NOW' } }],
      { updatePipeline: true },
    );
  }

  async commitReservation(id: string, bytes: number): Promise<void> {
    await this.models.accounts.updateOne(
      { _id: id },
      [
        {
          $set: {
            reserved: { $max: [0, { $subtract: ['$reserved', bytes] }] },
            quotaUsed: { $add: ['$quotaUsed', bytes] },
            updatedAt: '$$NOW',
          },
        },
      ],
      { updatePipeline: true },
    );
  }
}

export class MongoLinks implements LinksRepo {
  constructor(private readonly models: Models) {}

  async create(record: Omit<LinkRecord, 'id' | 'createdAt' | 'revokedAt'>): Promise<LinkRecord> {
    const link: LinkRecord = { ...record, id: newId(), createdAt: new Date(), revokedAt: null };
    const { id, ...rest } = link;
    await this.models.links.create({ ...rest, _id: id });
    return link;
  }

  async findByTokenHash(tokenHash: string): Promise<LinkRecord | null> {
    return toRecord<LinkRecord>(await this.models.links.findOne({ tokenHash }).lean());
  }

  async listByFile(fileId: string): Promise<LinkRecord[]> {
    const docs = await this.models.links.find({ fileId }).sort({ createdAt: -1, _id: 1 }).lean();
    return docs.map((d) => must(toRecord<LinkRecord>(d), 'link'));
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    return (await this.models.links.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: at } })).modifiedCount === 1;
  }
}

export class MongoAudit implements AuditRepo {
  constructor(private readonly models: Models) {}

  async append(input: Omit<AuditEvent, 'id' | 'at'> & { at?: Date }): Promise<AuditEvent> {
    const event: AuditEvent = { ...input, id: newId(), at: input.at ?? new Date() };
    const { id, ...rest } = event;
    await this.models.audit.create({ ...rest, _id: id });
    return event;
  }

  async list(query: PageQuery & { actorId?: string; action?: string }): Promise<Page<AuditEvent>> {
    const filter: FilterQuery<AuditDoc> = {};
    if (query.actorId !== undefined) filter.actorId = query.actorId;
    if (query.action !== undefined) filter.action = query.action;
    const [docs, total] = await Promise.all([
      this.models.audit.find(filter).sort({ at: -1, _id: -1 }).skip(query.offset).limit(query.limit).lean<AuditDoc[]>(),
      this.models.audit.countDocuments(filter),
    ]);
    return { items: docs.map((d) => must(toRecord<AuditEvent>(d), 'audit event')), total };
  }
}
