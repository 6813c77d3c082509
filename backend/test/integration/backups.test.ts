import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JOB } from '../../src/backup/queue/types';
import { startWorker } from '../../src/worker';
import { backupEnv, backupOnDisk, addLocalMember, uploadBytes, waitForBackup } from '../support/backup';
import { type DriveEmulator, startDriveEmulator } from '../support/drive-emulator';
import { adminToken, api, newUser, startTestGateway, type TestGateway } from '../support/gateway';
import { redisPrefix } from '../support/redis';
import { type SlowProxy, startSlowProxy } from '../support/slow-proxy';
import { tempDir } from '../support/temp';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';

/**
 * Backups end to end (issue 4): the real gateway, a real WebDAV server
 * (lighttpd) as the backup target, pool members on local disk or in the Drive
 * emulator, and both queues — in-process, and Bull on the real Redis under a
 * prefix of its own.
 */
const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dav: WebDavServer;
const cleanups: Array<() => Promise<void> | void> = [];
/** Registers clean-up to run after the test, last registered first. */
const later = (fn: () => Promise<void> | void) => cleanups.push(fn);

beforeEach(async () => {
  dav = await startWebDavServer();
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  await dav.close();
});

async function gateway(env: Record<string, string>, options: Parameters<typeof startTestGateway>[0] = {}): Promise<{ gw: TestGateway; admin: string }> {
  const gw = await startTestGateway({ ...options, env });
  later(() => gw.close());
  return { gw, admin: await adminToken(gw) };
}

async function bull(): Promise<Record<string, string>> {
  const redis = await redisPrefix();
  later(() => redis.cleanup());
  return { REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix };
}

async function slowProxy(bytesPerSecond: number): Promise<SlowProxy> {
  const proxy = await startSlowProxy({ host: '127.0.0.1', port: dav.port }, { bytesPerSecond });
  later(() => proxy.close());
  return proxy;
}

