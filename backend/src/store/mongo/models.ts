import { Schema, type Connection, type Model } from 'mongoose';
import type { AccountRecord, AuditEvent, FileRecord, LinkRecord, RefreshTokenRecord, UserRecord } from '../types';

/**
 * Mongoose schemas mirroring the domain records. `_id` is our UUID string (so
 * ids look alike on every store); `id` is added back when mapping to a record.
 */
type Doc<T extends { id: string }> = Omit<T, 'id'> & { _id: string };

export type UserDoc = Doc<UserRecord>;
export type RefreshTokenDoc = Doc<RefreshTokenRecord>;
export type FileDoc = Doc<FileRecord>;
export type AccountDoc = Doc<AccountRecord>;
export type LinkDoc = Doc<LinkRecord>;
export type AuditDoc = Doc<AuditEvent>;

const options = { versionKey: false, minimize: false } as const;

/**
 * mongoose's `required` rejects '' for strings; SQLite's NOT NULL does not. For
 * the two stores to agree, a required string here only has to be a string.
 */
Schema.Types.String.checkRequired((value: unknown) => typeof value === 'string');

const userSchema = new Schema<UserDoc>(
  {
    _id: { type: String, required: true },
    email: { type: String, required: true, unique: true },
    passwordHash: { type: String, default: null },
    role: { type: String, required: true, enum: ['user', 'admin'] },
    disabled: { type: Boolean, required: true, default: false },
    storageQuota: { type: Number, required: true },
    storageUsed: { type: Number, required: true, default: 0 },
    googleId: { type: String, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  options,
);
// Unique only among users that have one (null is not a value here).
userSchema.index({ googleId: 1 }, { unique: true, partialFilterExpression: { googleId: { $type: 'string' } } });

const refreshTokenSchema = new Schema<RefreshTokenDoc>(
  {
    _id: { type: String, required: true },
    familyId: { type: String, required: true, index: true },
    userId: { type: String, required: true, index: true },
    tokenHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    usedAt: { type: Date, default: null },
    revokedAt: { type: Date, default: null },
  },
  options,
);

const backupSchema = new Schema(
  {
    state: { type: String, required: true, enum: ['disabled', 'pending', 'running', 'done', 'failed'] },
    attempts: { type: Number, required: true, default: 0 },
    lastError: { type: String, default: null },
    nextAttemptAt: { type: Date, default: null },
    leaseUntil: { type: Date, default: null },
    remotePath: { type: String, default: null },
    backedUpAt: { type: Date, default: null },
  },
  { _id: false, ...options },
);

const fileSchema = new Schema<FileDoc>(
  {
    _id: { type: String, required: true },
    ownerId: { type: String, required: true },
    name: { type: String, required: true },
    size: { type: Number, required: true, min: 0 },
    mimeType: { type: String, required: true },
    sha256: { type: String, default: null },
    state: { type: String, required: true, enum: ['pending', 'uploading', 'complete', 'cancelled', 'expired', 'failed'] },
    accountId: { type: String, default: null },
    remoteId: { type: String, default: null },
    committed: { type: Number, required: true, default: 0 },
    uploadSession: { type: String, default: null },
    uploadTokenHash: { type: String, default: null },
    uploadExpiresAt: { type: Date, default: null },
    placedAt: { type: Date, default: null },
    backup: { type: backupSchema, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    deletedAt: { type: Date, default: null },
  },
  options,
);
fileSchema.index({ ownerId: 1, deletedAt: 1, createdAt: -1 });
fileSchema.index({ ownerId: 1, deletedAt: 1, name: 1 }, { collation: { locale: 'en', strength: 2 } });
fileSchema.index({ 'backup.state': 1, 'backup.nextAttemptAt': 1 });
fileSchema.index({ accountId: 1, placedAt: 1 });
fileSchema.index({ state: 1, uploadExpiresAt: 1 });

const accountSchema = new Schema<AccountDoc>(
  {
    _id: { type: String, required: true },
    provider: { type: String, required: true, enum: ['gdrive', 'webdav', 'local'] },
    name: { type: String, required: true },
    enabled: { type: Boolean, required: true, default: true },
    draining: { type: Boolean, required: true, default: false },
    credentials: { type: String, required: true },
    quotaLimit: { type: Number, default: null },
    quotaUsed: { type: Number, required: true, default: 0 },
    reserved: { type: Number, required: true, default: 0 },
    health: { type: String, required: true, default: 'unknown' },
    consecutiveFailures: { type: Number, required: true, default: 0 },
    lastCheckAt: { type: Date, default: null },
    lastError: { type: String, default: null },
    lastChosenAt: { type: Date, default: null },
    lastFailureAt: { type: Date, default: null },
    dailyCap: { type: Number, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  options,
);

const linkSchema = new Schema<LinkDoc>(
  {
    _id: { type: String, required: true },
    fileId: { type: String, required: true, index: true },
    createdBy: { type: String, required: true },
    tokenHash: { type: String, required: true, unique: true },
    passwordHash: { type: String, default: null },
    expiresAt: { type: Date, required: true },
    revokedAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
  },
  options,
);

const auditSchema = new Schema<AuditDoc>(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true, index: true },
    actorId: { type: String, default: null },
    action: { type: String, required: true },
    targetType: { type: String, default: null },
    targetId: { type: String, default: null },
    ip: { type: String, default: null },
    details: { type: Schema.Types.Mixed, required: true },
  },
  options,
);
auditSchema.index({ actorId: 1, at: -1 });

export interface Models {
  users: Model<UserDoc>;
  refreshTokens: Model<RefreshTokenDoc>;
  files: Model<FileDoc>;
  accounts: Model<AccountDoc>;
  links: Model<LinkDoc>;
  audit: Model<AuditDoc>;
}

export function registerModels(connection: Connection): Models {
  return {
    users: connection.model<UserDoc>('User', userSchema, 'users'),
    refreshTokens: connection.model<RefreshTokenDoc>('RefreshToken', refreshTokenSchema, 'refresh_tokens'),
    files: connection.model<FileDoc>('File', fileSchema, 'files'),
    accounts: connection.model<AccountDoc>('Account', accountSchema, 'accounts'),
    links: connection.model<LinkDoc>('Link', linkSchema, 'links'),
    audit: connection.model<AuditDoc>('AuditEvent', auditSchema, 'audit_events'),
  };
}
