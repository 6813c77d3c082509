import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AuthRevokedError,
  OffsetMismatchError,
  PermanentError,
  ProviderNotFoundError,
  QuotaExceededError,
  RateLimitedError,
  TransientError,
} from '../../src/providers/errors';
import { GoogleDriveProvider } from '../../src/providers/gdrive';
import type { RetryPolicy } from '../../src/providers/retry';
import { type AccountCredentials, type DriveEmulator, startDriveEmulator } from '../support/drive-emulator';

/** The Drive adapter, with the real googleapis client, against the emulator's faults. */

const CHUNK = 256 * 1024;
const TINY: RetryPolicy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };
const FOLDER = 'application/vnd.google-apps.folder';

let emu: DriveEmulator;
let account: AccountCredentials;
let now: number;

beforeEach(async () => {
  now = Date.now();
  emu = await startDriveEmulator({ now: () => now });
  account = emu.addAccount({ quotaLimit: 64 * CHUNK });
});
afterEach(async () => {
  await emu.close();
});

function provider(options: { retry?: RetryPolicy; credentials?: AccountCredentials; apiRootUrl?: string; folderName?: string } = {}) {
  const c = options.credentials ?? account;
  return new GoogleDriveProvider({
    credentials: { clientId: c.clientId, clientSecret: c.clientSecret, refreshToken: c.refreshToken },
    endpoints: { apiRootUrl: options.apiRootUrl ?? emu.env.GOOGLE_API_ROOT_URL, tokenUrl: emu.env.GOOGLE_OAUTH_TOKEN_URL },
    retry: options.retry ?? TINY,
    ...(options.folderName ? { folderName: options.folderName } : {}),
  });
}

const target = (size: number, name = 'f.bin') => ({ name, size, mimeType: 'application/octet-stream' });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Sends `data` like the gateway does: 4-chunk pieces from wherever the member says it is. */
async function uploadAll(p: GoogleDriveProvider, handle: string, data: Buffer, from = 0): Promise<string> {
  let offset = from;
  for (;;) {
    const result = await p.writeChunk(handle, offset, data.subarray(offset, offset + 4 * CHUNK));
    offset = result.committed;
    if (result.remoteId !== undefined) return result.remoteId;
  }
}

const requests = () => emu.stats().requests;

