import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupRemoteId, openBackupTarget } from '../../src/backup/target';
import { TransientError } from '../../src/providers/errors';
import { DEFAULT_RETRY } from '../../src/providers/retry';
import { tempDir } from '../support/temp';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';

/**
 * The backup target's two sides against a real lighttpd: backup jobs retry a
 * down server patiently (nobody waits for them), downloads give up at once
 * (somebody does), with production retry settings.
 */
let dav: WebDavServer;
const spool = tempDir('ddx-target-');

beforeAll(async () => {
  dav = await startWebDavServer();
});
afterAll(async () => {
  await dav?.close();
  spool.cleanup();
});

describe('backup target', () => {
  it('fails a download read at once when the server is down, while job reads keep retrying', async () => {
    const target = openBackupTarget(
      { url: dav.url, username: dav.username, password: dav.password, root: '/t' },
      { spoolDir: spool.dir, retry: DEFAULT_RETRY, jobConnections: 2, downloadConnections: 2 },
    );
    const id = backupRemoteId('00000000-0000-4000-8000-00000000000a');
    const data = randomBytes(1000);
    await target.writeObject(id, Readable.from([data]), data.length);
    const opened = await target.readForDownload(id);
    const parts: Buffer[] = [];
    for await (const part of opened.stream) parts.push(part as Buffer);
    expect(Buffer.concat(parts).equals(data)).toBe(true);

    await dav.stop();
    try {
      const started = Date.now();
      await expect(target.readForDownload(id)).rejects.toBeInstanceOf(TransientError);
      // One quick second try, not DEFAULT_RETRY's minute of backoff.
      expect(Date.now() - started).toBeLessThan(5_000);

      // The job side is still waiting out its backoff when the download side has long given up.
      let settled = false;
      const job = target.read(id).finally(() => (settled = true));
      job.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(settled).toBe(false);
      await dav.start();
      const back = await job;
      back.stream.destroy();
      expect(back.size).toBe(data.length);
    } finally {
      if (!dav.running) await dav.start();
    }
  });
});
