import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/core/logger';
import { startWorker } from '../../src/worker';
import { addLocalMember, backupEnv, backupOnDisk, uploadBytes, waitForBackup } from '../support/backup';
import { adminToken, newUser, startTestGateway, type TestGateway } from '../support/gateway';
import { type RedisPrefix, redisPrefix } from '../support/redis';
import { startSlowProxy } from '../support/slow-proxy';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';

/**
 * `npm run worker` as its own process (src/worker.ts run by Node through tsx,
 * the same code `npm run build` compiles to dist/worker.js) beside an API
 * gateway with RUN_WORKERS=false: they share the SQLite DATA_DIR and the
 * Redis queue, as an API replica and a worker do in production.
 */
const MiB = 1024 * 1024;
const WORKER_ENTRY = path.resolve(__dirname, '..', '..', 'src', 'worker.ts');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY], {
    cwd: path.resolve(__dirname, '..', '..'),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => text, exited };
}

async function running(worker: WorkerProcess): Promise<void> {
  await vi.waitFor(
    () => {
      if (worker.child.exitCode !== null) throw new Error(`the worker exited early:\n${worker.output()}`);
      expect(worker.output()).toContain('DirectDriveX worker running');
    },
    { timeout: 20_000, interval: 50 },
  );
}

let dav: WebDavServer;
let redis: RedisPrefix;
let gw: TestGateway;
let admin: string;
const children: ChildProcess[] = [];

/** What the API gateway and the worker share: store, queue, backup target. */
function sharedEnv(extra: Record<string, string> = {}, url?: string): Record<string, string> {
  return {
    ...backupEnv(dav, extra, url),
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    DATA_DIR: gw.dataDir,
    LOCAL_STORAGE_DIR: '',
    HEALTH_CHECK_INTERVAL_SECONDS: '0',
  };
}

beforeEach(async () => {
  dav = await startWebDavServer();
  redis = await redisPrefix();
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await gw?.close();
  await redis.cleanup();
  await dav.close();
});

async function startApi(extra: Record<string, string> = {}, url?: string) {
  gw = await startTestGateway({
    env: { ...backupEnv(dav, extra, url), REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, RUN_WORKERS: 'false' },
  });
  admin = await adminToken(gw);
  await addLocalMember(gw, admin);
}

describe('npm run worker', () => {
  it('refuses to start without REDIS_URL, saying why', async () => {
    const dataDir = path.join(dav.dir, '..', 'no-redis');
    const worker = spawnWorker({ DATA_DIR: dataDir });
    children.push(worker.child);
    const { code } = await worker.exited;
    expect(code).toBe(1);
    expect(worker.output()).toContain('npm run worker needs REDIS_URL');
    // It left nothing behind (no generated secrets, no database).
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('backs up what the API process uploads, and stops cleanly on SIGTERM', async () => {
    await startApi();
    const worker = spawnWorker(sharedEnv());
    children.push(worker.child);
    await running(worker);
    const { token } = await newUser(gw, 'proc@example.com');
    const data = randomBytes(2 * MiB + 5);
    const fileId = await uploadBytes(gw, token, data);

    await waitForBackup(gw.running.store, fileId, 'done');
    expect(sha(backupOnDisk(dav, fileId)!)).toBe(sha(data));
    // The worker did it, not the API process (RUN_WORKERS=false).
    expect(worker.output()).toContain('"backup done"');
    expect(gw.logs.some((l) => l.includes('"backup done"'))).toBe(false);

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.output()).toContain('worker stopped');
  });

  it('a worker killed mid-backup: the lapsed lease is taken over by another worker and the backup redone', async () => {
    const proxy = await startSlowProxy({ host: '127.0.0.1', port: dav.port }, { bytesPerSecond: MiB });
    try {
      await startApi({}, proxy.url);
      const victim = spawnWorker(sharedEnv({ BACKUP_LEASE_SECONDS: '1' }, proxy.url));
      children.push(victim.child);
      await running(victim);
      const { token } = await newUser(gw, 'killed@example.com');
      const data = randomBytes(4 * MiB);
      const fileId = await uploadBytes(gw, token, data);
      await vi.waitFor(() => expect(proxy.uploaded).toBeGreaterThan(MiB), { timeout: 15_000, interval: 10 });

      victim.child.kill('SIGKILL');
      await victim.exited;
      const orphaned = (await gw.running.store.files.findById(fileId))!.backup;
      // What a crash leaves: running, under a lease nobody renews.
      expect(orphaned).toMatchObject({ state: 'running', attempts: 1 });
      expect(backupOnDisk(dav, fileId)).toBeNull();

      proxy.setRate(null);
      const rescuer = await startWorker(sharedEnv({ BACKUP_LEASE_SECONDS: '1' }, proxy.url), { logger: createLogger('silent'), workerGraceMs: 1_000 });
      try {
        const done = await waitForBackup(gw.running.store, fileId, 'done');
        expect(done.attempts).toBe(2);
        expect(sha(backupOnDisk(dav, fileId)!)).toBe(sha(data));
      } finally {
        await rescuer.stop();
      }
    } finally {
      await proxy.close();
    }
  });
});
