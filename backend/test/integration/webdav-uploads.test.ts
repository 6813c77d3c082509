import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { adminToken, api, initiate, newUser, startTestGateway, type TestGateway } from '../support/gateway';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';
import { fromBuffer, uploadWithResume } from '../support/ws-upload-client';

/**
 * A WebDAV server (lighttpd) as a pool member behind the real gateway: chunks
 * spool under DATA_DIR and go out in one PUT when the upload completes.
 */
const CHUNK = 4 * 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dav: WebDavServer;
let gw: TestGateway;
let admin: string;

beforeEach(async () => {
  dav = await startWebDavServer();
  gw = await startTestGateway();
  admin = await adminToken(gw);
});
afterEach(async () => {
  await gw.close();
  await dav.close();
});

async function addDav(password = dav.password) {
  return api<{ id: string; details: Record<string, string>; error?: { code: string } }>(gw.url, 'POST', '/api/v1/admin/accounts', {
    token: admin,
    body: { provider: 'webdav', name: 'storage box', url: dav.url, username: dav.username, password, root: '/pool' },
  });
}

it('refuses wrong credentials, then takes uploads that survive a gateway restart, stored byte-identical', async () => {
  const refused = await addDav('wrong password');
  expect(refused.status).toBe(400);
  expect(refused.body.error?.code).toBe('invalid_credentials');

  const added = await addDav();
  expect(added.status).toBe(201);
  expect(added.body.details).toEqual({ url: dav.url, username: dav.username, root: '/pool' });
  expect(JSON.stringify(added.body)).not.toContain(dav.password);

  const { token } = await newUser(gw, 'dav@example.com');
  const data = randomBytes(3 * CHUNK + 17);
  const init = (await initiate(gw, token, 'dav.bin', data.length)).body;
  const options = {
    wsBase: gw.wsBase,
    fileId: init.fileId,
    token: init.uploadToken,
    size: data.length,
    chunkSize: CHUNK,
    readChunk: fromBuffer(data),
    dropPlan: [CHUNK],
    beforeReconnect: async () => {
      await gw.restart();
      options.wsBase = gw.wsBase;
    },
  };
  const { final, attempts } = await uploadWithResume(options);
  expect(final.outcome).toBe('complete');
  expect(attempts[1]?.readyOffset).toBeGreaterThanOrEqual(CHUNK);
  expect(final.outcome === 'complete' && final.file.sha256).toBe(sha(data));

  const file = (await gw.running.store.files.findById(init.fileId))!;
  const stored = fs.readFileSync(path.join(dav.dir, 'pool', file.remoteId!));
  expect(stored.equals(data)).toBe(true);
  // One PUT for the whole file, with its length, after the spool had every chunk but the last.
  const puts = dav.requests().filter((r) => r.method === 'PUT' && r.path.includes(file.remoteId!));
  expect(puts).toHaveLength(1);
  expect(puts[0]?.headers['content-length']).toBe(String(data.length));
  expect(fs.readdirSync(path.join(gw.dataDir, 'spool', file.accountId!))).toEqual([]);
});

it('keeps the upload resumable while the WebDAV server is down for the final PUT', async () => {
  expect((await addDav()).status).toBe(201);
  const { token } = await newUser(gw, 'outage@example.com');
  const data = randomBytes(2 * CHUNK + 5);
  const init = (await initiate(gw, token, 'o.bin', data.length)).body;
  const options = {
    wsBase: gw.wsBase,
    fileId: init.fileId,
    token: init.uploadToken,
    size: data.length,
    chunkSize: CHUNK,
    readChunk: fromBuffer(data),
    maxAttempts: 4,
    // The client drops after two chunks; the server goes down before it reconnects and is back for the third try.
    dropPlan: [2 * CHUNK],
    beforeReconnect: async (attempt: number) => {
      if (attempt === 0) await dav.stop();
      else if (!dav.running) await dav.start();
    },
  };
  const { final, attempts } = await uploadWithResume(options);
  // The spool had both chunks: the client resumed there although the server was down…
  expect(attempts[1]?.readyOffset).toBe(2 * CHUNK);
  // …and only the final PUT failed, retryably.
  expect(attempts[1]).toMatchObject({ outcome: 'error', code: 'upstream_unavailable', retryable: true });
  expect(attempts[2]?.readyOffset).toBe(2 * CHUNK);
  expect(final.outcome === 'complete' && final.file.sha256).toBe(sha(data));
});