describe('GoogleDriveProvider under faults', () => {
  it('resumes from the queried offset after a 5xx mid-upload', async () => {
    const p = provider();
    const data = randomBytes(3 * CHUNK);
    const handle = await p.startUpload(target(data.length));
    expect(await p.writeChunk(handle, 0, data.subarray(0, CHUNK))).toEqual({ committed: CHUNK });

    emu.injectFault({ on: 'upload-chunk', fault: { type: 'http-error', status: 503 } });
    expect(await p.writeChunk(handle, CHUNK, data.subarray(CHUNK, 2 * CHUNK))).toEqual({ committed: 2 * CHUNK });
    // The 503 was followed by a status query, then the same chunk again.
    expect(requests()).toMatchObject({ 'upload-chunk': 3, 'status-query': 1 });

    // A 5xx after the chunk was stored: the query shows it, and it is not sent twice.
    emu.injectFault({ on: 'upload-chunk', fault: { type: 'http-error', status: 500, afterCommit: true } });
    const last = await p.writeChunk(handle, 2 * CHUNK, data.subarray(2 * CHUNK));
    expect(last).toEqual({ committed: data.length, remoteId: expect.any(String) });
    expect(requests()).toMatchObject({ 'upload-chunk': 4, 'status-query': 2 });
    expect((await emu.readFile(last.remoteId!)).equals(data)).toBe(true);
  });

  it('gives up with TransientError when the 5xx outlasts the policy, with nothing lost', async () => {
    const p = provider();
    const data = randomBytes(2 * CHUNK);
    const handle = await p.startUpload(target(data.length));
    emu.injectFault({ on: 'upload-chunk', times: null, fault: { type: 'http-error', status: 503 } });
    await expect(p.writeChunk(handle, 0, data.subarray(0, CHUNK))).rejects.toBeInstanceOf(TransientError);
    expect(requests()['upload-chunk']).toBe(TINY.attempts);
    emu.clearFaults();
    expect(await p.queryUpload(handle)).toEqual({ state: 'in_progress', committed: 0 });
    expect(await uploadAll(p, handle, data)).toEqual(expect.any(String));
  });

  it('handles a connection dropped mid-chunk: the partial commit is reported and the stored bytes equal the bytes sent', async () => {
    const p = provider();
    const data = randomBytes(6 * CHUNK + 5000);
    const handle = await p.startUpload(target(data.length));
    emu.injectFault({ on: 'upload-chunk', fault: { type: 'drop-connection', afterBytes: 2 * CHUNK + 70_000 } });
    // Drive kept two whole units of the four offered: the caller hears 2 × 256 KiB and goes on from there.
    expect(await p.writeChunk(handle, 0, data.subarray(0, 4 * CHUNK))).toEqual({ committed: 2 * CHUNK });
    const remoteId = await uploadAll(p, handle, data, 2 * CHUNK);
    expect(sha(await emu.readFile(remoteId))).toBe(sha(data));
    expect(sha(await collect((await p.read(remoteId)).stream))).toBe(sha(data));
  });

  it('recovers the file id when the last chunk’s reply is lost', async () => {
    const p = provider();
    const data = randomBytes(CHUNK + 10);
    const handle = await p.startUpload(target(data.length));
    emu.injectFault({ on: 'upload-chunk', fault: { type: 'drop-connection', afterBytes: 10 * CHUNK } });
    const result = await p.writeChunk(handle, 0, data);
    expect(result).toEqual({ committed: data.length, remoteId: expect.any(String) });
    expect((await emu.readFile(result.remoteId!)).equals(data)).toBe(true);
  });

  it('backs off on 403 rate limits and 429, then succeeds', async () => {
    const p = provider({ retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 100 } });
    const data = randomBytes(CHUNK + 1);
    const handle = await p.startUpload(target(data.length));
    emu.injectFault({ on: 'upload-chunk', fault: { type: 'rate-limit', reason: 'rateLimitExceeded' } });
    emu.injectFault({ on: 'upload-chunk', fault: { type: 'too-many-requests', retryAfterSeconds: 0 } });
    const started = Date.now();
    expect(await p.writeChunk(handle, 0, data.subarray(0, CHUNK))).toEqual({ committed: CHUNK });
    // Two waits: at least 20 ms and 40 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
    expect(requests()['upload-chunk']).toBe(3);

    emu.injectFault({ on: 'about', fault: { type: 'rate-limit' } });
    emu.injectFault({ on: 'about', fault: { type: 'too-many-requests' } });
    expect((await p.quota()).limit).toBe(64 * CHUNK);
    expect(requests().about).toBe(3);
  });

  it('throws RateLimitedError once the policy is spent, carrying the server’s Retry-After', async () => {
    const p = provider();
    await p.quota();
    emu.injectFault({ on: 'about', times: null, fault: { type: 'too-many-requests', retryAfterSeconds: 30 } });
    const err = await p.quota().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(30_000);
    expect(requests().about).toBe(1 + TINY.attempts);
    expect(await p.check()).toBe('degraded');
  });

  it('maps storageQuotaExceeded to QuotaExceededError, at session start and at completion', async () => {
    const p = provider();
    await expect(p.startUpload(target(65 * CHUNK))).rejects.toBeInstanceOf(QuotaExceededError);

    const data = randomBytes(2 * CHUNK);
    const handle = await p.startUpload(target(data.length));
    await p.writeChunk(handle, 0, data.subarray(0, CHUNK));
    emu.setQuota(account.id, { usage: 63 * CHUNK });
    await expect(p.writeChunk(handle, CHUNK, data.subarray(CHUNK))).rejects.toBeInstanceOf(QuotaExceededError);
    expect(requests()['upload-chunk']).toBe(2);

    emu.injectFault({ on: 'create-session', fault: { type: 'storage-quota' } });
    await expect(p.startUpload(target(1))).rejects.toBeInstanceOf(QuotaExceededError);
  });

  it('reports an expired session as ProviderNotFoundError and queryUpload as expired', async () => {
    const p = provider();
    const handle = await p.startUpload(target(2 * CHUNK));
    await p.writeChunk(handle, 0, randomBytes(CHUNK));
    now += 7 * 24 * 3600 * 1000;
    await expect(p.writeChunk(handle, CHUNK, randomBytes(CHUNK))).rejects.toBeInstanceOf(ProviderNotFoundError);
    expect(await p.queryUpload(handle)).toEqual({ state: 'expired' });
    await p.abortUpload(handle);

    const other = await p.startUpload(target(2 * CHUNK));
    emu.injectFault({ on: 'upload-chunk', fault: { type: 'expire-session' } });
    await expect(p.writeChunk(other, 0, randomBytes(CHUNK))).rejects.toBeInstanceOf(ProviderNotFoundError);
  });

  it('says where the upload is when a chunk is offered past it, or a short non-final chunk is offered', async () => {
    const p = provider();
    const handle = await p.startUpload(target(4 * CHUNK));
    await p.writeChunk(handle, 0, randomBytes(CHUNK));
    await expect(p.writeChunk(handle, 2 * CHUNK, randomBytes(CHUNK))).rejects.toEqual(expect.objectContaining({ committed: CHUNK }));
    await expect(p.writeChunk(handle, 2 * CHUNK, randomBytes(CHUNK))).rejects.toBeInstanceOf(OffsetMismatchError);
    // Under 256 KiB and not the end: Drive could keep none of it.
    expect(await p.writeChunk(handle, CHUNK, randomBytes(1000))).toEqual({ committed: CHUNK });
    await expect(p.writeChunk(handle, 3 * CHUNK, randomBytes(10))).rejects.toBeInstanceOf(OffsetMismatchError);
    // An unaligned longer chunk is trimmed to whole units.
    expect(await p.writeChunk(handle, CHUNK, randomBytes(CHUNK + 1000))).toEqual({ committed: 2 * CHUNK });
  });

  it('turns invalid_grant into AuthRevokedError, before first use and mid-life', async () => {
    const revoked = emu.addAccount();
    emu.revokeRefreshToken(revoked.refreshToken);
    const dead = provider({ credentials: revoked });
    await expect(dead.quota()).rejects.toBeInstanceOf(AuthRevokedError);
    await expect(dead.startUpload(target(1))).rejects.toBeInstanceOf(AuthRevokedError);
    expect(await dead.check()).toBe('down');

    const p = provider();
    await p.quota();
    emu.revokeRefreshToken(account.refreshToken);
    await expect(p.quota()).rejects.toBeInstanceOf(AuthRevokedError);
  });

  it('refreshes once on a 401 and calls a second 401 AuthRevokedError', async () => {
    const p = provider();
    await p.quota();
    emu.injectFault({ on: 'about', times: 2, fault: { type: 'http-error', status: 401, reason: 'authError', message: 'Invalid Credentials' } });
    await expect(p.quota()).rejects.toBeInstanceOf(AuthRevokedError);
    expect(requests()).toMatchObject({ token: 2, about: 3 });
  });

  it('refreshes an access token that expired mid-upload without the caller noticing', async () => {
    const p = provider();
    const data = randomBytes(3 * CHUNK);
    const handle = await p.startUpload(target(data.length));
    await p.writeChunk(handle, 0, data.subarray(0, CHUNK));
    // The server stops accepting the token while the client still believes it fresh.
    now += 2 * 3600 * 1000;
    await p.writeChunk(handle, CHUNK, data.subarray(CHUNK, 2 * CHUNK));
    const second = await p.startUpload(target(5, 'second.bin'));
    const { remoteId } = await p.writeChunk(handle, 2 * CHUNK, data.subarray(2 * CHUNK));
    expect(sha(await collect((await p.read(remoteId!)).stream))).toBe(sha(data));
    expect((await p.writeChunk(second, 0, Buffer.from('hello'))).remoteId).toEqual(expect.any(String));
    expect(requests().token).toBe(2);
    expect(emu.log().filter((e) => e.status === 401)).toHaveLength(1);
  });

  it('sends media requests to apiRootUrl too, with the Range asked for', async () => {
    const p = provider({ apiRootUrl: emu.url });
    const data = randomBytes(CHUNK + 100);
    const handle = await p.startUpload(target(data.length));
    const remoteId = await uploadAll(p, handle, data);
    const { stream, size } = await p.read(remoteId, { start: 5, end: CHUNK + 4 });
    expect(size).toBe(data.length);
    expect((await collect(stream)).equals(data.subarray(5, CHUNK + 5))).toBe(true);
    const media = emu.log().filter((e) => e.kind === 'media');
    expect(media).toEqual([expect.objectContaining({ path: `/drive/v3/files/${remoteId}?alt=media`, status: 206 })]);
    await expect(p.read(remoteId, { start: 0, end: data.length })).rejects.toBeInstanceOf(PermanentError);
  });

  it('fails a download that breaks off with TransientError, and a missing file before returning', async () => {
    const p = provider();
    const data = randomBytes(200_000);
    const handle = await p.startUpload(target(data.length));
    const remoteId = await uploadAll(p, handle, data);
    emu.injectFault({ on: 'media', fault: { type: 'drop-connection', afterBytes: 50_000 } });
    const { stream } = await p.read(remoteId);
    await expect(collect(stream)).rejects.toBeInstanceOf(TransientError);

    await p.remove(remoteId);
    await expect(p.read(remoteId)).rejects.toBeInstanceOf(ProviderNotFoundError);
    emu.injectFault({ on: 'media', fault: { type: 'http-error', status: 503 } });
    await p.remove(remoteId);
  });

  it('finds or creates the app folder once, shares the lookup, and recreates it when it vanishes', async () => {
    const p = provider({ folderName: "Ann's files" });
    const handles = await Promise.all([p.startUpload(target(1)), p.startUpload(target(2)), p.startUpload(target(3))]);
    expect(handles).toHaveLength(3);
    expect(requests()).toMatchObject({ list: 1, create: 1, 'create-session': 3 });
    const folders = emu.files(account.id).filter((f) => f.mimeType === FOLDER);
    expect(folders.map((f) => f.name)).toEqual(["Ann's files"]);

    // Another instance (a restarted gateway) finds it.
    await provider({ folderName: "Ann's files" }).startUpload(target(1));
    expect(requests()).toMatchObject({ list: 2, create: 1 });

    const { remoteId } = await p.writeChunk(handles[0]!, 0, Buffer.from('x'));
    expect(emu.file(remoteId!)?.parents).toEqual([folders[0]!.id]);

    const token = await fetch(emu.env.GOOGLE_OAUTH_TOKEN_URL, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: account.refreshToken, client_id: account.clientId, client_secret: account.clientSecret }),
    });
    const { access_token } = (await token.json()) as { access_token: string };
    await fetch(`${emu.url}/drive/v3/files/${folders[0]!.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${access_token}` } });
    await p.startUpload(target(1));
    expect(emu.files(account.id).filter((f) => f.mimeType === FOLDER)).toHaveLength(1);
  });

  it('reports health with one probe: healthy, or down on a failure', async () => {
    const p = provider();
    expect(await p.check()).toBe('healthy');
    emu.injectFault({ on: 'about', fault: { type: 'http-error', status: 503 } });
    expect(await p.check()).toBe('down');
    expect(requests().about).toBe(2);
    expect(await p.check()).toBe('healthy');
  });

  it('reports an unlimited account’s quota with a null limit', async () => {
    const unlimited = emu.addAccount({ quotaLimit: null, usage: 1234 });
    expect(await provider({ credentials: unlimited }).quota()).toEqual({ limit: null, used: 1234 });
  });
});