describe('backup after upload', () => {
  it('copies a finished upload with the in-process queue: the server holds the original bytes, verified by reading back', async () => {
    const { gw, admin } = await gateway(backupEnv(dav));
    expect(gw.running.app.queue.kind).toBe('local');
    await addLocalMember(gw, admin);
    const { token } = await newUser(gw, 'backup@example.com');
    const data = randomBytes(5 * MiB + 123);
    const fileId = await uploadBytes(gw, token, data);
    const empty = await uploadBytes(gw, token, Buffer.alloc(0), 'empty.txt');

    const backup = await waitForBackup(gw.running.store, fileId, 'done');
    expect(backup).toMatchObject({ attempts: 1, lastError: null, nextAttemptAt: null, leaseUntil: null, remotePath: `objects/${fileId}` });
    expect(backup.backedUpAt).toBeInstanceOf(Date);
    expect(sha(backupOnDisk(dav, fileId)!)).toBe(sha(data));
    await waitForBackup(gw.running.store, empty, 'done');
    expect(backupOnDisk(dav, empty)).toEqual(Buffer.alloc(0));

    // One PUT with the exact length (never chunked), and a GET reading the copy back.
    const requests = dav.requests().filter((r) => r.path.endsWith(fileId));
    const puts = requests.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(1);
    expect(puts[0]?.headers['content-length']).toBe(String(data.length));
    expect(puts[0]?.headers['transfer-encoding']).toBeUndefined();
    expect(requests.some((r) => r.method === 'GET')).toBe(true);
    expect(gw.logs.some((l) => l.includes('"backup done"') && l.includes(fileId))).toBe(true);
  });

  it('copies a Google Drive primary through Bull on Redis', async () => {
    const emu: DriveEmulator = await startDriveEmulator();
    later(() => emu.close());
    const { gw, admin } = await gateway({ ...emu.env, ...backupEnv(dav), ...(await bull()) });
    expect(gw.running.app.queue.kind).toBe('bull');
    const creds = emu.addAccount({ quotaLimit: null });
    const added = await api(gw.url, 'POST', '/api/v1/admin/accounts', {
      token: admin,
      body: { provider: 'gdrive', name: 'drive', clientId: creds.clientId, clientSecret: creds.clientSecret, refreshToken: creds.refreshToken },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const { token } = await newUser(gw, 'drive@example.com');
    const data = randomBytes(9 * MiB + 7);
    const fileId = await uploadBytes(gw, token, data);

    await waitForBackup(gw.running.store, fileId, 'done');
    expect(sha(backupOnDisk(dav, fileId)!)).toBe(sha(data));
    expect(await gw.running.app.queue.pending(JOB.backupFile)).toBe(0);
    const ready = await api<{ checks: Record<string, string> }>(gw.url, 'GET', '/readyz');
    expect(ready.body.checks).toEqual({ store: 'ok', queue: 'ok' });
  });
});

describe('failures', () => {
  it('retries while the WebDAV server is down, recording each attempt, and is done once it is back', async () => {
    const { gw, admin } = await gateway(backupEnv(dav));
    await addLocalMember(gw, admin);
    const { token } = await newUser(gw, 'down@example.com');
    await dav.stop();
    const data = randomBytes(2 * MiB);
    const fileId = await uploadBytes(gw, token, data);

    const failing = await waitForBackup(gw.running.store, fileId, 'failed', { check: (b) => b.attempts >= 3 });
    expect(failing.lastError).toMatch(/backup server/i);
    expect(failing.nextAttemptAt).toBeInstanceOf(Date);
    // The owner sees that the backup is retried, never which server refused or why.
    const meta = await api<{ backup: { state: string; lastError: string } }>(gw.url, 'GET', `/api/v1/download/files/${fileId}/meta`, { token });
    expect(meta.body.backup.lastError).toBe('The backup copy could not be made yet; it is retried automatically');
    await dav.start();
    const done = await waitForBackup(gw.running.store, fileId, 'done');
    expect(done.attempts).toBeGreaterThanOrEqual(4);
    expect(done.lastError).toBeNull();
    expect(sha(backupOnDisk(dav, fileId)!)).toBe(sha(data));
    expect(gw.logs.filter((l) => l.includes('backup attempt failed; will retry')).length).toBeGreaterThanOrEqual(3);
  });

  it('fails fast, without retries, when the WebDAV server rejects the password', async () => {
    const { gw, admin } = await gateway(backupEnv(dav, { BACKUP_WEBDAV_PASSWORD: 'not the password' }));
    await addLocalMember(gw, admin);
    const { token } = await newUser(gw, 'denied@example.com');
    const fileId = await uploadBytes(gw, token, randomBytes(1000));

    const failed = await waitForBackup(gw.running.store, fileId, 'failed');
    expect(failed).toMatchObject({ attempts: 1, nextAttemptAt: null, leaseUntil: null, remotePath: null });
    expect(failed.lastError).toMatch(/rejected the username and password \(BACKUP_WEBDAV_USERNAME \/ BACKUP_WEBDAV_PASSWORD\).*HTTP 401/);
    // Several reconcile passes and retry periods later: still one attempt, nothing written.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await gw.running.store.files.findById(fileId))?.backup.attempts).toBe(1);
    expect(dav.requests().filter((r) => r.method === 'PUT')).toEqual([]);
    expect(gw.logs.some((l) => l.includes('backup failed; waiting for an admin to retry it'))).toBe(true);
  });

  it('refuses to back up a primary whose bytes no longer match the SHA-256, and stores nothing', async () => {
    const dir = tempDir('ddx-backup-');
    later(() => dir.cleanup());
    const first = await startTestGateway({ keepDataDir: dir.dir });
    const admin = await adminToken(first);
    const memberId = await addLocalMember(first, admin);
    const { token } = await newUser(first, 'rot@example.com');
    const data = randomBytes(3 * MiB);
    const fileId = await uploadBytes(first, token, data);
    const file = (await first.running.store.files.findById(fileId))!;
    await first.close();
    // Bit rot on the member: same length, one byte different.
    const stored = path.join(dir.dir, 'member-disk', 'objects', file.remoteId!);
    const rotten = Buffer.from(data);
    rotten[rotten.length - 1] = rotten.at(-1)! ^ 0xff;
    fs.writeFileSync(stored, rotten);
    expect(file.accountId).toBe(memberId);

    const { gw } = await gateway(backupEnv(dav), { keepDataDir: dir.dir });
    const failed = await waitForBackup(gw.running.store, fileId, 'failed');
    expect(failed).toMatchObject({ attempts: 1, nextAttemptAt: null });
    expect(failed.lastError).toMatch(/do not match the file's SHA-256/);
    expect(backupOnDisk(dav, fileId)).toBeNull();
  });
});

describe('recovery', () => {
  it('backs up files from before the target existed once it is configured', async () => {
    const dir = tempDir('ddx-backup-');
    later(() => dir.cleanup());
    const first = await startTestGateway({ keepDataDir: dir.dir });
    const admin = await adminToken(first);
    await addLocalMember(first, admin);
    const { token } = await newUser(first, 'early@example.com');
    const data = [randomBytes(100_000), randomBytes(MiB + 1)];
    const ids = [await uploadBytes(first, token, data[0]!), await uploadBytes(first, token, data[1]!)];
    for (const id of ids) expect((await first.running.store.files.findById(id))?.backup.state).toBe('disabled');
    await first.close();

    const { gw } = await gateway(backupEnv(dav), { keepDataDir: dir.dir });
    for (const [i, id] of ids.entries()) {
      await waitForBackup(gw.running.store, id, 'done');
      expect(sha(backupOnDisk(dav, id)!)).toBe(sha(data[i]!));
    }
    expect(await gw.running.store.files.countByBackupState()).toMatchObject({ disabled: 0, done: 2 });
  });

  it('recovers from a Redis that lost every job: the reconciler re-enqueues from the store', async () => {
    const redis = await redisPrefix();
    later(() => redis.cleanup());
    const env = { ...backupEnv(dav), REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, RUN_WORKERS: 'false' };
    const { gw, admin } = await gateway(env);
    await addLocalMember(gw, admin);
    const { token } = await newUser(gw, 'flush@example.com');
    const data = randomBytes(MiB + 3);
    const fileId = await uploadBytes(gw, token, data);
    // The API process queued the backup in Redis; no worker runs yet.
    await vi.waitFor(async () => expect(await gw.running.app.queue.pending(JOB.backupFile)).toBe(1), { timeout: 5_000, interval: 25 });
    expect(await redis.deleteKeys()).toBeGreaterThan(0);
    expect(await gw.running.app.queue.pending(JOB.backupFile)).toBe(0);

    const worker = await startWorker({
      ...env,
      DATA_DIR: gw.dataDir,
      LOCAL_STORAGE_DIR: '',
      HEALTH_CHECK_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'silent',
    });
    later(() => worker.stop());
    await waitForBackup(gw.running.store, fileId, 'done');
    expect(sha(backupOnDisk(dav, fileId)!)).toBe(sha(data));
  });

  it('keeps serving while Redis is unreachable, and backs up what completed meanwhile once it is back', async () => {
    const redis = await redisPrefix();
    later(() => redis.cleanup());
    const redisPort = Number(new URL(redis.url).port || 6379);
    // Redis reached through a relay the test can cut and restore on the same port.
    let relay = await startSlowProxy({ host: '127.0.0.1', port: redisPort });
    later(() => relay.close());
    const { gw, admin } = await gateway({ ...backupEnv(dav), REDIS_URL: `redis://127.0.0.1:${relay.port}`, QUEUE_PREFIX: redis.prefix });
    await addLocalMember(gw, admin);
    const { token } = await newUser(gw, 'redis-down@example.com');
    await relay.close();

    const data = randomBytes(300_000);
    const fileId = await uploadBytes(gw, token, data);
    const ready = await api<{ checks: Record<string, string> }>(gw.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({ store: 'ok', queue: 'fail' });
    expect((await gw.running.store.files.findById(fileId))?.backup.state).toBe('pending');
    await vi.waitFor(() => expect(gw.logs.some((l) => l.includes('could not queue the backup of a new upload'))).toBe(true), {
      timeout: 10_000,
      interval: 25,
    });

    relay = await startSlowProxy({ host: '127.0.0.1', port: redisPort }, { port: relay.port });
    await waitForBackup(gw.running.store, fileId, 'done');
    expect(sha(backupOnDisk(dav, fileId)!)).toBe(sha(data));
    expect((await api(gw.url, 'GET', '/readyz')).status).toBe(200);
  });

  it('finishes a backup whose Redis keys vanished while it ran, and keeps dispatching afterwards', async () => {
    const redis = await redisPrefix();
    later(() => redis.cleanup());
    const proxy = await slowProxy(4 * MiB);
    const { gw, admin } = await gateway({ ...backupEnv(dav, {}, proxy.url), REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix });
    await addLocalMember(gw, admin);
    const { token } = await newUser(gw, 'midway@example.com');
    const data = randomBytes(4 * MiB);
    const fileId = await uploadBytes(gw, token, data);
    await vi.waitFor(() => expect(proxy.uploaded).toBeGreaterThan(MiB), { timeout: 10_000, interval: 10 });
    expect((await gw.running.store.files.findById(fileId))?.backup.state).toBe('running');
    await redis.deleteKeys();

    await waitForBackup(gw.running.store, fileId, 'done');
    expect(sha(backupOnDisk(dav, fileId)!)).toBe(sha(data));
    proxy.setRate(null);
    const next = randomBytes(200_000);
    const nextId = await uploadBytes(gw, token, next, 'next.bin');
    await waitForBackup(gw.running.store, nextId, 'done');
    expect(sha(backupOnDisk(dav, nextId)!)).toBe(sha(next));
  });

  it('keeps its lease alive through a copy longer than the lease, so nobody takes it over', async () => {
    const proxy = await slowProxy(2 * MiB);
    // Renewed every third of 0.5 s: a busy test machine may stall the event loop for a while without losing it.
    const { gw, admin } = await gateway(backupEnv(dav, { BACKUP_LEASE_SECONDS: '0.5', RECONCILE_INTERVAL_SECONDS: '0.05' }, proxy.url));
    await addLocalMember(gw, admin);
    const { token } = await newUser(gw, 'lease@example.com');
    const data = randomBytes(4 * MiB);
    const fileId = await uploadBytes(gw, token, data);

    const leases = new Set<number>();
    await vi.waitFor(
      async () => {
        const backup = (await gw.running.store.files.findById(fileId))!.backup;
        if (backup.state === 'running' && backup.leaseUntil) leases.add(backup.leaseUntil.getTime());
        expect(backup.state).toBe('done');
      },
      { timeout: 15_000, interval: 20 },
    );
    // The copy took several lease lengths; the lease moved on, and the only attempt was ours.
    expect(leases.size).toBeGreaterThanOrEqual(3);
    const done = (await gw.running.store.files.findById(fileId))!.backup;
    expect(done.attempts).toBe(1);
    expect(dav.requests().filter((r) => r.method === 'PUT' && r.path.endsWith(fileId))).toHaveLength(1);
    expect(sha(backupOnDisk(dav, fileId)!)).toBe(sha(data));
  });

  it('hands a backup back when shut down past the grace period, and the next start redoes it', async () => {
    const proxy = await slowProxy(MiB);
    const { gw, admin } = await gateway(backupEnv(dav, {}, proxy.url), { server: { workerGraceMs: 100 } });
    await addLocalMember(gw, admin);
    const { token } = await newUser(gw, 'stop@example.com');
    const data = randomBytes(4 * MiB);
    const fileId = await uploadBytes(gw, token, data);
    await vi.waitFor(() => expect(proxy.uploaded).toBeGreaterThan(MiB / 2), { timeout: 10_000, interval: 10 });

    const stopping = Date.now();
    await gw.running.stop();
    // It did not wait for the copy (about 4 s at this rate).
    expect(Date.now() - stopping).toBeLessThan(2_000);
    expect(gw.logs.some((l) => l.includes('backup interrupted by shutdown; released for the next worker'))).toBe(true);
    expect(backupOnDisk(dav, fileId)).toBeNull();

    proxy.setRate(null);
    await gw.restart();
    const done = await waitForBackup(gw.running.store, fileId, 'done');
    // The interrupted attempt was given back, not counted.
    expect(done.attempts).toBe(1);
    expect(sha(backupOnDisk(dav, fileId)!)).toBe(sha(data));
  });

  it('removes the fresh copy when the file is deleted while it is being backed up', async () => {
    const proxy = await slowProxy(2 * MiB);
    const { gw, admin } = await gateway(backupEnv(dav, {}, proxy.url));
    await addLocalMember(gw, admin);
    const { token } = await newUser(gw, 'gone@example.com');
    const fileId = await uploadBytes(gw, token, randomBytes(3 * MiB));
    await vi.waitFor(() => expect(proxy.uploaded).toBeGreaterThan(MiB / 2), { timeout: 10_000, interval: 10 });
    await gw.running.store.files.update(fileId, { deletedAt: new Date() });

    await vi.waitFor(() => expect(gw.logs.some((l) => l.includes('file deleted during the copy; copy removed'))).toBe(true), { timeout: 15_000, interval: 25 });
    const file = (await gw.running.store.files.findById(fileId))!;
    expect(file.backup).toMatchObject({ state: 'failed', remotePath: null, nextAttemptAt: null });
    expect(backupOnDisk(dav, fileId)).toBeNull();
  });
});
