import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthRevokedError,
  PermanentError,
  ProviderNotFoundError,
  QuotaExceededError,
  RateLimitedError,
  TransientError,
} from '../../src/providers/errors';
import { GoogleDriveProvider } from '../../src/providers/gdrive';
import { classifyError, classifyResponse, parseErrorBody, parseRetryAfter, toProviderError } from '../../src/providers/gdrive/map-error';
import { committedFromRange, contentRange, decodeHandle, encodeHandle, quoteQueryValue, sendableLength, sizeFromMediaHeaders } from '../../src/providers/gdrive/session';
import type { RetryPolicy } from '../../src/providers/retry';

const CHUNK = 256 * 1024;
const apiError = (code: number, reason: string, message = 'msg') => ({ error: { code, message, errors: [{ domain: 'usageLimits', reason, message }] } });

describe('Drive error mapping', () => {
  it('reads both of Google’s error shapes, as objects or JSON text', () => {
    expect(parseErrorBody(apiError(403, 'storageQuotaExceeded', 'full'))).toEqual({ reasons: ['storageQuotaExceeded'], message: 'full' });
    expect(parseErrorBody(JSON.stringify(apiError(404, 'notFound', 'File not found: x.')))).toEqual({ reasons: ['notFound'], message: 'File not found: x.' });
    expect(parseErrorBody({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' })).toEqual({
      reasons: [],
      oauthError: 'invalid_grant',
      message: 'Token has been expired or revoked.',
    });
    expect(parseErrorBody('Invalid request.  According to the Content-Range header…')).toEqual({ reasons: [], message: 'Invalid request.  According to the Content-Range header…' });
    expect(parseErrorBody(undefined)).toEqual({ reasons: [] });
    expect(parseErrorBody({ error: { errors: [{ reason: 7 }, null] } })).toEqual({ reasons: [] });
  });

  it.each([
    [401, apiError(401, 'authError'), 'unauthorized'],
    [403, apiError(403, 'storageQuotaExceeded'), 'quota-exceeded'],
    [403, apiError(403, 'userRateLimitExceeded'), 'rate-limited'],
    [403, apiError(403, 'rateLimitExceeded'), 'rate-limited'],
    [403, apiError(403, 'insufficientPermissions'), 'permanent'],
    [403, '<html>Forbidden</html>', 'permanent'],
    [429, apiError(429, 'rateLimitExceeded'), 'rate-limited'],
    [404, apiError(404, 'notFound'), 'not-found'],
    [410, '', 'not-found'],
    [408, '', 'transient'],
    [500, apiError(500, 'internalError'), 'transient'],
    [503, 'Invalid request.  According to the Content-Range header, the upload offset is 5 byte(s)…', 'transient'],
    [400, apiError(400, 'badRequest'), 'permanent'],
    [400, { error: 'invalid_grant', error_description: 'Bad Request' }, 'auth-revoked'],
    [401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' }, 'auth-revoked'],
    [400, { error: 'invalid_request' }, 'permanent'],
  ] as const)('maps %d %j to %s', (status, body, kind) => {
    expect(classifyResponse(status, undefined, body).kind).toBe(kind);
  });

  it('reads Retry-After as seconds or as an HTTP date, from Headers or plain objects', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:29:00 GMT'))).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(classifyResponse(429, new Headers({ 'Retry-After': '3' }), '')).toMatchObject({ kind: 'rate-limited', retryAfterMs: 3000 });
    expect(classifyResponse(503, { 'retry-after': ['2'] }, '')).toMatchObject({ kind: 'transient', retryAfterMs: 2000 });
    expect(classifyResponse(403, { 'Retry-After': '1' }, apiError(403, 'userRateLimitExceeded'))).toMatchObject({ retryAfterMs: 1000 });
  });

  it('treats a throw without a reply as a broken connection, and a gaxios-shaped error by its reply', () => {
    const reset = Object.assign(new TypeError('fetch failed', { cause: new Error('other side closed') }), { code: 'UND_ERR_SOCKET' });
    expect(classifyError(reset)).toEqual({ kind: 'transient', message: expect.stringContaining('UND_ERR_SOCKET') });
    expect(classifyError({ response: { status: 404, headers: {}, data: apiError(404, 'notFound') } }).kind).toBe('not-found');
  });

  it('turns each failure into its typed error', () => {
    expect(toProviderError({ kind: 'auth-revoked', message: 'm' }, 'c')).toBeInstanceOf(AuthRevokedError);
    expect(toProviderError({ kind: 'unauthorized', message: 'm' }, 'c')).toBeInstanceOf(AuthRevokedError);
    expect(toProviderError({ kind: 'quota-exceeded', message: 'm' }, 'c')).toBeInstanceOf(QuotaExceededError);
    expect(toProviderError({ kind: 'not-found', message: 'm' }, 'c')).toBeInstanceOf(ProviderNotFoundError);
    expect(toProviderError({ kind: 'transient', message: 'm' }, 'c')).toBeInstanceOf(TransientError);
    expect(toProviderError({ kind: 'permanent', message: 'm' }, 'c')).toBeInstanceOf(PermanentError);
    const limited = toProviderError({ kind: 'rate-limited', message: 'm', retryAfterMs: 1500 }, 'Reading');
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect(limited).toMatchObject({ retryAfterMs: 1500, message: 'Reading: m' });
  });
});

describe('resumable session helpers', () => {
  it('builds Content-Range and reads 308 Range headers', () => {
    expect(contentRange(0, CHUNK, 3 * CHUNK)).toBe(`bytes 0-${CHUNK - 1}/${3 * CHUNK}`);
    expect(contentRange(CHUNK, 0, CHUNK)).toBe(`bytes */${CHUNK}`);
    expect(committedFromRange(null)).toBe(0);
    expect(committedFromRange('bytes=0-262143')).toBe(CHUNK);
    expect(() => committedFromRange('bytes=5-9')).toThrow(PermanentError);
  });

  it('sends whole 256 KiB units of a non-final chunk, and all of a final one', () => {
    expect(sendableLength(0, 4 * CHUNK, 10 * CHUNK)).toBe(4 * CHUNK);
    expect(sendableLength(0, CHUNK + 5, 10 * CHUNK)).toBe(CHUNK);
    expect(sendableLength(0, 100, 10 * CHUNK)).toBe(0);
    expect(sendableLength(9 * CHUNK, CHUNK, 10 * CHUNK)).toBe(CHUNK);
    expect(sendableLength(0, 7, 7)).toBe(7);
  });

  it('round-trips its own handles and refuses anything else', () => {
    const raw = encodeHandle({ uri: 'https://www.googleapis.com/upload/drive/v3/files?uploadType=resumable&upload_id=x', size: 10, name: 'a' });
    expect(decodeHandle(raw)).toMatchObject({ v: 1, provider: 'gdrive', size: 10 });
    for (const bad of ['{"not":"mine"}', 'nonsense', JSON.stringify({ v: 1, provider: 'gdrive', uri: 'file:///etc/passwd', size: 1, name: 'x' }), JSON.stringify({ v: 1, provider: 'local', uri: 'https://x', size: 1, name: 'x' })]) {
      expect(() => decodeHandle(bad)).toThrow(PermanentError);
    }
  });

  it('quotes q values and reads sizes from media replies', () => {
    expect(quoteQueryValue("it's a \\ test")).toBe("'it\\'s a \\\\ test'");
    expect(sizeFromMediaHeaders(206, 'bytes 0-9/100', '10')).toBe(100);
    expect(sizeFromMediaHeaders(200, null, '100')).toBe(100);
    expect(sizeFromMediaHeaders(200, null, null)).toBeUndefined();
  });
});

describe('GoogleDriveProvider error paths (nock)', () => {
  const API = 'https://drive.nock.test';
  const TOKEN = 'https://oauth.nock.test';
  const FAST: RetryPolicy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
  const make = (retry: RetryPolicy = FAST) =>
    new GoogleDriveProvider({
      credentials: { clientId: 'cid', clientSecret: 'secret', refreshToken: 'rt' },
      endpoints: { apiRootUrl: `${API}/`, tokenUrl: `${TOKEN}/token` },
      retry,
    });
  const tokenOk = () => nock(TOKEN).post('/token').reply(200, { access_token: 'ya29.t', expires_in: 3600, token_type: 'Bearer' });

  beforeAll(() => nock.disableNetConnect());
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending).toEqual([]);
  });
  afterAll(() => {
    nock.enableNetConnect();
    nock.restore();
  });

  it('sends the refresh grant to the configured token URL and maps invalid_grant to AuthRevokedError', async () => {
    nock(TOKEN)
      .post('/token', (body: Record<string, string>) => body.grant_type === 'refresh_token' && body.refresh_token === 'rt' && body.client_id === 'cid')
      .reply(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
    await expect(make().quota()).rejects.toBeInstanceOf(AuthRevokedError);
  });

  it('waits out a 429 and honours Retry-After in the error it finally throws', async () => {
    tokenOk();
    nock(API).get('/drive/v3/about').query({ fields: 'storageQuota' }).reply(429, apiError(429, 'rateLimitExceeded'), { 'Retry-After': '0' });
    nock(API).get('/drive/v3/about').query({ fields: 'storageQuota' }).reply(200, { storageQuota: { limit: '100', usage: '40' } });
    expect(await make().quota()).toEqual({ limit: 100, used: 40 });

    tokenOk();
    nock(API).get('/drive/v3/about').query(true).reply(429, apiError(429, 'rateLimitExceeded'), { 'Retry-After': '12' });
    const err = await make({ attempts: 1, baseDelayMs: 1, maxDelayMs: 5 })
      .quota()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(12_000);
  });

  it('retries a reset connection and then reports TransientError', async () => {
    tokenOk();
    nock(API).get('/drive/v3/about').query(true).times(3).replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    await expect(make().quota()).rejects.toBeInstanceOf(TransientError);
  });

  it('maps an HTML 403 to PermanentError without retrying', async () => {
    tokenOk();
    nock(API).delete('/drive/v3/files/abc123').reply(403, '<html>Forbidden</html>', { 'Content-Type': 'text/html' });
    await expect(make().remove('abc123')).rejects.toBeInstanceOf(PermanentError);
  });

  it('reads media from apiRootUrl with the Range header, and refuses an unreadable 308', async () => {
    tokenOk();
    nock(API, { reqheaders: { range: 'bytes=2-4', authorization: 'Bearer ya29.t' } })
      .get('/drive/v3/files/abc123')
      .query({ alt: 'media' })
      .reply(206, 'cde', { 'Content-Range': 'bytes 2-4/10', 'Content-Length': '3' });
    const p = make();
    const { stream, size } = await p.read('abc123', { start: 2, end: 4 });
    expect(size).toBe(10);
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(part as Buffer);
    expect(Buffer.concat(parts).toString()).toBe('cde');

    const handle = encodeHandle({ uri: `${API}/upload/drive/v3/files?uploadType=resumable&upload_id=s1`, size: 2 * CHUNK, name: 'x' });
    nock(API).put('/upload/drive/v3/files').query(true).reply(308, '', { Range: 'bytes=10-20' });
    await expect(p.writeChunk(handle, 0, Buffer.alloc(CHUNK))).rejects.toBeInstanceOf(PermanentError);
  });

  it('sends session requests without a token, and treats 404 and 499 on cancel as done', async () => {
    const p = make();
    const handle = encodeHandle({ uri: `${API}/upload/drive/v3/files?uploadType=resumable&upload_id=s2`, size: 5, name: 'x' });
    nock(API, { badheaders: ['authorization'] })
      .put('/upload/drive/v3/files')
      .query({ uploadType: 'resumable', upload_id: 's2' })
      .matchHeader('content-range', 'bytes */5')
      .reply(308);
    expect(await p.queryUpload(handle)).toEqual({ state: 'in_progress', committed: 0 });
    nock(API).delete('/upload/drive/v3/files').query(true).reply(499);
    nock(API).delete('/upload/drive/v3/files').query(true).reply(404);
    await p.abortUpload(handle);
    await p.abortUpload(handle);
  });
});
