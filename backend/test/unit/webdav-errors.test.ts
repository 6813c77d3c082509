import { describe, expect, it } from 'vitest';
import {
  AuthRevokedError,
  PermanentError,
  ProviderNotFoundError,
  QuotaExceededError,
  RateLimitedError,
  TransientError,
} from '../../src/providers/errors';
import { DEFAULT_RETRY_AFTER_MS, describeFailure, mapWebDavError, parseRetryAfter } from '../../src/providers/webdav/map-error';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const WHAT = 'PUT /directdrivex/objects/x';

/** What the webdav client throws for an error status: an Error with `status` and the fetch `response`. */
function httpError(status: number, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(`Invalid response: ${status}`), { status, response: { status, headers: new Headers(headers) } });
}

/** What node-fetch throws when the socket fails: a FetchError of type `system` carrying the errno code. */
function socketError(code: string): Error {
  return Object.assign(new Error(`request to http://127.0.0.1:1/ failed, reason: ${code}`), { name: 'FetchError', type: 'system', code, errno: code });
}

const map = (err: unknown) => mapWebDavError(err, WHAT, NOW);

describe('WebDAV error mapping', () => {
  it('401: the credentials were rejected — AuthRevokedError, so the member is disabled until fixed', () => {
    const err = map(httpError(401));
    expect(err).toBeInstanceOf(AuthRevokedError);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/rejected the credentials/);
    expect(err.message).toContain(WHAT);
  });

  it('403: refused access — PermanentError', () => {
    const err = map(httpError(403));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toMatch(/refused access.*credentials rejected/);
  });

  it.each([404, 410])('%d: not found', (status) => {
    expect(map(httpError(status))).toBeInstanceOf(ProviderNotFoundError);
  });

  it('507: the server is full', () => {
    const err = map(httpError(507));
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect(err.retryable).toBe(false);
  });

  it('429 honours Retry-After in seconds or as a date, else waits the default', () => {
    const seconds = map(httpError(429, { 'Retry-After': '7' }));
    expect(seconds).toBeInstanceOf(RateLimitedError);
    expect((seconds as RateLimitedError).retryAfterMs).toBe(7000);
    const date = map(httpError(429, { 'Retry-After': new Date(NOW + 30_000).toUTCString() }));
    expect((date as RateLimitedError).retryAfterMs).toBe(30_000);
    const none = map(httpError(429));
    expect((none as RateLimitedError).retryAfterMs).toBe(DEFAULT_RETRY_AFTER_MS);
    const garbage = map(httpError(429, { 'Retry-After': 'soon' }));
    expect((garbage as RateLimitedError).retryAfterMs).toBe(DEFAULT_RETRY_AFTER_MS);
  });

  it('503 with Retry-After is a request to slow down; without, a passing fault', () => {
    expect(map(httpError(503, { 'Retry-After': '3' }))).toBeInstanceOf(RateLimitedError);
    expect(map(httpError(503))).toBeInstanceOf(TransientError);
  });

  it.each([408, 423, 500, 502, 504, 599])('%d: transient', (status) => {
    const err = map(httpError(status));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.retryable).toBe(true);
  });

  it.each([400, 405, 409, 412, 413, 415])('%d: permanent', (status) => {
    const err = map(httpError(status));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain(`HTTP ${status}`);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE'])(
    '%s: transient, naming the code',
    (code) => {
      const err = map(socketError(code));
      expect(err).toBeInstanceOf(TransientError);
      expect(err.message).toContain(code);
    },
  );

  it('finds the errno code on a cause as well (fetch built on undici)', () => {
    const err = map(new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('an aborted or timed-out request is transient', () => {
    expect(map(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError', type: 'aborted' }))).toBeInstanceOf(TransientError);
    const timeout = map(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    expect(timeout).toBeInstanceOf(TransientError);
    expect(timeout.message).toMatch(/timed out/);
  });

  it('redirects we cannot follow and rejected certificates are permanent', () => {
    expect(map(Object.assign(new Error('maximum redirect reached'), { type: 'max-redirect' }))).toBeInstanceOf(PermanentError);
    expect(map(Object.assign(new Error('Cannot follow redirect'), { type: 'unsupported-redirect' }))).toBeInstanceOf(PermanentError);
    expect(map(socketError('CERT_HAS_EXPIRED'))).toBeInstanceOf(PermanentError);
    expect(map(socketError('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBeInstanceOf(PermanentError);
  });

  it('keeps a provider error as it is, and calls anything unknown transient', () => {
    const already = new ProviderNotFoundError('gone');
    expect(map(already)).toBe(already);
    expect(map(new Error('Unexpected end of XML'))).toBeInstanceOf(TransientError);
    expect(map('a string')).toBeInstanceOf(TransientError);
  });

  it('keeps the original failure as the cause', () => {
    const original = httpError(500);
    expect(map(original).cause).toBe(original);
    expect(map(httpError(429)).cause).toBeInstanceOf(Error);
  });
});

describe('describeFailure', () => {
  it('pulls out status, code, type and Retry-After without trusting the shape', () => {
    expect(describeFailure(httpError(429, { 'retry-after': '5' }))).toMatchObject({ status: 429, retryAfter: '5' });
    expect(describeFailure(socketError('ECONNRESET'))).toMatchObject({ code: 'ECONNRESET', type: 'system', name: 'FetchError' });
    expect(describeFailure(null)).toEqual({ message: 'null' });
    expect(describeFailure({ status: '500', response: { headers: {} } })).toEqual({ message: '[object Object]' });
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, never negative', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter(' 120 ', NOW)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('-1', NOW)).toBeUndefined();
  });
});
