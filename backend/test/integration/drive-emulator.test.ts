import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AccountCredentials, connectDriveEmulator, type DriveEmulator, type DriveEmulatorOptions, startDriveEmulator } from '../support/drive-emulator';

/** The emulator's protocol as a client sees it, through plain fetch. */

const CHUNK = 256 * 1024;
const FOLDER = 'application/vnd.google-apps.folder';

let emu: DriveEmulator;
let now: number;
let account: AccountCredentials;

async function open(options: DriveEmulatorOptions = {}) {
  now = Date.parse('2026-01-01T00:00:00Z');
  emu = await startDriveEmulator({ now: () => now, ...options });
  account = emu.addAccount({ quotaLimit: 10 * CHUNK, usage: 1000 });
}

beforeEach(async () => {
  await open();
});
afterEach(async () => {
  await emu.close();
});

const bytes = (b: Buffer) => Uint8Array.from(b);

async function tokenFor(a: AccountCredentials = account): Promise<string> {
  const res = await fetch(emu.env.GOOGLE_OAUTH_TOKEN_URL, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: a.refreshToken, client_id: a.clientId, client_secret: a.clientSecret }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function api(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const token = init.token ?? (await tokenFor());
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${token}`);
  return fetch(`${emu.url}${path}`, { ...init, headers });
}

async function startSession(options: { size?: number; name?: string; parents?: string[]; token?: string } = {}): Promise<string> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=UTF-8', 'X-Upload-Content-Type': 'application/octet-stream' };
  if (options.size !== undefined) headers['X-Upload-Content-Length'] = String(options.size);
  const res = await api('/upload/drive/v3/files?uploadType=resumable', {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: options.name ?? 'f.bin', ...(options.parents ? { parents: options.parents } : {}) }),
    ...(options.token ? { token: options.token } : {}),
  });
  expect(res.status).toBe(200);
  const location = res.headers.get('location');
  expect(location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/upload\/drive\/v3\/files\?uploadType=resumable&upload_id=/);
  return location!;
}

const put = (uri: string, range: string, body?: Buffer) =>
  fetch(uri, { method: 'PUT', headers: { 'Content-Range': range }, ...(body ? { body: bytes(body) } : {}) });

const statusQuery = (uri: string, total: number | '*') => put(uri, `bytes */${total}`);

async function uploadWhole(data: Buffer, name = 'whole.bin'): Promise<{ id: string }> {
  const uri = await startSession({ size: data.length, name });
  const res = await put(uri, data.length ? `bytes 0-${data.length - 1}/${data.length}` : 'bytes */0', data.length ? data : undefined);
  expect(res.status).toBe(200);
  return (await res.json()) as { id: string };
}

async function errorBody(res: Response) {
  return (await res.json()) as { error: { code: number; message: string; errors: Array<{ domain: string; reason: string; message: string }> } };
}

describe('OAuth', () => {
  it('exchanges a refresh token for a Bearer access token', async () => {
    const res = await fetch(emu.env.GOOGLE_OAUTH_TOKEN_URL, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: account.refreshToken, client_id: account.clientId, client_secret: account.clientSecret }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      access_token: expect.stringMatching(/^ya29\./),
      expires_in: 3600,
      token_type: 'Bearer',
      scope: 'https://www.googleapis.com/auth/drive.file',
    });
  });

  it('refuses a wrong client secret and a revoked or unknown refresh token the way Google does', async () => {
    const form = (extra: Record<string, string>) =>
      new URLSearchParams({ grant_type: 'refresh_token', refresh_token: account.refreshToken, client_id: account.clientId, client_secret: account.clientSecret, ...extra });
    const wrongSecret = await fetch(emu.env.GOOGLE_OAUTH_TOKEN_URL, { method: 'POST', body: form({ client_secret: 'nope' }) });
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ error: 'invalid_client' });

    const unknown = await fetch(emu.env.GOOGLE_OAUTH_TOKEN_URL, { method: 'POST', body: form({ refresh_token: '1//unknown' }) });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });

    const before = await tokenFor();
    expect(emu.revokeRefreshToken(account.refreshToken)).toBe(true);
    const revoked = await fetch(emu.env.GOOGLE_OAUTH_TOKEN_URL, { method: 'POST', body: form({}) });
    expect(revoked.status).toBe(400);
    expect(await revoked.json()).toEqual({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
    // Access tokens minted from a revoked grant die with it.
    expect((await api('/drive/v3/about?fields=storageQuota', { token: before })).status).toBe(401);
  });

  it('requires a valid, unexpired Bearer token on every Drive call', async () => {
    const missing = await fetch(`${emu.url}/drive/v3/about?fields=storageQuota`);
    expect(missing.status).toBe(401);
    expect((await errorBody(missing)).error.errors[0]).toMatchObject({ reason: 'required', domain: 'global' });

    const token = await tokenFor();
    expect((await api('/drive/v3/about?fields=storageQuota', { token })).status).toBe(200);
    now += 3600 * 1000;
    const expired = await api('/drive/v3/about?fields=storageQuota', { token });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('invalid_token');
    const body = await errorBody(expired);
    expect(body.error.code).toBe(401);
    expect(body.error.errors[0]).toMatchObject({ reason: 'authError', message: expect.any(String) });

    const fresh = await tokenFor();
    expect(emu.expireAccessTokens(account.id)).toBe(1);
    expect((await api('/drive/v3/about?fields=storageQuota', { token: fresh })).status).toBe(401);
  });

  it('auto-consents: redirects with a code and state, and the code buys an offline refresh token once', async () => {
    emu.queueConsent({ email: 'new@example.com', quotaLimit: 5000 });
    const redirectUri = 'http://gateway.test/api/v1/admin/accounts/google/callback';
    const auth = new URL(emu.env.GOOGLE_OAUTH_AUTH_URL);
    for (const [k, v] of Object.entries({
      client_id: emu.client.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'https://www.googleapis.com/auth/drive.file',
      access_type: 'offline',
      prompt: 'consent',
      state: 'xyz',
    })) {
      auth.searchParams.set(k, v);
    }
    const consent = await fetch(auth, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const back = new URL(consent.headers.get('location')!);
    expect(back.origin + back.pathname).toBe(redirectUri);
    expect(back.searchParams.get('state')).toBe('xyz');
    const code = back.searchParams.get('code')!;

    const exchange = () =>
      fetch(emu.env.GOOGLE_OAUTH_TOKEN_URL, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: emu.client.clientId, client_secret: emu.client.clientSecret }),
      });
    const first = await exchange();
    expect(first.status).toBe(200);
    const tokens = (await first.json()) as { access_token: string; refresh_token: string };
    expect(tokens.refresh_token).toMatch(/^1\/\//);
    expect((await exchange()).status).toBe(400);

    const about = await api('/drive/v3/about?fields=user(emailAddress),storageQuota(limit)', { token: tokens.access_token });
    expect(await about.json()).toEqual({ user: { emailAddress: 'new@example.com' }, storageQuota: { limit: '5000' } });
    const created = emu.stats().accounts.find((a) => a.email === 'new@example.com');
    expect(created?.quotaLimit).toBe(5000);
  });

  it('consent honours login_hint, can be refused, and sends no refresh token without offline access', async () => {
    const auth = (extra: Record<string, string>) => {
      const url = new URL(emu.env.GOOGLE_OAUTH_AUTH_URL);
      url.search = new URLSearchParams({ client_id: emu.client.clientId, redirect_uri: 'http://x.test/cb', response_type: 'code', scope: 'drive', ...extra }).toString();
      return fetch(url, { redirect: 'manual' });
    };
    emu.queueConsent({ deny: true });
    const denied = new URL((await auth({ state: 's' })).headers.get('location')!);
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect(denied.searchParams.get('state')).toBe('s');

    const hinted = new URL((await auth({ login_hint: account.email })).headers.get('location')!);
    const res = await fetch(emu.env.GOOGLE_OAUTH_TOKEN_URL, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code: hinted.searchParams.get('code')!, redirect_uri: 'http://x.test/cb', client_id: emu.client.clientId, client_secret: emu.client.clientSecret }),
    });
    const tokens = (await res.json()) as { access_token: string; refresh_token?: string };
    expect(tokens.refresh_token).toBeUndefined();
    const about = await api('/drive/v3/about?fields=user(emailAddress)', { token: tokens.access_token });
    expect(await about.json()).toEqual({ user: { emailAddress: account.email } });

    expect((await fetch(`${emu.env.GOOGLE_OAUTH_AUTH_URL}?client_id=unknown&redirect_uri=http://x.test/cb`, { redirect: 'manual' })).status).toBe(401);
  });

  it('revokes through /revoke', async () => {
    const token = await tokenFor();
    const res = await fetch(`${emu.url}/revoke?token=${encodeURIComponent(token)}`, { method: 'POST' });
    expect(res.status).toBe(200);
    // Revoking an access token takes its refresh token along.
    const refresh = await fetch(emu.env.GOOGLE_OAUTH_TOKEN_URL, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: account.refreshToken, client_id: account.clientId, client_secret: account.clientSecret }),
    });
    expect(refresh.status).toBe(400);
    expect((await fetch(`${emu.url}/revoke?token=${encodeURIComponent(token)}`, { method: 'POST' })).status).toBe(400);
  });
});

