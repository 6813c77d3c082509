import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addLocalMember, backupEnv, uploadBytes, waitForBackup } from '../support/backup';
import { adminToken, api, initiate, newUser, startTestGateway, type TestGateway } from '../support/gateway';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';

/** `/api/v1/admin/backups` (ARCHITECTURE.md, "Admin"): summary, list by status, retry one, run-missing, audit. */
const BASE = '/api/v1/admin/backups';

interface AdminItem {
  id: string;
  name: string;
  size: number;
  state: string;
  ownerId: string;
  accountId: string | null;
  remoteId: string | null;
  backup: { state: string; attempts: number; lastError: string | null; backedUpAt: string | null; remotePath: string | null; nextAttemptAt: string | null; leaseUntil: string | null };
}

let dav: WebDavServer;
let gw: TestGateway;
let admin: string;

beforeEach(async () => {
  dav = await startWebDavServer();
});
afterEach(async () => {
  await gw?.close();
  await dav.close();
});

async function start(env: Record<string, string>) {
  gw = await startTestGateway({ env });
  admin = await adminToken(gw);
  await addLocalMember(gw, admin);
}

async function adminId(): Promise<string> {
  return (await api<{ id: string }>(gw.url, 'GET', '/api/v1/auth/users/me', { token: admin })).body.id;
}

/** A backup that failed for good (as after a rejected password or running out of attempts). */
async function markFailed(fileId: string) {
  await gw.running.store.files.update(fileId, { backup: { state: 'failed', lastError: 'HTTP 401 from the backup server', nextAttemptAt: null, leaseUntil: null } });
}

