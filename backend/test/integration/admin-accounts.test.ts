import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminToken, api, initiate, newUser, startTestGateway, type TestGateway } from '../support/gateway';
import { fromBuffer, uploadWithResume } from '../support/ws-upload-client';

/** The admin accounts API (ARCHITECTURE.md, "Admin") on local-disk members; Drive and WebDAV specifics live with their adapters' tests. */
let gw: TestGateway;
let admin: string;

beforeEach(async () => {
  gw = await startTestGateway();
  admin = await adminToken(gw);
});
afterEach(async () => {
  await gw.close();
});

type View = {
  id: string;
  provider: string;
  name: string;
  enabled: boolean;
  draining: boolean;
  health: string;
  circuit: string;
  quota: { limit: number | null; used: number; reserved: number };
  uploadedLast24h: number;
  dailyCap: number | null;
  lastCheckAt: string | null;
  lastError: string | null;
  details: Record<string, string>;
};

const add = (body: Record<string, unknown>) => api<View & { error?: { code: string; message: string } }>(gw.url, 'POST', '/api/v1/admin/accounts', { token: admin, body });
const list = async () => (await api<{ items: View[]; total: number }>(gw.url, 'GET', '/api/v1/admin/accounts', { token: admin })).body;
const local = (name: string) => ({ provider: 'local', name, path: path.join(gw.dataDir, name) });

async function uploadTo(token: string, size: number) {
  const init = (await initiate(gw, token, 'f.bin', size)).body;
  const data = randomBytes(size);
  const { final } = await uploadWithResume({ wsBase: gw.wsBase, fileId: init.fileId, token: init.uploadToken, size, chunkSize: init.chunkSize, readChunk: fromBuffer(data) });
  expect(final.outcome).toBe('complete');
  return init.fileId;
}

