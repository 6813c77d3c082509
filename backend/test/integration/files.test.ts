import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { JOB } from '../../src/backup/queue/types';
import { type DriveEmulator, startDriveEmulator } from '../support/drive-emulator';
import { addDriveAccount, backupBytes, backupTargetEnv, WORKERS_OFF, errorCode, fetchBytes, placeBackup, putFile } from '../support/files';
import { adminToken, api, initiate, newUser, startTestGateway, type TestGateway } from '../support/gateway';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';

/**
 * The file list, file metadata and deletion (issue 4): a deleted file is
 * never served again — not by id, not through a link, not in a ZIP — its
 * owner gets the storage back at once, and the delete job removes the Drive
 * copy and the backup copy, freeing the account's space exactly once.
 */
let emu: DriveEmulator;
let dav: WebDavServer;
let gw: TestGateway;
let admin: string;
let drive: Awaited<ReturnType<typeof addDriveAccount>>;

beforeAll(async () => {
  [emu, dav] = await Promise.all([startDriveEmulator(), startWebDavServer()]);
  gw = await startTestGateway({ env: { ...emu.env, ...backupTargetEnv(dav) }, server: WORKERS_OFF });
  admin = await adminToken(gw);
  drive = await addDriveAccount(gw, admin, emu);
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([emu?.close(), dav?.close()]);
});
afterEach(() => {
  emu.clearFaults();
  vi.restoreAllMocks();
});

interface FileItem {
  id: string;
  name: string;
  size: number;
  state: string;
  backup: { state: string };
}
const list = (token: string, query = '') => api<{ items: FileItem[]; total: number }>(gw.url, 'GET', `/api/v1/files${query}`, { token });
const me = async (token: string) => (await api<{ storageUsed: number }>(gw.url, 'GET', '/api/v1/auth/users/me', { token })).body.storageUsed;
const accountUsed = async () => (await gw.running.store.accounts.findById(drive.id))!.quotaUsed;

describe('GET /api/v1/files', () => {
  it("lists the owner's files with search, sort and pages, and nobody else's", async () => {
    const carol = await newUser(gw, 'carol@example.com');
    const dave = await newUser(gw, 'dave@example.com');
    const sizes: Record<string, number> = { 'beta.txt': 30, 'Alpha.txt': 10, 'gamma report.pdf': 20 };
    for (const [name, size] of Object.entries(sizes)) await putFile(gw, carol.token, name, randomBytes(size));
    await putFile(gw, dave.token, 'dave.txt', randomBytes(5));
    // An upload still in flight is listed with its state.
    const pending = await initiate(gw, carol.token, 'later.bin', 100);

    const all = await list(carol.token);
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(4);
    expect(all.body.items.map((f) => f.name)).toEqual(['later.bin', 'gamma report.pdf', 'Alpha.txt', 'beta.txt']);
    expect(all.body.items[0]).toMatchObject({ id: pending.body.fileId, state: 'pending', size: 100 });
    // The file object of the contract: no storage locations.
    expect(Object.keys(all.body.items[1]!).sort()).toEqual(['backup', 'createdAt', 'id', 'mimeType', 'name', 'sha256', 'size', 'state']);

    expect((await list(carol.token, '?sort=name')).body.items.map((f) => f.name)).toEqual(['Alpha.txt', 'beta.txt', 'gamma report.pdf', 'later.bin']);
    expect((await list(carol.token, '?sort=-size')).body.items.map((f) => f.size)).toEqual([100, 30, 20, 10]);
    expect((await list(carol.token, '?sort=size&limit=2&page=2')).body).toMatchObject({ total: 4, items: [{ size: 30 }, { size: 100 }] });
    const search = await list(carol.token, '?q=REPORT');
    expect(search.body).toMatchObject({ total: 1, items: [{ name: 'gamma report.pdf' }] });
    expect((await list(dave.token)).body.items.map((f) => f.name)).toEqual(['dave.txt']);

    for (const bad of ['?limit=0', '?limit=101', '?page=0', '?page=1.5', '?limit=abc', '?sort=owner', '?foo=1']) {
      const res = await list(carol.token, bad);
      expect(res.status, bad).toBe(400);
      expect((res.body as unknown as { error: { code: string } }).error.code).toBe('validation_failed');
    }
    expect((await api(gw.url, 'GET', '/api/v1/files')).status).toBe(401);
  });
});

