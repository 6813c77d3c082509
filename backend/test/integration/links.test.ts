import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock';
import { sha256Hex } from '../../src/core/crypto';
import { addLocalAccount, backupTargetEnv, WORKERS_OFF, errorCode, fetchBytes, placeBackup, putFile, sha } from '../support/files';
import { adminToken, api, initiate, newUser, startTestGateway, type TestGateway } from '../support/gateway';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';

/**
 * Share links (issue 4) on a local-disk pool member with a WebDAV backup
 * target. The gateway's clock is a manual one that starts at the real time
 * (so access tokens stay valid) and is moved forward to expire links.
 */
let dav: WebDavServer;
let gw: TestGateway;
let admin: string;
let accountId: string;
let owner: { token: string; userId: string };
let stranger: { token: string; userId: string };
const clock = new ManualClock(new Date());

beforeAll(async () => {
  dav = await startWebDavServer();
  gw = await startTestGateway({ env: backupTargetEnv(dav), server: { clock, ...WORKERS_OFF } });
  admin = await adminToken(gw);
  accountId = await addLocalAccount(gw, admin);
  owner = await newUser(gw, 'owner@example.com');
  stranger = await newUser(gw, 'stranger@example.com');
});
afterAll(async () => {
  await gw?.close();
  await dav?.close();
});

interface Created {
  id: string;
  token: string;
  url: string;
  expiresAt: string;
}
async function createLink(fileId: string, body: Record<string, unknown>, token = owner.token) {
  return api<Created>(gw.url, 'POST', `/api/v1/files/${fileId}/links`, { token, body });
}
const meta = (token: string) => fetchBytes(`${gw.url}/api/v1/links/${token}`);
const download = (token: string, headers: Record<string, string> = {}, method = 'GET') => fetchBytes(`${gw.url}/api/v1/links/${token}/download`, { headers, method });
const unlock = (token: string, password: string) => api<{ downloadUrl: string; expiresAt: string }>(gw.url, 'POST', `/api/v1/links/${token}/unlock`, { body: { password } });