describe('admin accounts API', () => {
  it('is for admins only', async () => {
    const { token } = await newUser(gw, 'plain@example.com');
    for (const [method, p] of [
      ['GET', '/api/v1/admin/accounts'],
      ['POST', '/api/v1/admin/accounts'],
      ['PATCH', '/api/v1/admin/accounts/x'],
      ['DELETE', '/api/v1/admin/accounts/x'],
      ['POST', '/api/v1/admin/accounts/x/check'],
    ] as const) {
      const body = method === 'GET' ? {} : { body: {} };
      expect((await api(gw.url, method, p, { token, ...body })).status, `${method} ${p}`).toBe(403);
      expect((await api(gw.url, method, p, body)).status, `${method} ${p}`).toBe(401);
    }
  });

  it('adds a member after testing it, lists it with live numbers, and never shows credentials', async () => {
    const res = await add(local('disk'));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      provider: 'local',
      name: 'disk',
      enabled: true,
      draining: false,
      health: 'healthy',
      circuit: 'closed',
      quota: { limit: expect.any(Number), used: expect.any(Number), reserved: 0 },
      uploadedLast24h: 0,
      dailyCap: null,
      lastError: null,
      details: { path: path.join(gw.dataDir, 'disk') },
    });
    expect(fs.existsSync(path.join(gw.dataDir, 'disk'))).toBe(true);

    const { token } = await newUser(gw, 'u@example.com');
    await uploadTo(token, 1000);
    const [item] = (await list()).items;
    expect(item).toMatchObject({ id: res.body.id, uploadedLast24h: 1000 });

    // The sealed credentials in the store are not readable, and no response carries them.
    const stored = await gw.running.store.accounts.findById(res.body.id);
    expect(stored?.credentials.startsWith('v1.')).toBe(true);
    expect(stored?.credentials).not.toContain('disk');
    const audit = await gw.running.store.audit.list({ offset: 0, limit: 10, action: 'account.add' });
    expect(audit.items[0]).toMatchObject({ targetId: res.body.id, details: { provider: 'local', name: 'disk' } });
  });

  it('refuses bad input with clear errors and adds nothing', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ provider: 'ftp', name: 'x' }, 400, 'validation_failed'],
      [{ provider: 'local', name: '', path: '/tmp/x' }, 400, 'validation_failed'],
      [{ provider: 'local', name: 'rel', path: 'relative/dir' }, 400, 'validation_failed'],
      [{ provider: 'gdrive', name: 'g', clientId: 'a', clientSecret: 'b' }, 400, 'validation_failed'],
      [{ provider: 'webdav', name: 'w', url: 'ftp://host/' }, 400, 'validation_failed'],
      [{ provider: 'local', name: 'x', path: '/tmp/x', role: 'admin' }, 400, 'validation_failed'],
      [{ provider: 'local', name: 'proc', path: '/proc/nope' }, 400, 'validation_failed'],
      // A path that cannot be a directory (under a regular file): the test write fails before anything is stored.
      [{ provider: 'local', name: 'file', path: path.join(gw.dataDir, 'metadata.db', 'sub') }, 400, 'account_unusable'],
      [{ provider: 'webdav', name: 'creds in url', url: 'http://user:pw@127.0.0.1:1/' }, 400, 'account_unusable'],
    ];
    for (const [body, status, code] of cases) {
      const res = await add(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error?.code).toBe(code);
    }
    expect((await list()).total).toBe(0);
  });

  it('disables, drains and re-enables: placement follows', async () => {
    const a = (await add(local('a'))).body;
    const b = (await add(local('b'))).body;
    const { token } = await newUser(gw, 'p@example.com');
    const patch = (id: string, body: Record<string, unknown>) => api<View>(gw.url, 'PATCH', `/api/v1/admin/accounts/${id}`, { token: admin, body });
    expect((await patch(a.id, { enabled: false })).body).toMatchObject({ enabled: false });
    expect((await patch(b.id, { draining: true })).body).toMatchObject({ draining: true });
    expect((await initiate(gw, token, 'x', 1)).status).toBe(507);
    expect((await patch(b.id, { draining: false, name: 'bee', dailyCap: 10 })).body).toMatchObject({ draining: false, name: 'bee', dailyCap: 10 });
    const placed = (await initiate(gw, token, 'x', 10)).body;
    expect((await gw.running.store.files.findById(placed.fileId))?.accountId).toBe(b.id);
    // b's daily cap (10 bytes) is used up by that upload; a is still disabled.
    expect((await initiate(gw, token, 'y', 1)).status).toBe(507);
    await patch(a.id, { enabled: true });
    expect((await gw.running.store.files.findById((await initiate(gw, token, 'z', 1)).body.fileId))?.accountId).toBe(a.id);
    expect((await patch(a.id, {})).status).toBe(400);
    expect((await patch(a.id, { reserved: 0 })).status).toBe(400);
    expect((await patch('00000000-0000-4000-8000-000000000000', { enabled: true })).status).toBe(404);
    // Four changes went through; the refused ones left no trace.
    expect((await gw.running.store.audit.list({ offset: 0, limit: 20, action: 'account.update' })).total).toBe(4);
  });

  it('checks a member now and records the outcome', async () => {
    const a = (await add(local('chk'))).body;
    await gw.running.store.accounts.update(a.id, { health: 'degraded', consecutiveFailures: 2, lastError: 'old failure' });
    const res = await api<View>(gw.url, 'POST', `/api/v1/admin/accounts/${a.id}/check`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ health: 'healthy', lastError: null, circuit: 'closed' });
    expect(Date.parse(res.body.lastCheckAt!)).toBeGreaterThan(Date.now() - 10_000);
    expect((await api(gw.url, 'POST', '/api/v1/admin/accounts/not-an-id/check', { token: admin })).status).toBe(404);
  });

  it('refuses to remove a member that holds files unless forced', async () => {
    const a = (await add(local('keep'))).body;
    const empty = (await add(local('empty'))).body;
    await api(gw.url, 'PATCH', `/api/v1/admin/accounts/${empty.id}`, { token: admin, body: { enabled: false } });
    const { token } = await newUser(gw, 'r@example.com');
    const fileId = await uploadTo(token, 10);

    const refused = await api<{ error: { code: string; message: string } }>(gw.url, 'DELETE', `/api/v1/admin/accounts/${a.id}`, { token: admin });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('account_in_use');
    expect(refused.body.error.message).toContain('1 file');

    expect((await api(gw.url, 'DELETE', `/api/v1/admin/accounts/${empty.id}`, { token: admin })).status).toBe(204);
    expect((await api(gw.url, 'DELETE', `/api/v1/admin/accounts/${a.id}?force=true`, { token: admin })).status).toBe(204);
    expect((await list()).total).toBe(0);
    expect((await gw.running.store.files.findById(fileId))?.accountId).toBeNull();
    const removals = await gw.running.store.audit.list({ offset: 0, limit: 10, action: 'account.remove' });
    expect(removals.items.map((e) => e.details.force)).toEqual([true, false]);
    expect((await api(gw.url, 'DELETE', `/api/v1/admin/accounts/${a.id}`, { token: admin })).status).toBe(404);
  });
});

describe('the embedded default member', () => {
  it('is created on a first start with an empty pool, and not again', async () => {
    await gw.close();
    gw = await startTestGateway({ env: { LOCAL_STORAGE_DIR: '' } });
    expect(await gw.running.store.accounts.list()).toEqual([]);
    const dataDir = gw.dataDir;
    await gw.running.stop();
    const withLocal = await startTestGateway({ keepDataDir: dataDir, env: { LOCAL_STORAGE_DIR: path.join(dataDir, 'storage') } });
    try {
      const accounts = await withLocal.running.store.accounts.list();
      expect(accounts).toHaveLength(1);
      expect(accounts[0]).toMatchObject({ provider: 'local', name: 'Local disk', health: 'healthy' });
      expect(fs.existsSync(path.join(dataDir, 'storage'))).toBe(true);
      await withLocal.restart();
      expect(await withLocal.running.store.accounts.list()).toHaveLength(1);
    } finally {
      // afterEach closes `gw`, which removes the shared DATA_DIR.
      await withLocal.close();
    }
  });
});