describe('about, files and folders', () => {
  it('reports the quota as int64 strings, refuses a call without fields, and omits limit when unlimited', async () => {
    const missing = await api('/drive/v3/about');
    expect(missing.status).toBe(400);
    expect((await errorBody(missing)).error.errors[0]?.reason).toBe('required');

    const res = await api('/drive/v3/about?fields=storageQuota');
    expect(await res.json()).toEqual({ storageQuota: { limit: String(10 * CHUNK), usage: '1000', usageInDrive: '0', usageInDriveTrash: '0' } });

    await uploadWhole(randomBytes(500));
    const after = (await (await api('/drive/v3/about?fields=storageQuota')).json()) as { storageQuota: Record<string, string> };
    expect(after.storageQuota).toMatchObject({ usage: '1500', usageInDrive: '500' });

    const unlimited = emu.addAccount({ quotaLimit: null });
    const u = (await (await api('/drive/v3/about?fields=storageQuota', { token: await tokenFor(unlimited) })).json()) as { storageQuota: Record<string, string> };
    expect(u.storageQuota).toEqual({ usage: '0', usageInDrive: '0', usageInDriveTrash: '0' });
  });

  it('creates folders, finds them with q, and lists children', async () => {
    const create = await api('/drive/v3/files?fields=id,name,mimeType', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: "Bob's", mimeType: FOLDER }) });
    expect(create.status).toBe(200);
    const folder = (await create.json()) as { id: string; name: string; mimeType: string };
    expect(folder).toEqual({ id: expect.any(String), name: "Bob's", mimeType: FOLDER });

    const q = `name = 'Bob\\'s' and mimeType = '${FOLDER}' and trashed = false`;
    const found = await api(`/drive/v3/files?q=${encodeURIComponent(q)}&fields=files(id)`);
    expect(await found.json()).toEqual({ files: [{ id: folder.id }] });
    const none = await api(`/drive/v3/files?q=${encodeURIComponent(`name = 'other' and mimeType = '${FOLDER}'`)}`);
    expect(await none.json()).toEqual({ kind: 'drive#fileList', incompleteSearch: false, files: [] });

    const child = await uploadWhole(randomBytes(10), 'child.bin');
    const uri = await startSession({ size: 3, name: 'inside.bin', parents: [folder.id] });
    const inside = (await (await put(uri, 'bytes 0-2/3', Buffer.from('abc'))).json()) as { id: string };
    const children = await api(`/drive/v3/files?q=${encodeURIComponent(`'${folder.id}' in parents`)}&fields=files(id,name,size,parents)`);
    expect(await children.json()).toEqual({ files: [{ id: inside.id, name: 'inside.bin', size: '3', parents: [folder.id] }] });
    const inRoot = await api(`/drive/v3/files?q=${encodeURIComponent(`'root' in parents and mimeType != '${FOLDER}'`)}&fields=files(id)`);
    expect(await inRoot.json()).toEqual({ files: [{ id: child.id }] });

    const bad = await api(`/drive/v3/files?q=${encodeURIComponent('starred = true')}`);
    expect(bad.status).toBe(400);
    expect((await errorBody(bad)).error.errors[0]?.reason).toBe('invalid');

    // Deleting a folder takes its contents along.
    expect((await api(`/drive/v3/files/${folder.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(emu.file(inside.id)).toBeUndefined();
  });

  it('pages through a listing', async () => {
    for (let i = 0; i < 5; i++) await uploadWhole(Buffer.from([i]), `p${i}`);
    const names: string[] = [];
    let pageToken: string | undefined;
    do {
      const res = await api(`/drive/v3/files?pageSize=2&orderBy=name desc&fields=nextPageToken,files(name)${pageToken ? `&pageToken=${pageToken}` : ''}`);
      const page = (await res.json()) as { nextPageToken?: string; files: Array<{ name: string }> };
      names.push(...page.files.map((f) => f.name));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(names).toEqual(['p4', 'p3', 'p2', 'p1', 'p0']);
  });

  it('gets metadata with loose fields, deletes with 204, and answers 404 with Google’s body', async () => {
    const { id } = await uploadWhole(randomBytes(20), 'meta.bin');
    expect(await (await api(`/drive/v3/files/${id}`)).json()).toEqual({ kind: 'drive#file', id, name: 'meta.bin', mimeType: 'application/octet-stream' });
    const withFields = (await (await api(`/drive/v3/files/${id}?fields=id,size,md5Checksum`)).json()) as Record<string, string>;
    expect(withFields).toEqual({ id, size: '20', md5Checksum: expect.stringMatching(/^[0-9a-f]{32}$/) });

    const del = await api(`/drive/v3/files/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe('');
    const gone = await api(`/drive/v3/files/${id}`, { method: 'DELETE' });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({
      error: {
        code: 404,
        message: `File not found: ${id}.`,
        errors: [{ domain: 'global', reason: 'notFound', message: `File not found: ${id}.`, location: 'fileId', locationType: 'parameter' }],
      },
    });
    expect((await api(`/drive/v3/files/${id}?alt=media`)).status).toBe(404);
    expect(emu.account(account.id)?.usage).toBe(1000);
    expect(emu.account(account.id)?.peakUsage).toBe(1020);
  });

  it('serves Range reads: a-b, a-, -n, none, and refuses unsatisfiable ones', async () => {
    const data = randomBytes(1000);
    const { id } = await uploadWhole(data);
    const token = await tokenFor();
    const media = (range?: string) => api(`/drive/v3/files/${id}?alt=media`, { token, ...(range ? { headers: { Range: range } } : {}) });

    const full = await media();
    expect(full.status).toBe(200);
    expect(full.headers.get('content-length')).toBe('1000');
    expect(Buffer.from(await full.arrayBuffer()).equals(data)).toBe(true);

    for (const [range, start, end] of [
      ['bytes=10-19', 10, 19],
      ['bytes=990-', 990, 999],
      ['bytes=-5', 995, 999],
      ['bytes=900-5000', 900, 999],
    ] as const) {
      const res = await media(range);
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/1000`);
      expect(Buffer.from(await res.arrayBuffer()).equals(data.subarray(start, end + 1))).toBe(true);
    }
    const unsatisfiable = await media('bytes=1000-1001');
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers.get('content-range')).toBe('bytes */1000');
  });
});

describe('resumable uploads', () => {
  it('walks the protocol: 308 without Range at zero, 308 with Range per chunk, status queries, 200 with the file', async () => {
    const data = randomBytes(2 * CHUNK + 100);
    const uri = await startSession({ size: data.length, name: 'walk.bin' });
    const total = data.length;

    const zero = await statusQuery(uri, total);
    expect(zero.status).toBe(308);
    expect(zero.headers.get('range')).toBeNull();
    expect(zero.headers.get('location')).toBeNull();

    const first = await put(uri, `bytes 0-${CHUNK - 1}/${total}`, data.subarray(0, CHUNK));
    expect(first.status).toBe(308);
    expect(first.headers.get('range')).toBe(`bytes=0-${CHUNK - 1}`);

    for (const t of [total, '*'] as const) {
      const q = await statusQuery(uri, t);
      expect(q.status).toBe(308);
      expect(q.headers.get('range')).toBe(`bytes=0-${CHUNK - 1}`);
    }

    // A chunk of unknown total is fine too, as long as it is whole units.
    const second = await put(uri, `bytes ${CHUNK}-${2 * CHUNK - 1}/*`, data.subarray(CHUNK, 2 * CHUNK));
    expect(second.headers.get('range')).toBe(`bytes=0-${2 * CHUNK - 1}`);

    const last = await put(uri, `bytes ${2 * CHUNK}-${total - 1}/${total}`, data.subarray(2 * CHUNK));
    expect(last.status).toBe(200);
    const file = (await last.json()) as Record<string, string>;
    expect(file).toEqual({ kind: 'drive#file', id: expect.any(String), name: 'walk.bin', mimeType: 'application/octet-stream', size: String(total) });
    expect((await emu.readFile(file.id!)).equals(data)).toBe(true);
    expect(emu.files(account.id).map((f) => f.id)).toEqual([file.id]);

    // A finished session keeps answering with its file.
    const again = await statusQuery(uri, total);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(file.id);
  });

  it('refuses non-final chunks that are not 256 KiB multiples, and a Content-Range past the size', async () => {
    const uri = await startSession({ size: 3 * CHUNK });
    const odd = await put(uri, `bytes 0-${CHUNK + 99}/${3 * CHUNK}`, randomBytes(CHUNK + 100));
    expect(odd.status).toBe(400);
    const small = await put(uri, `bytes 0-99/${3 * CHUNK}`, randomBytes(100));
    expect(small.status).toBe(400);
    expect((await errorBody(small)).error.message).toContain('262144');
    expect((await put(uri, `bytes 0-${3 * CHUNK}/${3 * CHUNK}`, randomBytes(3 * CHUNK + 1))).status).toBe(400);
    expect((await put(uri, 'bytes 0-9/99', randomBytes(10))).status).toBe(400);
    expect((await statusQuery(uri, 3 * CHUNK)).headers.get('range')).toBeNull();
  });

  it('can commit only the aligned prefix of a long unaligned chunk instead, as Drive has been seen to', async () => {
    await emu.close();
    await open({ unalignedChunks: 'commit-aligned-prefix' });
    const data = randomBytes(3 * CHUNK);
    const uri = await startSession({ size: data.length });
    const res = await put(uri, `bytes 0-${CHUNK + 99}/${data.length}`, data.subarray(0, CHUNK + 100));
    expect(res.status).toBe(308);
    expect(res.headers.get('range')).toBe(`bytes=0-${CHUNK - 1}`);
    expect((await put(uri, `bytes ${CHUNK}-${CHUNK + 99}/${data.length}`, data.subarray(CHUNK, CHUNK + 100))).status).toBe(400);
  });

  it('answers a chunk past the committed offset with 503 and plain text, and skips the stored part of a replay', async () => {
    const data = randomBytes(3 * CHUNK);
    const uri = await startSession({ size: data.length });
    await put(uri, `bytes 0-${CHUNK - 1}/${data.length}`, data.subarray(0, CHUNK));

    const gap = await put(uri, `bytes ${2 * CHUNK}-${3 * CHUNK - 1}/${data.length}`, data.subarray(2 * CHUNK));
    expect(gap.status).toBe(503);
    expect(gap.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await gap.text()).toBe(
      `Invalid request.  According to the Content-Range header, the upload offset is ${2 * CHUNK} byte(s), which exceeds already uploaded size of ${CHUNK} byte(s).`,
    );

    // A replay overlapping the stored bytes: the old bytes stay, the new tail is taken.
    const replay = await put(uri, `bytes 0-${2 * CHUNK - 1}/${data.length}`, Buffer.concat([Buffer.alloc(CHUNK, 0x55), data.subarray(CHUNK, 2 * CHUNK)]));
    expect(replay.status).toBe(308);
    expect(replay.headers.get('range')).toBe(`bytes=0-${2 * CHUNK - 1}`);
    const last = await put(uri, `bytes ${2 * CHUNK}-${3 * CHUNK - 1}/${data.length}`, data.subarray(2 * CHUNK));
    const { id } = (await last.json()) as { id: string };
    expect((await emu.readFile(id)).equals(data)).toBe(true);
  });

  it('streams a chunk to disk while it is still arriving', async () => {
    const uri = new URL(await startSession({ size: 4 * CHUNK }));
    const sessionPath = `${emu.dir}/sessions/${uri.searchParams.get('upload_id')}.part`;
    const req = http.request(uri, { method: 'PUT', headers: { 'Content-Range': `bytes 0-${4 * CHUNK - 1}/${4 * CHUNK}`, 'Content-Length': String(4 * CHUNK) } });
    const reply = new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    req.write(randomBytes(2 * CHUNK));
    await expect.poll(() => fs.statSync(sessionPath).size, { timeout: 5000 }).toBeGreaterThanOrEqual(CHUNK);
    req.end(randomBytes(2 * CHUNK));
    expect((await reply).statusCode).toBe(200);
  });

  it('uploads a zero-byte file with one empty final request', async () => {
    const uri = await startSession({ size: 0, name: 'empty' });
    const res = await statusQuery(uri, 0);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'empty', size: '0' });
  });

  it('cancels a session with DELETE; the session is gone afterwards', async () => {
    const uri = await startSession({ size: 2 * CHUNK });
    await put(uri, `bytes 0-${CHUNK - 1}/${2 * CHUNK}`, randomBytes(CHUNK));
    const del = await fetch(uri, { method: 'DELETE' });
    expect(del.status).toBe(499);
    expect((await statusQuery(uri, 2 * CHUNK)).status).toBe(404);
    expect((await put(uri, `bytes ${CHUNK}-${2 * CHUNK - 1}/${2 * CHUNK}`, randomBytes(CHUNK))).status).toBe(404);
    expect((await fetch(uri, { method: 'DELETE' })).status).toBe(404);
    expect(fs.readdirSync(`${emu.dir}/sessions`)).toEqual([]);
  });

  it('expires sessions after their lifetime (one week by default)', async () => {
    const uri = await startSession({ size: 2 * CHUNK });
    await put(uri, `bytes 0-${CHUNK - 1}/${2 * CHUNK}`, randomBytes(CHUNK));
    now += 7 * 24 * 3600 * 1000 - 1;
    expect((await statusQuery(uri, 2 * CHUNK)).status).toBe(308);
    now += 1;
    const expired = await statusQuery(uri, 2 * CHUNK);
    expect(expired.status).toBe(404);
    expect((await errorBody(expired)).error.errors[0]?.reason).toBe('notFound');
  });

  it('checks the quota at session start and at completion; usage grows with finished files only', async () => {
    const tooBig = await api('/upload/drive/v3/files?uploadType=resumable', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Upload-Content-Length': String(10 * CHUNK) },
      body: JSON.stringify({ name: 'big' }),
    });
    expect(tooBig.status).toBe(403);
    expect(await tooBig.json()).toEqual({
      error: {
        code: 403,
        message: "The user's Drive storage quota has been exceeded.",
        errors: [{ domain: 'usageLimits', reason: 'storageQuotaExceeded', message: "The user's Drive storage quota has been exceeded." }],
      },
    });

    // Without a declared length Drive only finds out at the end.
    const uri = await startSession();
    const data = randomBytes(10 * CHUNK);
    for (let i = 0; i < 9; i++) expect((await put(uri, `bytes ${i * CHUNK}-${(i + 1) * CHUNK - 1}/*`, data.subarray(i * CHUNK, (i + 1) * CHUNK))).status).toBe(308);
    expect(emu.account(account.id)?.usage).toBe(1000);
    const last = await put(uri, `bytes ${9 * CHUNK}-${10 * CHUNK - 1}/${10 * CHUNK}`, data.subarray(9 * CHUNK));
    expect(last.status).toBe(403);
    expect((await errorBody(last)).error.errors[0]?.reason).toBe('storageQuotaExceeded');
    emu.setQuota(account.id, { usage: 0 });
    const retried = await statusQuery(uri, 10 * CHUNK);
    expect(retried.status).toBe(200);
    expect(emu.account(account.id)).toMatchObject({ usage: 10 * CHUNK, peakUsage: 10 * CHUNK });
  });
});

describe('faults', () => {
  it('answers the next N matching requests with a 5xx, for one account only when asked', async () => {
    const token = await tokenFor();
    const other = emu.addAccount();
    const otherToken = await tokenFor(other);
    emu.injectFault({ on: 'about', account: account.id, times: 2, fault: { type: 'http-error', status: 503 } });
    expect((await api('/drive/v3/about?fields=storageQuota', { token: otherToken })).status).toBe(200);
    const first = await api('/drive/v3/about?fields=storageQuota', { token });
    expect(first.status).toBe(503);
    expect((await errorBody(first)).error.errors[0]).toMatchObject({ reason: 'backendError' });
    expect((await api('/drive/v3/about?fields=storageQuota', { token })).status).toBe(503);
    expect((await api('/drive/v3/about?fields=storageQuota', { token })).status).toBe(200);
    expect(emu.stats().faults).toEqual([]);
  });

  it('plays out 403 rate limits, 429 with Retry-After, and storageQuotaExceeded with Google’s bodies', async () => {
    const token = await tokenFor();
    emu.injectFault({ on: ['list'], fault: { type: 'rate-limit' } });
    emu.injectFault({ on: ['list'], fault: { type: 'rate-limit', reason: 'rateLimitExceeded' } });
    emu.injectFault({ on: ['list'], fault: { type: 'too-many-requests', retryAfterSeconds: 7 } });
    emu.injectFault({ on: ['create-session'], fault: { type: 'storage-quota' } });

    const user = await api('/drive/v3/files', { token });
    expect(user.status).toBe(403);
    expect((await errorBody(user)).error.errors[0]).toMatchObject({ domain: 'usageLimits', reason: 'userRateLimitExceeded' });
    const project = await api('/drive/v3/files', { token });
    expect((await errorBody(project)).error.errors[0]).toMatchObject({ domain: 'usageLimits', reason: 'rateLimitExceeded' });
    const tooMany = await api('/drive/v3/files', { token });
    expect(tooMany.status).toBe(429);
    expect(tooMany.headers.get('retry-after')).toBe('7');
    expect((await api('/drive/v3/files', { token })).status).toBe(200);

    const session = await api('/upload/drive/v3/files?uploadType=resumable', { token, method: 'POST', body: '{}' });
    expect(session.status).toBe(403);
    expect((await errorBody(session)).error.errors[0]?.reason).toBe('storageQuotaExceeded');
  });

  it('drops the connection mid-chunk and commits only the whole 256 KiB units that arrived', async () => {
    const data = randomBytes(4 * CHUNK);
    const uri = await startSession({ size: data.length });
    await put(uri, `bytes 0-${CHUNK - 1}/${data.length}`, data.subarray(0, CHUNK));
    emu.injectFault({ on: 'upload-chunk', fault: { type: 'drop-connection', afterBytes: CHUNK + 1000 } });
    await expect(put(uri, `bytes ${CHUNK}-${4 * CHUNK - 1}/${data.length}`, data.subarray(CHUNK))).rejects.toThrow();
    const q = await statusQuery(uri, data.length);
    expect(q.headers.get('range')).toBe(`bytes=0-${2 * CHUNK - 1}`);
    const last = await put(uri, `bytes ${2 * CHUNK}-${4 * CHUNK - 1}/${data.length}`, data.subarray(2 * CHUNK));
    const { id } = (await last.json()) as { id: string };
    expect((await emu.readFile(id)).equals(data)).toBe(true);
    expect(emu.log().some((e) => e.kind === 'upload-chunk' && e.fault === 'drop-connection' && e.status === 0)).toBe(true);
  });

  it('loses the acknowledgement of a stored chunk (drop after the whole body, or a 5xx after commit)', async () => {
    const data = randomBytes(3 * CHUNK);
    const uri = await startSession({ size: data.length });
    emu.injectFault({ on: 'upload-chunk', fault: { type: 'drop-connection', afterBytes: 10 * CHUNK } });
    await expect(put(uri, `bytes 0-${CHUNK - 1}/${data.length}`, data.subarray(0, CHUNK))).rejects.toThrow();
    expect((await statusQuery(uri, data.length)).headers.get('range')).toBe(`bytes=0-${CHUNK - 1}`);

    emu.injectFault({ on: 'upload-chunk', fault: { type: 'http-error', status: 503, afterCommit: true } });
    expect((await put(uri, `bytes ${CHUNK}-${3 * CHUNK - 1}/${data.length}`, data.subarray(CHUNK))).status).toBe(503);
    const done = await statusQuery(uri, data.length);
    expect(done.status).toBe(200);
    expect((await emu.readFile(((await done.json()) as { id: string }).id)).equals(data)).toBe(true);
  });

  it('drops a download after some bytes, and any other request before a reply', async () => {
    const data = randomBytes(100_000);
    const { id } = await uploadWhole(data);
    const token = await tokenFor();
    emu.injectFault({ on: 'media', fault: { type: 'drop-connection', afterBytes: 30_000 } });
    const res = await api(`/drive/v3/files/${id}?alt=media`, { token });
    expect(res.status).toBe(200);
    const received: Buffer[] = [];
    const reader = res.body!.getReader();
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          received.push(Buffer.from(value));
        }
      })(),
    ).rejects.toThrow();
    expect(Buffer.concat(received).equals(data.subarray(0, 30_000))).toBe(true);

    emu.injectFault({ on: 'token', fault: { type: 'drop-connection' } });
    await expect(tokenFor()).rejects.toThrow();
    expect(await tokenFor()).toMatch(/^ya29\./);
  });

  it('expires the session a request names, and delays requests', async () => {
    const uri = await startSession({ size: 2 * CHUNK });
    emu.injectFault({ on: 'status-query', fault: { type: 'expire-session' } });
    expect((await statusQuery(uri, 2 * CHUNK)).status).toBe(404);
    expect((await put(uri, `bytes 0-${CHUNK - 1}/${2 * CHUNK}`, randomBytes(CHUNK))).status).toBe(404);

    const token = await tokenFor();
    emu.injectFault({ on: 'about', fault: { type: 'latency', ms: 150 } });
    emu.injectFault({ on: 'about', fault: { type: 'http-error', status: 500 } });
    const started = Date.now();
    const slow = await api('/drive/v3/about?fields=storageQuota', { token });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(slow.status).toBe(500);
  });

  it('answers token faults in OAuth’s shape', async () => {
    emu.injectFault({ on: 'token', account: account.id, fault: { type: 'http-error', status: 503 } });
    const res = await fetch(emu.env.GOOGLE_OAUTH_TOKEN_URL, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: account.refreshToken, client_id: account.clientId, client_secret: account.clientSecret }),
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: 'backendError', error_description: 'Backend Error' });
  });

  it('is driven over HTTP by another process through the control API', async () => {
    const remote = connectDriveEmulator(emu.url);
    const created = await remote.addAccount({ quotaLimit: 5 * CHUNK, email: 'remote@example.com' });
    const token = await tokenFor(created);
    const id = await remote.injectFault({ on: 'about', account: created.id, times: null, fault: { type: 'http-error', status: 502 } });
    expect((await remote.faults()).map((f) => f.id)).toEqual([id]);
    expect((await api('/drive/v3/about?fields=storageQuota', { token })).status).toBe(502);
    expect((await api('/drive/v3/about?fields=storageQuota', { token })).status).toBe(502);
    await remote.clearFaults();
    expect((await api('/drive/v3/about?fields=storageQuota', { token })).status).toBe(200);

    const bad = await fetch(`${emu.url}/__emulator/faults`, { method: 'POST', body: JSON.stringify({ on: 'nonsense', fault: { type: 'http-error', status: 503 } }) });
    expect(bad.status).toBe(400);

    const uri = await startSession({ size: 5, token });
    const { id: fileId } = (await (await put(uri, 'bytes 0-4/5', Buffer.from('hello'))).json()) as { id: string };
    expect((await remote.readFile(fileId)).toString()).toBe('hello');
    expect((await remote.files(created.id)).map((f) => f.id)).toEqual([fileId]);
    expect(await remote.account(created.id)).toMatchObject({ usage: 5, quotaLimit: 5 * CHUNK });
    expect(await remote.setQuota(created.id, { quotaLimit: null })).toMatchObject({ quotaLimit: null });
    expect(await remote.expireAccessTokens(created.id)).toBe(1);
    expect(await remote.revokeRefreshToken(created.refreshToken)).toBe(true);

    const stats = await remote.stats();
    expect(stats.requests.about).toBe(3);
    expect(stats.byAccount[created.id]).toMatchObject({ about: 3, 'create-session': 1, 'upload-chunk': 1, token: 1 });
    expect(stats.faultsApplied).toBe(2);
  });
});
