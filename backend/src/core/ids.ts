import { randomBytes, randomUUID } from 'node:crypto';

/** Record ids are UUIDv4 strings in every store, so ids look the same on SQLite and MongoDB. */
export const newId = (): string => randomUUID();

/** An unguessable URL-safe secret (refresh tokens, link tokens, upload tokens). */
export const newSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');
