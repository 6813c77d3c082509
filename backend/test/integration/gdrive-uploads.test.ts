import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DriveEmulator, startDriveEmulator } from '../support/drive-emulator';
import { adminToken, api, initiate, newUser, startTestGateway, type TestGateway } from '../support/gateway';
import { fromBuffer, type ServerMessage, uploadAttempt, uploadWithResume } from '../support/ws-upload-client';

/**
 * The gateway, the real googleapis client and the Drive emulator together:
 * uploads land byte-identical in Drive through resumable sessions fed by
 * 4 MiB WebSocket chunks, and survive dropped sockets, restarts and Drive's
 * errors (issue 3, "Tests").
 */
const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let emu: DriveEmulator;
let gw: TestGateway;
let admin: string;

async function startGateway(env: Record<string, string> = {}, breaker?: { threshold: number; coolDownMs: number }) {
  gw = await startTestGateway({ env: { ...emu.env, ...env }, ...(breaker ? { server: { breaker } } : {}) });
  admin = await adminToken(gw);
}

beforeEach(async () => {
  emu = await startDriveEmulator();
});
afterEach(async () => {
  await gw?.close();
  await emu.close();
});

/** Connects an emulator account to the pool through the admin API; returns both ids. */
async function addDrive(name: string, quotaLimit: number | null = null) {
  const creds = emu.addAccount({ quotaLimit });
  const res = await api<{ id: string; quota: { limit: number | null } }>(gw.url, 'POST', '/api/v1/admin/accounts', {
    token: admin,
    body: { provider: 'gdrive', name, clientId: creds.clientId, clientSecret: creds.clientSecret, refreshToken: creds.refreshToken },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.id, driveAccount: creds.id, refreshToken: creds.refreshToken };
}

/** The bytes Drive holds for a finished upload. */
async function driveBytes(fileId: string): Promise<Buffer> {
  const file = (await gw.running.store.files.findById(fileId))!;
  return emu.readFile(file.remoteId!);
}

async function uploadFile(token: string, data: Buffer, extra: Partial<Parameters<typeof uploadWithResume>[0]> = {}) {
  const init = await initiate(gw, token, 'data.bin', data.length);
  expect(init.status, JSON.stringify(init.body)).toBe(201);
  const result = await uploadWithResume({
    wsBase: gw.wsBase,
    fileId: init.body.fileId,
    token: init.body.uploadToken,
    size: data.length,
    chunkSize: init.body.chunkSize,
    readChunk: fromBuffer(data),
    ...extra,
  });
  return { fileId: init.body.fileId, uploadToken: init.body.uploadToken, ...result };
}

describe('uploads to Google Drive', () => {
  beforeEach(async () => {
    await startGateway();
  });

  it('stores 0 bytes, 1 byte, exactly 4 MiB, 4 MiB + 1 and 50 MiB byte-identical in Drive', async () => {
    const account = await addDrive('main');
    const { token } = await newUser(gw, 'sizes@example.com');
    for (const size of [0, 1, CHUNK, CHUNK + 1, 50 * MiB]) {
      const data = randomBytes(size);
      const { final, attempts, fileId } = await uploadFile(token, data);
      expect(attempts, `size ${size}`).toHaveLength(1);
      expect(final.outcome).toBe('complete');
      if (final.outcome === 'complete') expect(final.file).toMatchObject({ size, sha256: sha(data), state: 'complete' });
      const stored = await driveBytes(fileId);
      expect(stored.length).toBe(size);
      expect(sha(stored)).toBe(sha(data));
      expect(emu.file((await gw.running.store.files.findById(fileId))!.remoteId!)?.parents).toHaveLength(1);
    }
    // Each 4 MiB WebSocket chunk became one Drive PUT (50 MiB = 13 chunks); the empty file's
    // single PUT carries `bytes */0`, which Drive treats as a status query that finishes it.
    expect(emu.stats().requests['upload-chunk']).toBe(1 + 1 + 2 + 13);
    const [view] = (await api<{ items: Array<{ quota: { reserved: number; used: number } }> }>(gw.url, 'GET', '/api/v1/admin/accounts', { token: admin })).body.items;
    expect(view?.quota.reserved).toBe(0);
    expect(emu.account(account.driveAccount)?.usage).toBe(2 + 2 * CHUNK + 50 * MiB);
  });

  it('resumes after the client connection drops mid-upload', async () => {
    await addDrive('main');
    const { token } = await newUser(gw, 'drop@example.com');
    const data = randomBytes(6 * CHUNK + 100);
    const { final, attempts, fileId } = await uploadFile(token, data, { dropPlan: [2 * CHUNK, CHUNK] });
    expect(attempts.map((a) => a.outcome)).toEqual(['dropped', 'dropped', 'complete']);
    expect(attempts[1]!.readyOffset).toBeGreaterThanOrEqual(2 * CHUNK);
    expect(final.outcome === 'complete' && final.file.sha256).toBe(sha(data));
    expect(sha(await driveBytes(fileId))).toBe(sha(data));
  });

  it('resumes after a gateway restart from the session persisted in the store', async () => {
    await addDrive('main');
    const { token } = await newUser(gw, 'restart@example.com');
    const data = randomBytes(5 * CHUNK + 3);
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
    expect(attempts[1]!.readyOffset).toBeGreaterThanOrEqual(2 * CHUNK);
    // The new process hashed what Drive holds: the digest is still the digest of what was sent.
    expect(final.outcome === 'complete' && final.file.sha256).toBe(sha(data));
    expect(sha(await driveBytes(init.fileId))).toBe(sha(data));
    // One session for the whole upload: the restart did not start over.
    expect(emu.stats().requests['create-session']).toBe(1);
  });

  it('rides out 5xx replies and a connection Drive drops mid-chunk', async () => {
    await addDrive('main');
    const { token } = await newUser(gw, 'faults@example.com');
    emu.injectFault({ on: 'upload-chunk', times: 2, fault: { type: 'http-error', status: 503 } });
    const data = randomBytes(4 * CHUNK + 5);
    const first = await uploadFile(token, data);
    expect(first.final.outcome).toBe('complete');
    expect(sha(await driveBytes(first.fileId))).toBe(sha(data));

    // Drive keeps the 256 KiB-aligned part of a chunk cut off after 1.3 MiB; the gateway sends the rest.
    emu.injectFault({ on: 'upload-chunk', times: 1, fault: { type: 'drop-connection', afterBytes: Math.floor(1.3 * MiB) } });
    const again = randomBytes(3 * CHUNK);
    const second = await uploadFile(token, again);
    expect(second.final.outcome).toBe('complete');
    expect(sha(await driveBytes(second.fileId))).toBe(sha(again));
    expect(emu.stats().requests['status-query']).toBeGreaterThanOrEqual(1);
  });

  it('backs off on 403 rate limits and 429, then finishes', async () => {
    await addDrive('main');
    const { token } = await newUser(gw, 'rate@example.com');
    emu.injectFault({ on: 'upload-chunk', times: 2, fault: { type: 'rate-limit', reason: 'userRateLimitExceeded' } });
    emu.injectFault({ on: 'upload-chunk', times: 1, fault: { type: 'too-many-requests', retryAfterSeconds: 0 } });
    emu.injectFault({ on: 'create-session', times: 1, fault: { type: 'rate-limit', reason: 'rateLimitExceeded' } });
    const data = randomBytes(2 * CHUNK + 1);
    const { final, fileId } = await uploadFile(token, data);
    expect(final.outcome).toBe('complete');
    expect(sha(await driveBytes(fileId))).toBe(sha(data));
    expect(emu.stats().faultsApplied).toBe(4);
  });

  it('when the client-side retries run out, tells the client to reconnect, and the upload still completes', async () => {
    await addDrive('main');
    const { token } = await newUser(gw, 'outage@example.com');
    // More consecutive failures than FAST_RETRY.attempts: the gateway gives up on this try.
    emu.injectFault({ on: ['upload-chunk', 'status-query'], times: 12, fault: { type: 'http-error', status: 500 } });
    const data = randomBytes(2 * CHUNK);
    const { final, attempts, fileId } = await uploadFile(token, data, { delayMs: 20 });
    expect(attempts[0]).toMatchObject({ outcome: 'error', code: 'upstream_unavailable', retryable: true });
    expect(final.outcome).toBe('complete');
    expect(sha(await driveBytes(fileId))).toBe(sha(data));
  });

  it('keeps the gateway to a few chunks in memory: it stops reading while Drive is slow', async () => {
    await addDrive('main');
    const { token } = await newUser(gw, 'slow@example.com');
    emu.injectFault({ on: 'upload-chunk', times: null, fault: { type: 'latency', ms: 150 } });
    const data = randomBytes(10 * CHUNK);
    const seen: Array<{ received: number; committed: number }> = [];
    const { final } = await uploadFile(token, data, {
      window: 10, // the client would happily push everything at once
      onMessage: (m: ServerMessage) => {
        if (m.type === 'progress') seen.push({ received: m.received, committed: m.committed });
      },
    });
    expect(final.outcome).toBe('complete');
    const ahead = Math.max(...seen.map((p) => p.received - p.committed));
    // At most the chunk being written plus MAX_QUEUED_CHUNKS (2) waiting.
    expect(ahead).toBeLessThanOrEqual(3 * CHUNK);
    expect(ahead).toBeGreaterThanOrEqual(CHUNK);
  });

  it('a user cannot touch another user’s upload, and quota overruns reserve nothing', async () => {
    const account = await addDrive('main');
    const alice = await newUser(gw, 'alice@example.com');
    const bob = await newUser(gw, 'bob@example.com', 1000);
    const a = (await initiate(gw, alice.token, 'a', 10)).body;
    expect((await api(gw.url, 'GET', `/api/v1/upload/${a.fileId}/status`, { token: bob.token })).status).toBe(404);
    const b = (await initiate(gw, bob.token, 'b', 10)).body;
    const cross = await uploadAttempt({ wsBase: gw.wsBase, fileId: a.fileId, token: b.uploadToken, size: 10, chunkSize: CHUNK, readChunk: fromBuffer(Buffer.alloc(10)) });
    expect(cross).toMatchObject({ outcome: 'error', code: 'invalid_upload_token', retryable: false });

    const over = await initiate(gw, bob.token, 'big', 991);
    expect(over.status).toBe(413);
    expect(over.body.error?.code).toBe('quota_exceeded');
    expect((await gw.running.store.accounts.findById(account.id))?.reserved).toBe(20);
    expect(emu.stats().requests['create-session']).toBe(2);
  });
});

describe('cancelling while a chunk is on its way to Drive', () => {
  it('ends the upload for good: no new session, nothing reserved, nothing left in Drive', async () => {
    await startGateway();
    const account = await addDrive('main', 100 * MiB);
    const { token, userId } = await newUser(gw, 'racecancel@example.com');
    emu.injectFault({ on: 'upload-chunk', times: null, fault: { type: 'latency', ms: 400 } });
    const data = randomBytes(3 * CHUNK);
    const init = (await initiate(gw, token, 'c.bin', data.length)).body;
    let cancelled: Promise<unknown> | undefined;
    const result = await uploadAttempt({
      wsBase: gw.wsBase,
      fileId: init.fileId,
      token: init.uploadToken,
      size: data.length,
      chunkSize: CHUNK,
      readChunk: fromBuffer(data),
      onMessage: (m) => {
        // The first chunk has arrived and is being written to Drive: cancel over HTTP now.
        if (m.type === 'progress' && !cancelled) cancelled = api(gw.url, 'DELETE', `/api/v1/upload/${init.fileId}`, { token });
      },
    });
    expect(((await cancelled) as { status: number }).status).toBe(200);
    expect(result).toMatchObject({ outcome: 'error', code: 'upload_cancelled', retryable: false });
    await new Promise((r) => setTimeout(r, 600));
    const file = await gw.running.store.files.findById(init.fileId);
    expect(file).toMatchObject({ state: 'cancelled', uploadSession: null });
    expect(emu.sessions(account.driveAccount).filter((x) => x.state === 'active')).toEqual([]);
    expect(emu.files(account.driveAccount).filter((f) => f.mimeType !== 'application/vnd.google-apps.folder')).toEqual([]);
    expect((await gw.running.store.accounts.findById(account.id))?.reserved).toBe(0);
    expect((await gw.running.store.users.findById(userId))?.storageUsed).toBe(0);
  });
});

describe('placement across Drive accounts', () => {
  beforeEach(async () => {
    await startGateway();
  });

  it('moves on to another account when Drive says one is full at the start of a session', async () => {
    const big = await addDrive('big', 100 * MiB);
    const small = await addDrive('small', 50 * MiB);
    emu.injectFault({ on: 'create-session', account: big.driveAccount, times: 1, fault: { type: 'storage-quota' } });
    const { token } = await newUser(gw, 'full@example.com');
    const data = randomBytes(MiB);
    const { final, fileId } = await uploadFile(token, data);
    expect(final.outcome).toBe('complete');
    expect((await gw.running.store.files.findById(fileId))?.accountId).toBe(small.id);
    const bigView = await gw.running.store.accounts.findById(big.id);
    expect(bigView?.lastError).toMatch(/QuotaExceeded/);
    expect(bigView?.reserved).toBe(0);
  });

  it('moves an upload to another account when Drive fills up mid-upload; the client starts over there', async () => {
    const first = await addDrive('first', 100 * MiB);
    const second = await addDrive('second', 60 * MiB);
    const { token } = await newUser(gw, 'mid@example.com');
    emu.injectFault({ on: 'upload-chunk', account: first.driveAccount, times: 1, fault: { type: 'storage-quota' } });
    const data = randomBytes(2 * CHUNK + 9);
    const { final, attempts, fileId } = await uploadFile(token, data);
    expect(attempts[0]).toMatchObject({ outcome: 'error', code: 'upload_restarted', retryable: true });
    expect(attempts[1]?.readyOffset).toBe(0);
    expect(final.outcome === 'complete' && final.file.sha256).toBe(sha(data));
    expect((await gw.running.store.files.findById(fileId))?.accountId).toBe(second.id);
    expect(sha(await driveBytes(fileId))).toBe(sha(data));
    expect((await gw.running.store.accounts.findById(first.id))?.reserved).toBe(0);
    expect(emu.sessions(first.driveAccount).filter((s) => s.state === 'active')).toEqual([]);
  });

  it('never puts an account over its quota: 20 concurrent uploads against small accounts', async () => {
    const accounts = [await addDrive('a', 5 * MiB), await addDrive('b', 4 * MiB), await addDrive('c', 3 * MiB)];
    const { token } = await newUser(gw, 'many@example.com');
    const data = randomBytes(MiB);
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const init = await initiate(gw, token, `f${i}`, data.length);
        if (init.status !== 201) return { status: init.status, code: init.body.error?.code };
        const { final } = await uploadWithResume({
          wsBase: gw.wsBase,
          fileId: init.body.fileId,
          token: init.body.uploadToken,
          size: data.length,
          chunkSize: CHUNK,
          readChunk: fromBuffer(data),
        });
        return { status: 201, outcome: final.outcome };
      }),
    );
    expect(results.filter((r) => r.status === 201 && r.outcome === 'complete')).toHaveLength(12);
    expect(results.filter((r) => r.status === 507)).toHaveLength(8);
    for (const a of accounts) {
      const info = emu.account(a.driveAccount)!;
      expect(info.peakUsage).toBeLessThanOrEqual(info.quotaLimit!);
      expect(info.usage).toBe(info.quotaLimit);
      expect((await gw.running.store.accounts.findById(a.id))?.reserved).toBe(0);
    }
    // Drive never had to refuse anything: the gateway's reservations kept every account within bounds.
    expect(emu.log().filter((r) => r.status === 403)).toEqual([]);
  });

  it('disables an account whose refresh token is revoked, with a reason an admin can act on', async () => {
    const account = await addDrive('revoked');
    emu.revokeRefreshToken(account.refreshToken);
    emu.expireAccessTokens();
    const res = await api<{ enabled: boolean; health: string; lastError: string }>(gw.url, 'POST', `/api/v1/admin/accounts/${account.id}/check`, { token: admin });
    expect(res.body).toMatchObject({ enabled: false, health: 'down' });
    expect(res.body.lastError).toMatch(/re-connect/);
    const { token } = await newUser(gw, 'nope@example.com');
    expect((await initiate(gw, token, 'x', 10)).status).toBe(507);
  });

  it('refuses to add an account whose refresh token Google rejects', async () => {
    const creds = emu.addAccount();
    emu.revokeRefreshToken(creds.refreshToken);
    const res = await api<{ error: { code: string } }>(gw.url, 'POST', '/api/v1/admin/accounts', {
      token: admin,
      body: { provider: 'gdrive', name: 'bad', clientId: creds.clientId, clientSecret: creds.clientSecret, refreshToken: creds.refreshToken },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_credentials');
  });
});

