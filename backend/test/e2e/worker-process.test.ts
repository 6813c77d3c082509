import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN, api, login } from '../support/gateway';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process';
import { type RedisPrefix, redisPrefix } from '../support/redis';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';
import { fromBuffer, uploadWithResume } from '../support/ws-upload-client';

/**
 * Production's process layout from the build: the gateway (`dist/main.js`)
 * with RUN_WORKERS=false and `npm run worker` (`dist/worker.js`) beside it,
 * sharing DATA_DIR (SQLite) and a Redis queue prefix, backing up to lighttpd.
 */
const WORKER_ENTRY = path.resolve(__dirname, '..', '..', 'dist', 'worker.js');

describe('npm run worker beside the gateway', () => {
  let dav: WebDavServer;
  let redis: RedisPrefix;
  let gw: GatewayProcess;
  let worker: ChildProcess;
  let workerOutput = '';
  let workerExit: Promise<number | null>;

  beforeAll(async () => {
    dav = await startWebDavServer();
    redis = await redisPrefix();
    const shared = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: redis.prefix,
      BACKUP_WEBDAV_URL: dav.url,
      BACKUP_WEBDAV_USERNAME: dav.username,
      BACKUP_WEBDAV_PASSWORD: dav.password,
    };
    gw = await startGatewayProcess({ ...shared, RUN_WORKERS: 'false', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    worker = spawn(process.execPath, [WORKER_ENTRY], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: gw.dataDir, ...shared },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout?.on('data', (c: Buffer) => (workerOutput += c.toString()));
    worker.stderr?.on('data', (c: Buffer) => (workerOutput += c.toString()));
    workerExit = new Promise((resolve) => worker.once('exit', (code) => resolve(code)));
    await vi.waitFor(() => expect(workerOutput).toContain('DirectDriveX worker running'), { timeout: 30_000, interval: 50 });
  });
  afterAll(async () => {
    if (worker?.exitCode === null) worker.kill('SIGKILL');
    await gw?.stop();
    gw?.cleanup();
    await redis?.cleanup();
    await dav?.close();
  });

  it('backs up an upload made through the gateway, and both stop cleanly', async () => {
    const admin = await login(gw.url, ADMIN.email, ADMIN.password);
    // The file lands on the embedded local member (DATA_DIR/storage), which the worker reads too.
    const data = randomBytes(3 * 1024 * 1024 + 11);
    const init = await api<{ fileId: string; uploadToken: string; chunkSize: number }>(gw.url, 'POST', '/api/v1/upload/initiate', {
      token: admin,
      body: { filename: 'prod.bin', size: data.length },
    });
    expect(init.status).toBe(201);
    const { final } = await uploadWithResume({
      wsBase: gw.url.replace(/^http/, 'ws'),
      fileId: init.body.fileId,
      token: init.body.uploadToken,
      size: data.length,
      chunkSize: init.body.chunkSize,
      readChunk: fromBuffer(data),
    });
    expect(final.outcome).toBe('complete');

    await vi.waitFor(
      async () => {
        const done = await api<{ items: Array<{ id: string }> }>(gw.url, 'GET', '/api/v1/admin/backups?status=done', { token: admin });
        expect(done.body.items.map((i) => i.id)).toEqual([init.body.fileId]);
      },
      { timeout: 20_000, interval: 100 },
    );
    const copy = fs.readFileSync(path.join(dav.dir, 'directdrivex-backup', 'objects', init.body.fileId));
    expect(createHash('sha256').update(copy).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    expect(workerOutput).toContain('"backup done"');
    expect(gw.output()).not.toContain('"backup done"');

    worker.kill('SIGTERM');
    expect(await workerExit).toBe(0);
    expect(workerOutput).toContain('worker stopped');
    expect(await gw.stop()).toBe(0);
  });
});
