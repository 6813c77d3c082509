import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayEvent } from '../../src/realtime/event-bus';
import { adminToken, api, initiate, newUser, startTestGateway, type TestGateway } from '../support/gateway';
import { fromBuffer, uploadAttempt, uploadWithResume } from '../support/ws-upload-client';

/**
 * The upload contract end to end over real sockets, on local-disk pool members
 * (the Drive-specific behaviour is in gdrive-uploads.test.ts).
 */
const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let gw: TestGateway;
let admin: string;

async function addLocal(name: string, quotaLimit?: number): Promise<string> {
  const res = await api<{ id: string }>(gw.url, 'POST', '/api/v1/admin/accounts', {
    token: admin,
    body: { provider: 'local', name, path: path.join(gw.dataDir, `member-${name}`) },
  });
  expect(res.status).toBe(201);
  // Health checks are off in tests, so a quota set here stays put.
  if (quotaLimit !== undefined) await gw.running.store.accounts.update(res.body.id, { quotaLimit, quotaUsed: 0 });
  return res.body.id;
}

/** The stored bytes of a complete file on a local member. */
async function storedBytes(fileId: string): Promise<Buffer> {
  const file = (await gw.running.store.files.findById(fileId))!;
  const account = (await gw.running.store.accounts.findById(file.accountId!))!;
  const dir = path.join(gw.dataDir, `member-${account.name}`, 'objects', file.remoteId!);
  return fs.readFileSync(dir);
}

async function upload(token: string, data: Buffer, name = 'file.bin') {
  const init = await initiate(gw, token, name, data.length);
  expect(init.status).toBe(201);
  const result = await uploadWithResume({
    wsBase: gw.wsBase,
    fileId: init.body.fileId,
    token: init.body.uploadToken,
    size: data.length,
    chunkSize: init.body.chunkSize,
    readChunk: fromBuffer(data),
  });
  return { init: init.body, ...result };
}

beforeEach(async () => {
  gw = await startTestGateway();
  admin = await adminToken(gw);
});
afterEach(async () => {
  await gw.close();
});