describe('health and the circuit breaker', () => {
  it('opens the circuit after consecutive failures, skips the account, and lets a trial through after the cool-down', async () => {
    await startGateway({}, { threshold: 2, coolDownMs: 300 });
    const flaky = await addDrive('flaky', 100 * MiB);
    const steady = await addDrive('steady', 10 * MiB);
    emu.injectFault({ on: 'about', account: flaky.driveAccount, times: null, fault: { type: 'http-error', status: 503 } });
    const check = () => api<{ health: string; circuit: string }>(gw.url, 'POST', `/api/v1/admin/accounts/${flaky.id}/check`, { token: admin });
    expect((await check()).body).toMatchObject({ health: 'degraded', circuit: 'closed' });
    expect((await check()).body).toMatchObject({ health: 'down', circuit: 'open' });

    const { token } = await newUser(gw, 'cb@example.com');
    const placed = (await initiate(gw, token, 'x', MiB)).body;
    expect((await gw.running.store.files.findById(placed.fileId))?.accountId).toBe(steady.id);

    emu.clearFaults();
    await new Promise((r) => setTimeout(r, 350));
    const trial = (await initiate(gw, token, 'y', MiB)).body;
    expect((await gw.running.store.files.findById(trial.fileId))?.accountId).toBe(flaky.id);
    expect((await gw.running.store.accounts.findById(flaky.id))?.health).toBe('healthy');
  });
});

