import {
  AuthRevokedError,
  PermanentError,
  type ProviderError,
  ProviderNotFoundError,
  QuotaExceededError,
  RateLimitedError,
  TransientError,
} from '../errors';

/**
 * How a failed call to Google looked, in the terms the adapter acts on. Pure:
 * built from a status, headers and a body, so every mapping rule is testable
 * without a network.
 */
export type DriveFailure =
  /** The grant is gone (`invalid_grant`, deleted client): the account must be re-connected. */
  | { kind: 'auth-revoked'; message: string }
  /** 401 from the API: the access token was refused (refresh once, then it is `auth-revoked`). */
  | { kind: 'unauthorized'; message: string }
  /** 403 `userRateLimitExceeded` / `rateLimitExceeded`, or 429: back off. */
  | { kind: 'rate-limited'; message: string; retryAfterMs?: number }
  /** 403 `storageQuotaExceeded`: never retried on this account. */
  | { kind: 'quota-exceeded'; message: string }
  /** 404 / 410: the file or the upload session does not exist (any more). */
  | { kind: 'not-found'; message: string }
  /** 5xx, 408, a broken connection or a timeout. */
  | { kind: 'transient'; message: string; retryAfterMs?: number }
  /** Any other 4xx. */
  | { kind: 'permanent'; message: string };

/** What Google's two error shapes carry: the API's `{error:{code,message,errors:[{reason}]}}` and OAuth's `{error, error_description}`. */
export interface DriveErrorBody {
  message?: string;
  reasons: string[];
  /** OAuth endpoints: `invalid_grant`, `invalid_client`, … */
  oauthError?: string;
}

const RATE_LIMIT_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'sharingRateLimitExceeded', 'dailyLimitExceeded']);
/** OAuth errors after which only a new consent helps. */
const REVOKED_GRANT_ERRORS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client']);

/** Reads either of Google's error shapes from a parsed body or its JSON text; anything else yields no reasons. */
export function parseErrorBody(body: unknown): DriveErrorBody {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      const text = body.trim();
      return { reasons: [], ...(text ? { message: text.slice(0, 500) } : {}) };
    }
  }
  if (!value || typeof value !== 'object') return { reasons: [] };
  const error = (value as { error?: unknown }).error;
  if (typeof error === 'string') {
    const description = (value as { error_description?: unknown }).error_description;
    return { reasons: [], oauthError: error, ...(typeof description === 'string' ? { message: description } : {}) };
  }
  if (!error || typeof error !== 'object') return { reasons: [] };
  const { message, errors } = error as { message?: unknown; errors?: unknown };
  const reasons = Array.isArray(errors)
    ? errors.flatMap((e: unknown) => (e && typeof e === 'object' && typeof (e as { reason?: unknown }).reason === 'string' ? [(e as { reason: string }).reason] : []))
    : [];
  return { reasons, ...(typeof message === 'string' ? { message } : {}) };
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export type HeaderSource = { get(name: string): string | null } | Record<string, unknown> | undefined;

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  }
  return undefined;
}

/** Classifies a non-success reply from Drive or from the OAuth token endpoint. */
export function classifyResponse(status: number, headers: HeaderSource, body: unknown): DriveFailure {
  const parsed = parseErrorBody(body);
  const detail = [parsed.oauthError, parsed.reasons.join(', '), parsed.message].filter(Boolean).join(': ');
  const message = `Google answered ${status}${detail ? ` (${detail})` : ''}`;
  const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'));
  const withRetryAfter = retryAfterMs === undefined ? {} : { retryAfterMs };

  if (parsed.oauthError !== undefined && REVOKED_GRANT_ERRORS.has(parsed.oauthError)) return { kind: 'auth-revoked', message };
  if (status === 401) return { kind: 'unauthorized', message };
  if (status === 403) {
    if (parsed.reasons.includes('storageQuotaExceeded')) return { kind: 'quota-exceeded', message };
    if (parsed.reasons.some((r) => RATE_LIMIT_REASONS.has(r))) return { kind: 'rate-limited', message, ...withRetryAfter };
    return { kind: 'permanent', message };
  }
  if (status === 429) return { kind: 'rate-limited', message, ...withRetryAfter };
  if (status === 404 || status === 410) return { kind: 'not-found', message };
  if (status === 408 || status >= 500) return { kind: 'transient', message, ...withRetryAfter };
  return { kind: 'permanent', message };
}

/** A reply the adapter read itself (validateStatus accepting everything) and did not expect; shaped like a gaxios error. */
export class UnexpectedResponseError extends Error {
  constructor(readonly response: { status: number; headers: HeaderSource; data: unknown }) {
    super(`Unexpected HTTP ${response.status} from Google`);
    this.name = 'UnexpectedResponseError';
  }
}

/** Classifies anything a gaxios/googleapis call can throw: an HTTP failure by its reply, everything else as a broken connection. */
export function classifyError(err: unknown): DriveFailure {
  const response = err && typeof err === 'object' ? (err as { response?: unknown }).response : undefined;
  if (response && typeof response === 'object' && typeof (response as { status?: unknown }).status === 'number') {
    const r = response as { status: number; headers?: HeaderSource; data?: unknown };
    return classifyResponse(r.status, r.headers, r.data);
  }
  const code = err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  const text = err instanceof Error ? err.message : String(err);
  return { kind: 'transient', message: `No reply from Google (${typeof code === 'string' || typeof code === 'number' ? `${code}, ` : ''}${text}${cause})` };
}

/** The typed error for a failure; `retryAfterMs` is what a rate-limited caller should wait. */
export function toProviderError(failure: DriveFailure, context: string, options: { cause?: unknown; retryAfterMs?: number } = {}): ProviderError {
  const message = `${context}: ${failure.message}`;
  const cause = options.cause === undefined ? {} : { cause: options.cause };
  switch (failure.kind) {
    case 'auth-revoked':
    case 'unauthorized':
      return new AuthRevokedError(message, cause);
    case 'rate-limited':
      return new RateLimitedError(options.retryAfterMs ?? failure.retryAfterMs ?? 0, message);
    case 'quota-exceeded':
      return new QuotaExceededError(message, cause);
    case 'not-found':
      return new ProviderNotFoundError(message, cause);
    case 'transient':
      return new TransientError(message, cause);
    case 'permanent':
      return new PermanentError(message, cause);
  }
}