describe('share links', () => {
  it('creates a link whose token is shown once, and serves metadata and bytes (Range, HEAD) to anyone holding it', async () => {
    const data = randomBytes(100_000);
    const fileId = await putFile(gw, owner.token, 'holiday photo.jpg', data, 'image/jpeg');
    const created = await createLink(fileId, { expiresInSeconds: 3600 });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The share page of the web app, which handles password links too (not the raw download).
    expect(created.body.url).toMatch(new RegExp(`^https?://[^/]+/s/${created.body.token}$`));
    expect(Date.parse(created.body.expiresAt)).toBe(clock.now().getTime() + 3600_000);
    // Only the token's hash is stored.
    const stored = (await gw.running.store.links.listByFile(fileId))[0]!;
    expect(stored.tokenHash).toBe(sha256Hex(created.body.token));
    expect(JSON.stringify(stored)).not.toContain(created.body.token);

    const listed = await api<{ items: Array<Record<string, unknown>>; total: number }>(gw.url, 'GET', `/api/v1/files/${fileId}/links`, { token: owner.token });
    expect(listed.body.total).toBe(1);
    expect(listed.body.items[0]).toMatchObject({ id: created.body.id, fileId, passwordRequired: false, state: 'active', revokedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);

    const info = await meta(created.body.token);
    expect(info.status).toBe(200);
    expect(JSON.parse(info.body.toString())).toEqual({ name: 'holiday photo.jpg', size: data.length, mimeType: 'image/jpeg', expiresAt: created.body.expiresAt, passwordRequired: false });

    const whole = await download(created.body.token);
    expect(whole.status).toBe(200);
    expect(sha(whole.body)).toBe(sha(data));
    expect(whole.headers.get('content-disposition')).toMatch(/^attachment; filename="holiday photo.jpg"/);
    expect(whole.headers.get('content-security-policy')).toBe('sandbox');
    const part = await download(created.body.token, { Range: 'bytes=-100' });
    expect(part.status).toBe(206);
    expect(part.body.equals(data.subarray(data.length - 100))).toBe(true);
    const head = await download(created.body.token, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
  });

  it('serves a link from the backup while the primary is down', async () => {
    const data = randomBytes(200_000);
    const fileId = await putFile(gw, owner.token, 'b.bin', data);
    await placeBackup(gw, fileId, data);
    const { body } = await createLink(fileId, { expiresInSeconds: 600 });
    await gw.running.store.accounts.update(accountId, { enabled: false });
    try {
      const res = await download(body.token, { Range: 'bytes=1000-' });
      expect(res.status).toBe(206);
      expect(res.body.equals(data.subarray(1000))).toBe(true);
    } finally {
      await gw.running.store.accounts.update(accountId, { enabled: true });
    }
  });

  it('asks for the password: X-Link-Password on each request, or an unlock for plain GETs', async () => {
    const data = randomBytes(5000);
    const fileId = await putFile(gw, owner.token, 'secret.pdf', data, 'application/pdf');
    const password = 'pässwörd 🔑';
    const { body: link } = await createLink(fileId, { expiresInSeconds: 3600, password });
    expect(JSON.parse((await meta(link.token)).body.toString())).toMatchObject({ passwordRequired: true });
    expect((await gw.running.store.links.listByFile(fileId))[0]?.passwordHash).toMatch(/^\$argon2id\$/);

    const none = await download(link.token);
    expect(none.status).toBe(401);
    expect(errorCode(none)).toBe('password_required');
    const wrong = await download(link.token, { 'X-Link-Password': 'guess' });
    expect(wrong.status).toBe(401);
    expect(errorCode(wrong)).toBe('wrong_password');
    // A header carries the password's UTF-8 bytes.
    const right = await download(link.token, { 'X-Link-Password': Buffer.from(password).toString('latin1'), Range: 'bytes=0-99' });
    expect(right.status).toBe(206);
    expect(right.body.equals(data.subarray(0, 100))).toBe(true);

    expect((await unlock(link.token, 'guess')).status).toBe(401);
    const unlocked = await unlock(link.token, password);
    expect(unlocked.status).toBe(200);
    expect(unlocked.body.downloadUrl).toMatch(new RegExp(`^/api/v1/links/${link.token}/download\\?key=`));
    const plain = await fetchBytes(`${gw.url}${unlocked.body.downloadUrl}`, { headers: { Range: 'bytes=4000-' } });
    expect(plain.status).toBe(206);
    expect(plain.body.equals(data.subarray(4000))).toBe(true);
    const tampered = await fetchBytes(`${gw.url}${unlocked.body.downloadUrl.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}`);
    expect(tampered.status).toBe(401);
    // The key opens this link only.
    const other = (await createLink(fileId, { expiresInSeconds: 3600, password })).body;
    const key = new URL(unlocked.body.downloadUrl, gw.url).searchParams.get('key')!;
    expect((await fetchBytes(`${gw.url}/api/v1/links/${other.token}/download?key=${key}`)).status).toBe(401);
  });

  it('throttles wrong passwords per link with 429 and Retry-After', async () => {
    const fileId = await putFile(gw, owner.token, 't.bin', randomBytes(10));
    const { body: link } = await createLink(fileId, { expiresInSeconds: 7200, password: 'right one' });
    const { body: neighbour } = await createLink(fileId, { expiresInSeconds: 7200, password: 'right one' });
    for (let i = 0; i < 10; i++) expect((await download(link.token, { 'X-Link-Password': `wrong ${i}` })).status).toBe(401);
    const blocked = await download(link.token, { 'X-Link-Password': 'right one' });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBe(15 * 60);
    expect((await unlock(link.token, 'right one')).status).toBe(429);
    // Other links are not affected.
    expect((await download(neighbour.token, { 'X-Link-Password': 'right one' })).status).toBe(200);
    clock.advance(15 * 60 * 1000);
    expect((await download(link.token, { 'X-Link-Password': 'right one' })).status).toBe(200);
  });

  it('refuses expired links with 410 link_expired', async () => {
    const fileId = await putFile(gw, owner.token, 'e.bin', randomBytes(10));
    const { body: link } = await createLink(fileId, { expiresInSeconds: 60, password: 'pw' });
    const unlocked = await unlock(link.token, 'pw');
    expect((await fetchBytes(`${gw.url}${unlocked.body.downloadUrl}`)).status).toBe(200);
    clock.advance(61_000);
    for (const res of [await meta(link.token), await download(link.token, { 'X-Link-Password': 'pw' }), await fetchBytes(`${gw.url}${unlocked.body.downloadUrl}`)]) {
      expect(res.status).toBe(410);
      expect(errorCode(res)).toBe('link_expired');
    }
    expect((await unlock(link.token, 'pw')).status).toBe(410);
    const listed = await api<{ items: Array<{ state: string }> }>(gw.url, 'GET', `/api/v1/files/${fileId}/links`, { token: owner.token });
    expect(listed.body.items.map((l) => l.state)).toEqual(['expired']);
  });

  it('revokes links: 410 link_revoked from then on; only the owner (or an admin) may', async () => {
    const fileId = await putFile(gw, owner.token, 'r.bin', randomBytes(10));
    const { body: link } = await createLink(fileId, { expiresInSeconds: 3600 });
    expect((await download(link.token)).status).toBe(200);
    expect((await api(gw.url, 'DELETE', `/api/v1/files/${fileId}/links/${link.id}`, { token: stranger.token })).status).toBe(404);
    expect((await api(gw.url, 'GET', `/api/v1/files/${fileId}/links`, { token: stranger.token })).status).toBe(404);
    expect((await api(gw.url, 'DELETE', `/api/v1/files/${fileId}/links/${link.id}`, { token: owner.token })).status).toBe(204);
    // Again: still revoked, still fine.
    expect((await api(gw.url, 'DELETE', `/api/v1/files/${fileId}/links/${link.id}`, { token: owner.token })).status).toBe(204);
    expect((await api(gw.url, 'DELETE', `/api/v1/files/${fileId}/links/00000000-0000-4000-8000-000000000000`, { token: owner.token })).status).toBe(404);
    for (const res of [await meta(link.token), await download(link.token)]) {
      expect(res.status).toBe(410);
      expect(errorCode(res)).toBe('link_revoked');
    }
    const audit = await gw.running.store.audit.list({ offset: 0, limit: 5, action: 'link.revoked' });
    expect(audit.items.filter((e) => e.targetId === link.id)).toHaveLength(1);

    const another = (await createLink(fileId, { expiresInSeconds: 3600 })).body;
    expect((await api(gw.url, 'DELETE', `/api/v1/files/${fileId}/links/${another.id}`, { token: admin })).status).toBe(204);
  });

  it('answers 404 for unknown tokens, and validates what a link is created with', async () => {
    for (const token of ['x'.repeat(43), 'short', 'not.a.token']) {
      const res = await meta(token);
      expect(res.status, token).toBe(404);
      expect(errorCode(res)).toBe('link_not_found');
    }
    expect((await download('y'.repeat(43))).status).toBe(404);
    const fileId = await putFile(gw, owner.token, 'v.bin', randomBytes(10));
    for (const body of [{}, { expiresInSeconds: 10 }, { expiresInSeconds: 400 * 24 * 3600 }, { expiresInSeconds: 60.5 }, { expiresInSeconds: 600, password: '' }, { expiresInSeconds: 600, extra: 1 }]) {
      const res = await createLink(fileId, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const text = await createLink(fileId, { expiresInSeconds: '3600' });
    expect(text.status).toBe(400);
    expect((text.body as unknown as { error: { message: string } }).error.message).toContain('expiresInSeconds must be a number of seconds');
    expect((await createLink(fileId, { expiresInSeconds: 600 }, stranger.token)).status).toBe(404);
    const unfinished = await initiate(gw, owner.token, 'u.bin', 10);
    const refused = await createLink(unfinished.body.fileId, { expiresInSeconds: 600 });
    expect(refused.status).toBe(409);
    expect((refused.body as unknown as { error: { code: string } }).error.code).toBe('file_not_ready');
  });
});