describe('connecting a Google account with the OAuth consent flow', () => {
  it('adds the account Google returns and sends the admin back to the console', async () => {
    await startGateway();
    const start = await api<{ authorizationUrl: string }>(gw.url, 'POST', '/api/v1/admin/accounts/google/connect', { token: admin, body: { name: 'Consented' } });
    expect(start.status).toBe(200);
    const consent = new URL(start.body.authorizationUrl);
    expect(consent.origin).toBe(emu.url);
    expect(consent.searchParams.get('scope')).toBe('https://www.googleapis.com/auth/drive.file');
    expect(consent.searchParams.get('access_type')).toBe('offline');

    // The browser: Google's consent page redirects to our callback, which redirects to the console.
    const toCallback = await fetch(start.body.authorizationUrl, { redirect: 'manual' });
    const callback = new URL(toCallback.headers.get('location')!);
    expect(callback.pathname).toBe('/api/v1/admin/accounts/google/callback');
    const local = `${gw.url}${callback.pathname}${callback.search}`;
    const back = await fetch(local, { redirect: 'manual' });
    expect(back.status).toBe(302);
    const landing = new URL(back.headers.get('location')!, gw.url);
    expect(landing.pathname).toBe('/admin/accounts');
    const accountId = landing.searchParams.get('connected');
    const account = await gw.running.store.accounts.findById(accountId!);
    expect(account).toMatchObject({ provider: 'gdrive', name: 'Consented', enabled: true });

    // The same link cannot be replayed, and a forged state is refused.
    const replay = await fetch(local, { redirect: 'manual' });
    expect(new URL(replay.headers.get('location')!, gw.url).searchParams.get('error')).toBe('invalid_state');
    const forged = await fetch(`${gw.url}/api/v1/admin/accounts/google/callback?code=x&state=forged`, { redirect: 'manual' });
    expect(new URL(forged.headers.get('location')!, gw.url).searchParams.get('error')).toBe('invalid_state');
    expect((await gw.running.store.accounts.list())).toHaveLength(1);

    // It takes uploads like any other.
    const { token } = await newUser(gw, 'oauth@example.com');
    const data = randomBytes(1234);
    const { final } = await uploadFile(token, data);
    expect(final.outcome === 'complete' && final.file.sha256).toBe(sha(data));
  });

  it('is refused (404) when no Google OAuth client is configured', async () => {
    await startGateway({ GOOGLE_CLIENT_ID: '', GOOGLE_CLIENT_SECRET: '' });
    const res = await api<{ error: { code: string } }>(gw.url, 'POST', '/api/v1/admin/accounts/google/connect', { token: admin, body: { name: 'x' } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('google_connect_disabled');
  });
});

describe('HTTP PUT uploads to Drive', () => {
  it('commits only 256 KiB multiples of a partial piece, and the client resends the rest', async () => {
    await startGateway();
    await addDrive('main');
    const { token } = await newUser(gw, 'put@example.com');
    const data = randomBytes(MiB + 77);
    const init = (await initiate(gw, token, 'p.bin', data.length)).body;
    const put = (range: string, body: Buffer) =>
      fetch(`${gw.url}/api/v1/upload/${init.fileId}`, { method: 'PUT', headers: { 'Content-Range': range, Authorization: `Bearer ${token}` }, body: new Uint8Array(body) });
    const part = await put(`bytes 0-${300 * 1024 - 1}/${data.length}`, data.subarray(0, 300 * 1024));
    expect(part.status).toBe(308);
    expect(part.headers.get('range')).toBe('bytes=0-262143');
    const rest = await put(`bytes 262144-${data.length - 1}/${data.length}`, data.subarray(262144));
    expect(rest.status).toBe(201);
    expect(sha(await driveBytes(init.fileId))).toBe(sha(data));
  });
});