describe('initiate', () => {
  it('answers the contract shape and validates input with clear errors', async () => {
    await addLocal('a');
    const { token } = await newUser(gw, 'v@example.com');
    const ok = await initiate(gw, token, 'C:\\fakepath\\report.pdf', 10);
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual({ fileId: expect.any(String), uploadUrl: `/ws_api/upload/${ok.body.fileId}`, uploadToken: expect.any(String), chunkSize: CHUNK });
    expect((await gw.running.store.files.findById(ok.body.fileId))?.name).toBe('report.pdf');
    expect((await gw.running.store.files.findById(ok.body.fileId))?.mimeType).toBe('application/pdf');

    for (const [body, field] of [
      [{ size: 1 }, 'filename'],
      [{ filename: 'x', size: -1 }, 'size'],
      [{ filename: 'x', size: 1.5 }, 'size'],
      [{ filename: 'x', size: '10' }, 'size'],
      [{ filename: 'x', size: 6e12 }, 'size'],
      [{ filename: '..', size: 1 }, 'filename'],
      [{ filename: 'x', size: 1, owner: 'someone' }, 'body'],
    ] as const) {
      const res = await api<{ error: { code: string; issues: Array<{ field: string }> } }>(gw.url, 'POST', '/api/v1/upload/initiate', { token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.issues.map((i) => i.field)).toContain(field);
    }
    expect((await api(gw.url, 'POST', '/api/v1/upload/initiate', { body: { filename: 'x', size: 1 } })).status).toBe(401);
  });

  it('refuses a file over the user quota with 413 and reserves nothing', async () => {
    const accountId = await addLocal('a');
    const { token, userId } = await newUser(gw, 'q@example.com', 1000);
    const res = await initiate(gw, token, 'big.bin', 1001);
    expect(res.status).toBe(413);
    expect(res.body.error?.code).toBe('quota_exceeded');
    expect((await gw.running.store.users.findById(userId))?.storageUsed).toBe(0);
    expect((await gw.running.store.accounts.findById(accountId))?.reserved).toBe(0);
    expect((await api<{ total: number }>(gw.url, 'GET', '/api/v1/admin/accounts', { token: admin })).body.total).toBe(1);
    expect(await gw.running.store.files.placedBytesSince(new Date(0))).toEqual({});
  });

  it('answers 507 when no member has room, and gives the user reservation back', async () => {
    const { token, userId } = await newUser(gw, 'full@example.com');
    expect((await initiate(gw, token, 'x', 10)).body.error?.code).toBe('insufficient_storage');
    await addLocal('small', 100);
    const res = await initiate(gw, token, 'x', 101);
    expect(res.status).toBe(507);
    expect((await gw.running.store.users.findById(userId))?.storageUsed).toBe(0);
    expect((await initiate(gw, token, 'x', 100)).status).toBe(201);
  });
});

describe('WebSocket uploads', () => {
  it.each([0, 1, CHUNK, CHUNK + 1, 2 * CHUNK + 12345])('stores %d bytes intact, hashed while streaming', async (size) => {
    await addLocal('a');
    const { token, userId } = await newUser(gw, 'sizes@example.com');
    const data = randomBytes(size);
    const { final, attempts, init } = await upload(token, data);
    expect(attempts).toHaveLength(1);
    expect(final.outcome).toBe('complete');
    if (final.outcome !== 'complete') return;
    expect(final.file).toMatchObject({ id: init.fileId, size, state: 'complete', sha256: sha(data), name: 'file.bin', backup: { state: 'disabled' } });
    expect(final.file).not.toHaveProperty('accountId');
    expect(final.messages[0]).toEqual({ type: 'ready', offset: 0 });
    expect((await storedBytes(init.fileId)).equals(data)).toBe(true);
    const account = (await gw.running.store.accounts.list())[0]!;
    expect(account.reserved).toBe(0);
    expect((await gw.running.store.users.findById(userId))?.storageUsed).toBe(size);
    const status = await api(gw.url, 'GET', `/api/v1/upload/${init.fileId}/status`, { token });
    expect(status.body).toEqual({ state: 'complete', committed: size, size });
    expect(gw.logs.join('')).not.toContain('hashed by reading it back');
  });

  it('resumes from the committed offset after the connection drops, twice', async () => {
    await addLocal('a');
    const { token } = await newUser(gw, 'drop@example.com');
    const data = randomBytes(5 * CHUNK + 99);
    const init = (await initiate(gw, token, 'd.bin', data.length)).body;
    const { final, attempts } = await uploadWithResume({
      wsBase: gw.wsBase,
      fileId: init.fileId,
      token: init.uploadToken,
      size: data.length,
      chunkSize: CHUNK,
      readChunk: fromBuffer(data),
      dropPlan: [2 * CHUNK, CHUNK],
    });
    expect(final.outcome).toBe('complete');
    expect(attempts.map((a) => a.outcome)).toEqual(['dropped', 'dropped', 'complete']);
    const offsets = attempts.map((a) => a.readyOffset!);
    expect(offsets[0]).toBe(0);
    // Each reconnect starts where the server says the bytes are safe: at least what it had acknowledged.
    expect(offsets[1]).toBeGreaterThanOrEqual(2 * CHUNK);
    expect(offsets[1]! % CHUNK).toBe(0);
    expect(offsets[2]).toBeGreaterThanOrEqual(offsets[1]! + CHUNK);
    if (final.outcome === 'complete') expect(final.file.sha256).toBe(sha(data));
    expect((await storedBytes(init.fileId)).equals(data)).toBe(true);
  });

  it('resumes after the gateway restarts, hashing the stored bytes it could not see', async () => {
    await addLocal('a');
    const { token } = await newUser(gw, 'restart@example.com');
    const data = randomBytes(3 * CHUNK + 7);
    const init = (await initiate(gw, token, 'r.bin', data.length)).body;
    const options = {
      wsBase: gw.wsBase,
      fileId: init.fileId,
      token: init.uploadToken,
      size: data.length,
      chunkSize: CHUNK,
      readChunk: fromBuffer(data),
      dropPlan: [2 * CHUNK],
      beforeReconnect: async () => {
        await gw.restart();
        options.wsBase = gw.wsBase;
      },
    };
    const { final, attempts } = await uploadWithResume(options);
    expect(final.outcome).toBe('complete');
    expect(attempts[1]?.readyOffset).toBeGreaterThan(0);
    if (final.outcome === 'complete') expect(final.file.sha256).toBe(sha(data));
    expect(gw.logs.join('')).toContain('hashed by reading it back');
  });

  it('refuses wrong-size and surplus frames with clear, final errors and keeps what was committed', async () => {
    await addLocal('a');
    const { token } = await newUser(gw, 'frames@example.com');
    const data = randomBytes(CHUNK + 10);
    const init = (await initiate(gw, token, 'f.bin', data.length)).body;
    const base = { wsBase: gw.wsBase, fileId: init.fileId, token: init.uploadToken, size: data.length, chunkSize: CHUNK };
    const wrong = await uploadAttempt({ ...base, chunkSize: CHUNK - 1, readChunk: fromBuffer(data) });
    expect(wrong).toMatchObject({ outcome: 'error', code: 'chunk_size_mismatch', retryable: false });
    const committed = (await api<{ committed: number }>(gw.url, 'GET', `/api/v1/upload/${init.fileId}/status`, { token })).body.committed;
    expect(committed).toBe(0);

    // A client that thinks the file is bigger than declared: its second frame is too long.
    const padded = Buffer.concat([data, Buffer.alloc(CHUNK)]);
    const surplus = await uploadAttempt({ ...base, size: padded.length, readChunk: fromBuffer(padded) });
    expect(surplus).toMatchObject({ outcome: 'error', code: 'chunk_size_mismatch', retryable: false });
    expect(surplus.outcome === 'error' && surplus.message).toContain('Expected a chunk of 10 bytes at offset 4194304');
    // The first chunk was committed before the bad frame: a correct client resumes after it.
    const again = await uploadAttempt({ ...base, readChunk: fromBuffer(data) });
    expect(again).toMatchObject({ outcome: 'complete', readyOffset: CHUNK });
    if (again.outcome === 'complete') expect(again.file.sha256).toBe(sha(data));
  });

  it('refuses a bad or foreign token, and another user cannot see or cancel the upload', async () => {
    await addLocal('a');
    const alice = await newUser(gw, 'alice@example.com');
    const bob = await newUser(gw, 'bob@example.com');
    const data = randomBytes(100);
    const a = (await initiate(gw, alice.token, 'a.bin', 100)).body;
    const b = (await initiate(gw, bob.token, 'b.bin', 100)).body;
    const attempt = (token: string) => uploadAttempt({ wsBase: gw.wsBase, fileId: a.fileId, token, size: 100, chunkSize: CHUNK, readChunk: fromBuffer(data) });
    expect(await attempt('nonsense')).toMatchObject({ outcome: 'error', code: 'invalid_upload_token', retryable: false, readyOffset: null });
    expect(await attempt(b.uploadToken)).toMatchObject({ outcome: 'error', code: 'invalid_upload_token' });
    expect(await attempt('')).toMatchObject({ outcome: 'error', code: 'invalid_upload_token' });
    expect((await api(gw.url, 'GET', `/api/v1/upload/${a.fileId}/status`, { token: bob.token })).status).toBe(404);
    expect((await api(gw.url, 'DELETE', `/api/v1/upload/${a.fileId}`, { token: bob.token })).status).toBe(404);
    expect((await api(gw.url, 'PUT', `/api/v1/upload/${a.fileId}`, { token: bob.token, headers: { 'Content-Range': 'bytes */100' } })).status).toBe(404);
    expect((await api(gw.url, 'GET', `/api/v1/upload/${a.fileId}/status`, { headers: { 'X-Upload-Token': b.uploadToken } })).status).toBe(401);
    // Alice's upload is untouched and still completes.
    expect((await attempt(a.uploadToken)).outcome).toBe('complete');
  });

  it('cancels on request: reservations and the partial upload are released, and a reconnect hears it was cancelled', async () => {
    const accountId = await addLocal('a');
    const { token, userId } = await newUser(gw, 'cancel@example.com');
    const data = randomBytes(3 * CHUNK);
    const init = (await initiate(gw, token, 'c.bin', data.length)).body;
    expect((await gw.running.store.accounts.findById(accountId))?.reserved).toBe(data.length);
    const result = await uploadAttempt({
      wsBase: gw.wsBase,
      fileId: init.fileId,
      token: init.uploadToken,
      size: data.length,
      chunkSize: CHUNK,
      readChunk: fromBuffer(data),
      cancelAfterBytes: CHUNK,
    });
    expect(result.outcome).toBe('cancelled');
    expect(await gw.running.store.accounts.findById(accountId)).toMatchObject({ reserved: 0 });
    expect((await gw.running.store.users.findById(userId))?.storageUsed).toBe(0);
    expect((await gw.running.store.files.findById(init.fileId))?.state).toBe('cancelled');
    expect(fs.readdirSync(path.join(gw.dataDir, 'member-a', 'uploads'))).toEqual([]);
    const after = await uploadAttempt({ wsBase: gw.wsBase, fileId: init.fileId, token: init.uploadToken, size: data.length, chunkSize: CHUNK, readChunk: fromBuffer(data) });
    expect(after).toMatchObject({ outcome: 'error', code: 'upload_cancelled', retryable: false });
    // Over HTTP, cancelling twice is fine; a complete upload cannot be cancelled.
    expect((await api(gw.url, 'DELETE', `/api/v1/upload/${init.fileId}`, { token })).status).toBe(200);
    const done = await upload(token, randomBytes(10));
    expect((await api(gw.url, 'DELETE', `/api/v1/upload/${done.init.fileId}`, { token })).status).toBe(409);
  });

  it('reports received and committed bytes and publishes progress events', async () => {
    await addLocal('a');
    const { token } = await newUser(gw, 'progress@example.com');
    const events: GatewayEvent[] = [];
    const unsubscribe = gw.running.app.events.subscribe((e) => events.push(e));
    const data = randomBytes(3 * CHUNK);
    const { final, init } = await upload(token, data);
    unsubscribe();
    expect(final.outcome).toBe('complete');
    const progress = final.messages.filter((m) => m.type === 'progress');
    expect(progress.at(-1)).toEqual({ type: 'progress', committed: data.length, received: data.length });
    for (const p of progress) if (p.type === 'progress') expect(p.committed).toBeLessThanOrEqual(p.received);
    const mine = events.filter((e) => 'fileId' in e && e.fileId === init.fileId);
    expect(mine.filter((e) => e.type === 'upload.progress').map((e) => (e.type === 'upload.progress' ? e.committed : -1))).toEqual([CHUNK, 2 * CHUNK, 3 * CHUNK]);
    expect(mine.at(-1)).toMatchObject({ type: 'upload.completed', size: data.length });
  });
});

describe('abandoned uploads', () => {
  it('expire after the expiry time: reservations freed, session removed, reconnect refused', async () => {
    await gw.close();
    gw = await startTestGateway({ env: { UPLOAD_EXPIRY_SECONDS: '60' } });
    admin = await adminToken(gw);
    const accountId = await addLocal('a');
    const { token, userId } = await newUser(gw, 'expire@example.com');
    const data = randomBytes(2 * CHUNK);
    const init = (await initiate(gw, token, 'e.bin', data.length)).body;
    await uploadAttempt({ wsBase: gw.wsBase, fileId: init.fileId, token: init.uploadToken, size: data.length, chunkSize: CHUNK, readChunk: fromBuffer(data), dropAfterBytes: CHUNK });
    expect(await gw.running.app.uploads.expireAbandoned()).toBe(0);

    // Pretend a minute passed without activity.
    await gw.running.store.files.update(init.fileId, { uploadExpiresAt: new Date(Date.now() - 1000) });
    expect(await gw.running.app.uploads.expireAbandoned()).toBe(1);
    expect((await gw.running.store.files.findById(init.fileId))?.state).toBe('expired');
    expect((await gw.running.store.accounts.findById(accountId))?.reserved).toBe(0);
    expect((await gw.running.store.users.findById(userId))?.storageUsed).toBe(0);
    expect(fs.readdirSync(path.join(gw.dataDir, 'member-a', 'uploads'))).toEqual([]);
    const again = await uploadAttempt({ wsBase: gw.wsBase, fileId: init.fileId, token: init.uploadToken, size: data.length, chunkSize: CHUNK, readChunk: fromBuffer(data) });
    expect(again).toMatchObject({ outcome: 'error', retryable: false });
    expect((await api<{ state: string }>(gw.url, 'GET', `/api/v1/upload/${init.fileId}/status`, { token })).body.state).toBe('expired');
  });
});

describe('HTTP PUT uploads', () => {
  it('takes the whole file in one PUT (curl -T)', async () => {
    await addLocal('a');
    const { token } = await newUser(gw, 'put@example.com');
    const data = randomBytes(2 * CHUNK + 3);
    const init = (await initiate(gw, token, 'p.bin', data.length)).body;
    const res = await fetch(`${gw.url}/api/v1/upload/${init.fileId}`, { method: 'PUT', headers: { 'X-Upload-Token': init.uploadToken }, body: new Uint8Array(data) });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { file: { sha256: string; state: string } };
    expect(body.file).toMatchObject({ state: 'complete', sha256: sha(data) });
    expect((await storedBytes(init.fileId)).equals(data)).toBe(true);
  });

  it('speaks the resumable protocol: 308 with Range, status queries, resends and gaps', async () => {
    await addLocal('a');
    const { token } = await newUser(gw, 'ranges@example.com');
    const data = randomBytes(CHUNK + 1000);
    const init = (await initiate(gw, token, 'r.bin', data.length)).body;
    const put = (range: string, body?: Buffer, auth: Record<string, string> = { Authorization: `Bearer ${token}` }) =>
      fetch(`${gw.url}/api/v1/upload/${init.fileId}`, { method: 'PUT', headers: { 'Content-Range': range, ...auth }, ...(body ? { body: new Uint8Array(body) } : {}) });
    const total = data.length;

    const query = await put(`bytes */${total}`);
    expect(query.status).toBe(308);
    expect(query.headers.get('range')).toBeNull();

    // A partial piece is kept as far as the member allows (a local disk takes every byte).
    const first = await put(`bytes 0-99/${total}`, data.subarray(0, 100), { 'X-Upload-Token': init.uploadToken });
    expect(first.status).toBe(308);
    expect(first.headers.get('range')).toBe('bytes=0-99');

    const gap = await put(`bytes 200-299/${total}`, data.subarray(200, 300));
    expect(gap.status).toBe(409);
    expect(((await gap.json()) as { error: { code: string } }).error.code).toBe('offset_mismatch');
    expect(gap.headers.get('range')).toBe('bytes=0-99');

    expect((await put(`bytes 0-9/${total + 1}`, data.subarray(0, 10))).status).toBe(400);
    expect((await put('bytes 0-9', data.subarray(0, 10))).status).toBe(400);

    // Overlapping bytes that are already committed are skipped, the rest lands.
    const rest = await put(`bytes 50-${total - 1}/${total}`, data.subarray(50));
    expect(rest.status).toBe(201);
    expect(((await rest.json()) as { file: { sha256: string } }).file.sha256).toBe(sha(data));
    expect((await put(`bytes */${total}`)).status).toBe(201);
  });
});

describe('reservations under concurrency', () => {
  it('never oversubscribes a member, with 20 uploads initiated at once through two gateway processes', async () => {
    const small = await addLocal('small', 5 * MiB);
    const other = await addLocal('other', 3 * MiB);
    const peer = await gw.startPeer();
    const { token } = await newUser(gw, 'many@example.com');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api<{ fileId?: string; error?: { code: string } }>(i % 2 ? gw.url : peer.url, 'POST', '/api/v1/upload/initiate', {
          token,
          body: { filename: `f${i}.bin`, size: MiB },
        }),
      ),
    );
    const accepted = results.filter((r) => r.status === 201);
    expect(accepted).toHaveLength(8);
    expect(results.filter((r) => r.status === 507)).toHaveLength(12);
    expect((await gw.running.store.accounts.findById(small))?.reserved).toBe(5 * MiB);
    expect((await gw.running.store.accounts.findById(other))?.reserved).toBe(3 * MiB);
  });
});