describe('GET /api/v1/download/files/<id>/meta', () => {
  it('returns the file object to its owner and to admins only', async () => {
    const erin = await newUser(gw, 'erin@example.com');
    const frank = await newUser(gw, 'frank@example.com');
    const data = randomBytes(64);
    const id = await putFile(gw, erin.token, 'e.bin', data);
    const meta = await api<FileItem & { sha256: string }>(gw.url, 'GET', `/api/v1/download/files/${id}/meta`, { token: erin.token });
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({ id, name: 'e.bin', size: 64, state: 'complete', backup: { state: 'pending' } });
    expect(meta.body).not.toHaveProperty('remoteId');
    expect(meta.body).not.toHaveProperty('accountId');
    expect((await api(gw.url, 'GET', `/api/v1/download/files/${id}/meta`, { token: admin })).status).toBe(200);
    expect((await api(gw.url, 'GET', `/api/v1/download/files/${id}/meta`, { token: frank.token })).status).toBe(404);
  });
});

describe('DELETE /api/v1/files/<id>', () => {
  it('hides the file everywhere at once, gives the owner its storage back, and the delete job removes both copies', async () => {
    const gina = await newUser(gw, 'gina@example.com');
    const data = randomBytes(300_000);
    const usedBefore = await me(gina.token);
    const accountBefore = await accountUsed();
    const id = await putFile(gw, gina.token, 'gone.bin', data);
    const keep = await putFile(gw, gina.token, 'keep.bin', randomBytes(10));
    await placeBackup(gw, id, data);
    const { remoteId } = (await gw.running.store.files.findById(id))!;
    expect(emu.file(remoteId!)).toBeDefined();
    expect(backupBytes(dav, id)?.equals(data)).toBe(true);
    expect(await me(gina.token)).toBe(usedBefore + data.length + 10);
    expect(await accountUsed()).toBe(accountBefore + data.length + 10);
    const link = await api<{ token: string }>(gw.url, 'POST', `/api/v1/files/${id}/links`, { token: gina.token, body: { expiresInSeconds: 3600 } });
    expect(link.status).toBe(201);
    const queued = await gw.running.app.queue.pending(JOB.deleteFile);

    const del = await api(gw.url, 'DELETE', `/api/v1/files/${id}`, { token: gina.token });
    expect(del.status).toBe(204);
    expect(await me(gina.token)).toBe(usedBefore + 10);
    expect(await gw.running.app.queue.pending(JOB.deleteFile)).toBe(queued + 1);
    const audit = await gw.running.store.audit.list({ offset: 0, limit: 10, action: 'file.deleted' });
    expect(audit.items.find((e) => e.targetId === id)).toMatchObject({ actorId: gina.userId, targetType: 'file', details: { name: 'gone.bin', size: data.length } });

    // Never served again, by any route.
    const byId = [
      `/api/v1/download/stream/${id}`,
      `/api/v1/download/preview/stream/${id}`,
      `/api/v1/download/files/${id}/meta`,
      `/api/v1/files/${id}/links`,
    ];
    for (const path of byId) {
      const res = await fetchBytes(`${gw.url}${path}`, { token: gina.token });
      expect(res.status, path).toBe(404);
      expect(errorCode(res)).toBe('file_not_found');
    }
    expect((await fetchBytes(`${gw.url}/api/v1/download/stream/${id}`, { method: 'HEAD', token: admin })).status).toBe(404);
    expect((await api(gw.url, 'GET', `/api/v1/links/${link.body.token}`)).status).toBe(404);
    expect((await fetchBytes(`${gw.url}/api/v1/links/${link.body.token}/download`)).status).toBe(404);
    expect((await api(gw.url, 'POST', '/api/v1/download/zip', { token: gina.token, body: { fileIds: [keep, id] } })).status).toBe(404);
    expect((await list(gina.token)).body.items.map((f) => f.id)).toEqual([keep]);
    expect((await api(gw.url, 'DELETE', `/api/v1/files/${id}`, { token: gina.token })).status).toBe(404);
    // The copies are still there until the job runs.
    expect(emu.file(remoteId!)).toBeDefined();

    await gw.running.app.deleteFileJob({ fileId: id });
    expect(emu.file(remoteId!)).toBeUndefined();
    expect(backupBytes(dav, id)).toBeNull();
    expect(await gw.running.store.files.findById(id)).toMatchObject({ remoteId: null, backup: { remotePath: null } });
    expect(await accountUsed()).toBe(accountBefore + 10);
    expect(await gw.running.store.files.listDeletedWithCopies(new Date(), 100)).not.toContain(id);

    // Running it again (a re-delivered job, the reconciler) changes nothing.
    await Promise.all([gw.running.app.deleteFileJob({ fileId: id }), gw.running.app.deleteFileJob({ fileId: id })]);
    expect(await accountUsed()).toBe(accountBefore + 10);
    expect(await me(gina.token)).toBe(usedBefore + 10);
    // A job for a file that is not deleted does nothing.
    await gw.running.app.deleteFileJob({ fileId: keep });
    expect((await fetchBytes(`${gw.url}/api/v1/download/stream/${keep}`, { token: gina.token })).status).toBe(200);
  });

  it('removes the object a backup worker left behind when it died after its PUT, and ends that backup', async () => {
    const olga = await newUser(gw, 'olga@example.com');
    const data = randomBytes(20_000);
    const id = await putFile(gw, olga.token, 'orphan.bin', data);
    await placeBackup(gw, id, data);
    // As a worker killed between its PUT and recording it leaves things: an object, no recorded path, a lapsed lease.
    const lapsed = new Date(Date.now() - 60_000);
    await gw.running.store.files.update(id, { backup: { state: 'running', remotePath: null, leaseUntil: lapsed } });
    expect((await api(gw.url, 'DELETE', `/api/v1/files/${id}`, { token: olga.token })).status).toBe(204);
    expect(await gw.running.store.files.listDeletedWithCopies(new Date(), 100)).toContain(id);

    await gw.running.app.deleteFileJob({ fileId: id });
    expect(backupBytes(dav, id)).toBeNull();
    expect((await gw.running.store.files.findById(id))?.backup).toMatchObject({ state: 'failed', leaseUntil: null, remotePath: null });
    expect(await gw.running.store.files.listDeletedWithCopies(new Date(), 100)).not.toContain(id);
  });

  it('leaves a copy it cannot remove yet for a later run, and frees the space once that run succeeds', async () => {
    const hank = await newUser(gw, 'hank@example.com');
    const data = randomBytes(50_000);
    const accountBefore = await accountUsed();
    const id = await putFile(gw, hank.token, 'stubborn.bin', data);
    await placeBackup(gw, id, data);
    const { remoteId } = (await gw.running.store.files.findById(id))!;
    expect((await api(gw.url, 'DELETE', `/api/v1/files/${id}`, { token: hank.token })).status).toBe(204);

    emu.injectFault({ on: 'delete', times: null, fault: { type: 'http-error', status: 503 } });
    await gw.running.app.deleteFileJob({ fileId: id });
    // The backup went; the Drive copy stays recorded, and the reconciler will find it.
    expect(backupBytes(dav, id)).toBeNull();
    expect(emu.file(remoteId!)).toBeDefined();
    expect(await gw.running.store.files.findById(id)).toMatchObject({ remoteId, backup: { remotePath: null } });
    expect(await gw.running.store.files.listDeletedWithCopies(new Date(), 100)).toContain(id);
    expect(await accountUsed()).toBe(accountBefore + data.length);

    emu.clearFaults();
    await gw.running.app.deleteFileJob({ fileId: id });
    expect(emu.file(remoteId!)).toBeUndefined();
    expect(await accountUsed()).toBe(accountBefore);
    expect(await gw.running.store.files.listDeletedWithCopies(new Date(), 100)).not.toContain(id);
  });

  it('refuses to delete an upload in flight (cancel it instead) and deletes ended ones without releasing twice', async () => {
    const ivy = await newUser(gw, 'ivy@example.com');
    const init = await initiate(gw, ivy.token, 'half.bin', 1000);
    expect(await me(ivy.token)).toBe(1000);
    const refused = await api<{ error: { code: string } }>(gw.url, 'DELETE', `/api/v1/files/${init.body.fileId}`, { token: ivy.token });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('upload_in_progress');

    expect((await api(gw.url, 'DELETE', `/api/v1/upload/${init.body.fileId}`, { token: ivy.token })).status).toBe(200);
    expect(await me(ivy.token)).toBe(0);
    expect((await api(gw.url, 'DELETE', `/api/v1/files/${init.body.fileId}`, { token: ivy.token })).status).toBe(204);
    expect(await me(ivy.token)).toBe(0);
    expect((await list(ivy.token)).body.total).toBe(0);
  });

  it('lets an admin delete anyone’s file; many deletes at once release the storage once', async () => {
    const jack = await newUser(gw, 'jack@example.com');
    const id = await putFile(gw, jack.token, 'x.bin', randomBytes(777));
    expect(await me(jack.token)).toBe(777);
    const results = await Promise.all([jack.token, jack.token, admin, admin].map((token) => api(gw.url, 'DELETE', `/api/v1/files/${id}`, { token })));
    expect(results.map((r) => r.status).sort()).toEqual([204, 404, 404, 404]);
    expect(await me(jack.token)).toBe(0);
  });

  it('still deletes when the queue cannot be reached (the reconciler catches up)', async () => {
    const kim = await newUser(gw, 'kim@example.com');
    const id = await putFile(gw, kim.token, 'q.bin', randomBytes(10));
    vi.spyOn(gw.running.app.queue, 'enqueue').mockRejectedValueOnce(new Error('Redis is unreachable'));
    expect((await api(gw.url, 'DELETE', `/api/v1/files/${id}`, { token: kim.token })).status).toBe(204);
    expect(await gw.running.store.files.listDeletedWithCopies(new Date(), 100)).toContain(id);
    expect(gw.logs.some((l) => l.includes('could not enqueue the removal of a deleted file') && l.includes(id))).toBe(true);
  });
});
