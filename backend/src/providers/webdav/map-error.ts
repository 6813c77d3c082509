import {
  AuthRevokedError,
  PermanentError,
  ProviderError,
  ProviderNotFoundError,
  QuotaExceededError,
  RateLimitedError,
  TransientError,
} from '../errors';

/** What a 429 (or 503) without a usable `Retry-After` asks us to wait. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;

/** Socket-level failures that say nothing about the request itself: the next try may work. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  // DNS "no such host" is usually a typo, but a resolver outage looks the same; the health
  // monitor's circuit breaker keeps a permanently wrong host out of placement either way.
  'ENOTFOUND',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** node-fetch failure types that a retry cannot fix: the server's redirects are misconfigured for us. */
const PERMANENT_FETCH_TYPES = new Set(['invalid-redirect', 'no-redirect', 'max-redirect', 'unsupported-redirect']);

/** The facts of a failure, pulled out of whatever the webdav client or node-fetch threw. */
export interface WebDavFailure {
  status?: number;
  code?: string;
  /** node-fetch's `type` (`system`, `aborted`, `max-redirect`, …). */
  type?: string;
  name?: string;
  retryAfter?: string;
  message: string;
}

export function describeFailure(err: unknown): WebDavFailure {
  const failure: WebDavFailure = { message: err instanceof Error ? err.message : String(err) };
  if (typeof err !== 'object' || err === null) return failure;
  const e = err as Record<string, unknown>;
  if (typeof e.status === 'number') failure.status = e.status;
  if (typeof e.name === 'string') failure.name = e.name;
  if (typeof e.type === 'string') failure.type = e.type;
  const cause = typeof e.cause === 'object' && e.cause !== null ? (e.cause as Record<string, unknown>) : undefined;
  const code = typeof e.code === 'string' ? e.code : typeof cause?.code === 'string' ? cause.code : undefined;
  if (code !== undefined) failure.code = code;
  const retryAfter = headerOf(e.response, 'retry-after');
  if (retryAfter !== undefined) failure.retryAfter = retryAfter;
  return failure;
}

function headerOf(response: unknown, name: string): string | undefined {
  if (typeof response !== 'object' || response === null) return undefined;
  const headers = (response as { headers?: unknown }).headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get !== 'function') return undefined;
  const value: unknown = get.call(headers, name);
  return typeof value === 'string' ? value : undefined;
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; undefined when unusable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date always names its weekday and month; V8's Date.parse would also take "-1" as a year.
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Maps a WebDAV failure onto the provider errors the pool acts on. `what`
 * names the operation for the message (e.g. `PUT /directdrivex/objects/…`).
 *
 * 401 becomes AuthRevokedError, not PermanentError: for a WebDAV member the
 * stored username/password is the whole "connection", so a rejected password
 * means exactly what a revoked Drive grant means — an admin must re-enter the
 * credentials — and the pool disables the member until then instead of
 * counting it as one more failed request. 403 is PermanentError: the server
 * knows who we are but will not let us do this here (read-only account, root
 * folder outside what it may write).
 */
export function mapWebDavError(err: unknown, what: string, now: number = Date.now()): ProviderError {
  if (err instanceof ProviderError) return err;
  const f = describeFailure(err);
  const options = { cause: err };
  if (f.status !== undefined) {
    const s = f.status;
    const http = `HTTP ${s}`;
    if (s === 401) {
      return new AuthRevokedError(`The WebDAV server rejected the credentials (${http} on ${what}): check the member's username and password`, options);
    }
    if (s === 403) {
      return new PermanentError(`The WebDAV server refused access (${http} on ${what}): credentials rejected for this path, or the account may not write there`, options);
    }
    if (s === 404 || s === 410) return new ProviderNotFoundError(`Not found on the WebDAV server (${http} on ${what})`, options);
    if (s === 507) return new QuotaExceededError(`The WebDAV server is out of space (${http} on ${what})`, options);
    if (s === 429 || (s === 503 && f.retryAfter !== undefined)) {
      const wait = parseRetryAfter(f.retryAfter, now) ?? DEFAULT_RETRY_AFTER_MS;
      return new RateLimitedError(wait, `The WebDAV server asks us to slow down (${http} on ${what}); retry after ${Math.ceil(wait / 1000)} s`, options);
    }
    if (s === 408 || s === 423 || s >= 500) return new TransientError(`The WebDAV server failed for now (${http} on ${what})`, options);
    return new PermanentError(`The WebDAV server refused ${what} (${http})`, options);
  }
  if (f.name === 'AbortError' || f.name === 'TimeoutError' || f.type === 'aborted') {
    return new TransientError(`${what} timed out`, options);
  }
  if (f.type !== undefined && PERMANENT_FETCH_TYPES.has(f.type)) {
    return new PermanentError(`${what} failed: ${f.message}`, options);
  }
  if (f.code !== undefined && TRANSIENT_CODES.has(f.code)) {
    return new TransientError(`${what} failed: cannot reach the WebDAV server (${f.code})`, options);
  }
  if (f.code !== undefined && /CERT|SSL|TLS/.test(f.code)) {
    return new PermanentError(`${what} failed: the WebDAV server's TLS certificate is not accepted (${f.code})`, options);
  }
  // Anything else (a reply cut short mid-XML, an unknown socket error) is most likely passing;
  // retries are bounded, and the health monitor notices a member that keeps failing.
  return new TransientError(`${what} failed: ${f.message}`, options);
}