describe('hostile and unlucky clients', () => {
  it('survives an upgrade request whose target is not a URL', async () => {
    const { port } = new URL(gw.url);
    for (const target of ['//[', 'http://[/', '/ws_api/upload/%zz']) {
      const answer = await new Promise<string>((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => {
          socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
        });
        let text = '';
        socket.on('data', (d) => (text += d.toString()));
        socket.on('close', () => resolve(text));
        socket.on('error', () => resolve(text));
      });
      expect(answer.startsWith('HTTP/1.1 404') || answer === '').toBe(true);
    }
    expect((await api(gw.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('gives a stalled HTTP PUT up when a WebSocket takes the upload over', async () => {
    await addLocal('a');
    const { token } = await newUser(gw, 'stall@example.com');
    const data = randomBytes(2 * CHUNK);
    const init = (await initiate(gw, token, 's.bin', data.length)).body;
    // A PUT that sends half a chunk and then nothing.
    const { port } = new URL(gw.url);
    const stalled = net.connect(Number(port), '127.0.0.1', () => {
      stalled.write(
        `PUT /api/v1/upload/${init.fileId} HTTP/1.1\r\nHost: x\r\nX-Upload-Token: ${init.uploadToken}\r\nContent-Length: ${data.length}\r\n\r\n`,
      );
      stalled.write(data.subarray(0, CHUNK / 2));
    });
    stalled.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const result = await uploadAttempt({ wsBase: gw.wsBase, fileId: init.fileId, token: init.uploadToken, size: data.length, chunkSize: CHUNK, readChunk: fromBuffer(data) });
    expect(result.outcome).toBe('complete');
    expect(Date.now() - started).toBeLessThan(5000);
    stalled.destroy();
  });

  it('refuses a whole-file PUT of the wrong length before storing anything, and initiate only takes JSON', async () => {
    await addLocal('a');
    const { token } = await newUser(gw, 'length@example.com');
    const init = (await initiate(gw, token, 'l.bin', 1000)).body;
    const res = await fetch(`${gw.url}/api/v1/upload/${init.fileId}`, { method: 'PUT', headers: { 'X-Upload-Token': init.uploadToken }, body: new Uint8Array(1001) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('size_mismatch');
    expect((await api<{ committed: number }>(gw.url, 'GET', `/api/v1/upload/${init.fileId}/status`, { token })).body.committed).toBe(0);
    const form = await fetch(`${gw.url}/api/v1/upload/initiate`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'filename=x&size=1',
    });
    expect(form.status).toBe(415);
  });

  it('moves an upload whose account was force-removed: the client hears it may reconnect, and finishes elsewhere', async () => {
    const first = await addLocal('first', 100 * MiB);
    const second = await addLocal('second', 50 * MiB);
    const { token } = await newUser(gw, 'moved@example.com');
    const data = randomBytes(2 * CHUNK + 3);
    const init = (await initiate(gw, token, 'm.bin', data.length)).body;
    expect((await gw.running.store.files.findById(init.fileId))?.accountId).toBe(first);
    const { final, attempts } = await uploadWithResume({
      wsBase: gw.wsBase,
      fileId: init.fileId,
      token: init.uploadToken,
      size: data.length,
      chunkSize: CHUNK,
      readChunk: fromBuffer(data),
      dropPlan: [CHUNK],
      beforeReconnect: async (attempt) => {
        if (attempt === 0) expect((await api(gw.url, 'DELETE', `/api/v1/admin/accounts/${first}?force=true`, { token: admin })).status).toBe(204);
      },
    });
    expect(attempts[1]).toMatchObject({ outcome: 'error', code: 'upload_restarted', retryable: true });
    expect(final.outcome === 'complete' && final.file.sha256).toBe(sha(data));
    expect((await gw.running.store.files.findById(init.fileId))?.accountId).toBe(second);
    expect((await gw.running.store.accounts.findById(second))?.reserved).toBe(0);
  });
});