describe('admin backup API', () => {
  it('is for admins only', async () => {
    await start(backupEnv(dav));
    const { token } = await newUser(gw, 'nosy@example.com');
    const id = '00000000-0000-4000-8000-000000000000';
    for (const [method, path] of [
      ['GET', `${BASE}/summary`],
      ['GET', BASE],
      ['POST', `${BASE}/${id}/retry`],
      ['POST', `${BASE}/run-missing`],
    ] as const) {
      expect((await api(gw.url, method, path, { token })).status, `${method} ${path}`).toBe(403);
      expect((await api(gw.url, method, path)).status, `${method} ${path}`).toBe(401);
    }
    expect((await gw.running.store.audit.list({ offset: 0, limit: 10, action: 'backup.retry' })).total).toBe(0);
  });

  it('summarises and lists by status with where every copy lives, paged', async () => {
    await start(backupEnv(dav));
    const { token, userId } = await newUser(gw, 'owner@example.com');
    const ids = [];
    for (const name of ['a.bin', 'b.bin', 'c.bin']) {
      const id = await uploadBytes(gw, token, randomBytes(10_000), name);
      await waitForBackup(gw.running.store, id, 'done');
      ids.push(id);
    }
    await markFailed(ids[2]!);

    const summary = await api(gw.url, 'GET', `${BASE}/summary`, { token: admin });
    expect(summary.status).toBe(200);
    expect(summary.body).toEqual({ pending: 0, running: 0, done: 2, failed: 1, disabled: 0 });

    const done = await api<{ items: AdminItem[]; total: number }>(gw.url, 'GET', `${BASE}?status=done`, { token: admin });
    expect(done.status).toBe(200);
    expect(done.body.total).toBe(2);
    expect(done.body.items.map((i) => i.id)).toEqual(ids.slice(0, 2));
    const file = (await gw.running.store.files.findById(ids[0]!))!;
    expect(done.body.items[0]).toEqual({
      id: file.id,
      name: 'a.bin',
      size: 10_000,
      mimeType: file.mimeType,
      sha256: file.sha256,
      state: 'complete',
      createdAt: file.createdAt.toISOString(),
      ownerId: userId,
      accountId: file.accountId,
      remoteId: file.remoteId,
      backup: {
        state: 'done',
        attempts: 1,
        lastError: null,
        backedUpAt: file.backup.backedUpAt!.toISOString(),
        remotePath: `objects/${file.id}`,
        nextAttemptAt: null,
        leaseUntil: null,
      },
    });

    const failed = await api<{ items: AdminItem[]; total: number }>(gw.url, 'GET', `${BASE}?status=failed`, { token: admin });
    expect(failed.body.items.map((i) => [i.id, i.backup.lastError])).toEqual([[ids[2], 'HTTP 401 from the backup server']]);

    const page2 = await api<{ items: AdminItem[]; total: number }>(gw.url, 'GET', `${BASE}?limit=2&page=2`, { token: admin });
    expect(page2.body).toMatchObject({ total: 3 });
    expect(page2.body.items.map((i) => i.id)).toEqual([ids[2]]);

    const bad = await api<{ error: { code: string } }>(gw.url, 'GET', `${BASE}?status=lost&limit=0`, { token: admin });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    const sloppy = await api<{ error: { message: string } }>(gw.url, 'GET', `${BASE}?limit=1e1&pages=2`, { token: admin });
    expect(sloppy.status).toBe(400);
    expect(sloppy.body.error.message).toContain('limit must be a whole number');
    expect(sloppy.body.error.message).toContain('unknown field(s): pages');
  });

  it('retries one file with a fresh set of attempts and audits it; refuses unknown and unfinished files', async () => {
    await start(backupEnv(dav));
    const { token } = await newUser(gw, 'retry@example.com');
    const fileId = await uploadBytes(gw, token, randomBytes(50_000));
    await waitForBackup(gw.running.store, fileId, 'done');
    // A verified copy is never re-copied over (it may be the only readable one).
    const verified = await api<{ error: { code: string } }>(gw.url, 'POST', `${BASE}/${fileId}/retry`, { token: admin });
    expect(verified.status).toBe(409);
    expect(verified.body.error.code).toBe('backup_done');
    await markFailed(fileId);
    await gw.running.store.files.update(fileId, { backup: { attempts: 8 } });

    const res = await api<AdminItem>(gw.url, 'POST', `${BASE}/${fileId}/retry`, { token: admin, headers: { 'User-Agent': 'test' } });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(fileId);
    expect(['pending', 'running', 'done']).toContain(res.body.backup.state);
    const done = await waitForBackup(gw.running.store, fileId, 'done');
    expect(done.attempts).toBe(1);
    expect(done.lastError).toBeNull();

    const audit = await gw.running.store.audit.list({ offset: 0, limit: 10, action: 'backup.retry' });
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ actorId: await adminId(), targetType: 'file', targetId: fileId, details: { previousState: 'failed', attempts: 8, queued: true } });
    expect(audit.items[0]?.ip).toMatch(/127\.0\.0\.1/);

    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      const missing = await api<{ error: { code: string } }>(gw.url, 'POST', `${BASE}/${id}/retry`, { token: admin });
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('file_not_found');
    }
    const unfinished = await initiate(gw, token, 'half.bin', 1000);
    const conflict = await api<{ error: { code: string } }>(gw.url, 'POST', `${BASE}/${unfinished.body.fileId}/retry`, { token: admin });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('file_not_complete');
    expect((await gw.running.store.audit.list({ offset: 0, limit: 10, action: 'backup.retry' })).total).toBe(1);
  });

  it('runs every missing backup (failed, pending, disabled) and audits it', async () => {
    await start(backupEnv(dav));
    const { token } = await newUser(gw, 'missing@example.com');
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const id = await uploadBytes(gw, token, randomBytes(20_000 + i));
      await waitForBackup(gw.running.store, id, 'done');
      ids.push(id);
    }
    await markFailed(ids[0]!);
    await markFailed(ids[1]!);

    const res = await api<{ queued: number }>(gw.url, 'POST', `${BASE}/run-missing`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ queued: 2 });
    for (const id of ids) await waitForBackup(gw.running.store, id, 'done');
    expect((await api(gw.url, 'GET', `${BASE}/summary`, { token: admin })).body).toMatchObject({ done: 3, failed: 0, pending: 0 });

    const audit = await gw.running.store.audit.list({ offset: 0, limit: 10, action: 'backup.run_missing' });
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ actorId: await adminId(), details: { queued: 2 } });
    expect(audit.items[0]?.ip).toMatch(/127\.0\.0\.1/);
  });

  it('answers 409 to retry and run-missing while no backup target is configured', async () => {
    await start({});
    const { token } = await newUser(gw, 'none@example.com');
    const fileId = await uploadBytes(gw, token, randomBytes(1000));
    expect((await api(gw.url, 'GET', `${BASE}/summary`, { token: admin })).body).toEqual({ pending: 0, running: 0, done: 0, failed: 0, disabled: 1 });
    for (const path of [`${BASE}/${fileId}/retry`, `${BASE}/run-missing`]) {
      const res = await api<{ error: { code: string } }>(gw.url, 'POST', path, { token: admin });
      expect(res.status, path).toBe(409);
      expect(res.body.error.code).toBe('backup_not_configured');
    }
    expect((await gw.running.store.files.findById(fileId))?.backup.state).toBe('disabled');
  });
});
