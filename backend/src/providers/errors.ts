/**
 * What can go wrong talking to a pool member, in the terms the pool and upload
 * logic act on (ARCHITECTURE.md, "Interfaces that carry the design"). Each
 * adapter maps its protocol's failures onto these; nothing above the adapter
 * looks at HTTP statuses or errno codes.
 */
export abstract class ProviderError extends Error {
  /** Whether the same operation may succeed if retried later on the same member. */
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Slow down: retry after `retryAfterMs` (Drive 403 rate limits, 429). */
export class RateLimitedError extends ProviderError {
  readonly retryable = true;
  constructor(
    readonly retryAfterMs: number,
    message = 'Rate limited by the storage provider',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The member is full: never retried on this member, another one should take the upload. */
export class QuotaExceededError extends ProviderError {
  readonly retryable = false;
}

/** Credentials were revoked (e.g. Drive `invalid_grant`): the account must be re-connected. */
export class AuthRevokedError extends ProviderError {
  readonly retryable = false;
}

/** The object or upload session does not exist (any more). */
export class ProviderNotFoundError extends ProviderError {
  readonly retryable = false;
}

/** A passing fault (5xx, reset connection, timeout): retry, after checking what was committed. */
export class TransientError extends ProviderError {
  readonly retryable = true;
}

/** A fault that retrying will not fix (bad request, misconfiguration). */
export class PermanentError extends ProviderError {
  readonly retryable = false;
}

/** A chunk was offered at the wrong offset; `committed` is where the member actually is. */
export class OffsetMismatchError extends ProviderError {
  readonly retryable = true;
  constructor(readonly committed: number, offered: number) {
    super(`Chunk offered at byte ${offered}, but ${committed} bytes are committed`);
  }
}
