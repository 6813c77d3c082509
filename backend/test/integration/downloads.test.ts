import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DriveEmulator, startDriveEmulator } from '../support/drive-emulator';
import {
  addDriveAccount,
  backupTargetEnv,
  WORKERS_OFF,
  deleteInDrive,
  errorCode,
  fetchBytes,
  placeBackup,
  putFile,
  sha,
} from '../support/files';
import { adminToken, api, newUser, startTestGateway, type TestGateway } from '../support/gateway';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';

/**
 * Downloads end to end (issue 4): the real gateway with the real googleapis
 * client against the Drive emulator as the primary, Debian's lighttpd as the
 * backup target, and faults injected on Drive's media requests. Every body
 * is compared byte for byte with what was uploaded.
 */
const MiB = 1024 * 1024;

let emu: DriveEmulator;
let dav: WebDavServer;
let gw: TestGateway;
let admin: string;
let drive: Awaited<ReturnType<typeof addDriveAccount>>;
let alice: { token: string; userId: string };
let bob: { token: string; userId: string };

beforeAll(async () => {
  [emu, dav] = await Promise.all([startDriveEmulator(), startWebDavServer()]);
  gw = await startTestGateway({ env: { ...emu.env, ...backupTargetEnv(dav) }, server: WORKERS_OFF });
  admin = await adminToken(gw);
  drive = await addDriveAccount(gw, admin, emu);
  alice = await newUser(gw, 'alice@example.com');
  bob = await newUser(gw, 'bob@example.com');
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([emu?.close(), dav?.close()]);
});
afterEach(async () => {
  emu.clearFaults();
  await gw.running.store.accounts.update(drive.id, { enabled: true });
  if (!dav.running) await dav.start();
});

const stream = (id: string) => `${gw.url}/api/v1/download/stream/${id}`;
const preview = (id: string) => `${gw.url}/api/v1/download/preview/stream/${id}`;
const get = (url: string, headers: Record<string, string> = {}, token = alice.token) => fetchBytes(url, { token, headers });
const mediaRequests = () => emu.stats().requests.media;

/** A file of alice's in Drive, optionally with a verified backup copy. */
async function aliceFile(data: Buffer, options: { name?: string; type?: string; backup?: boolean } = {}) {
  const id = await putFile(gw, alice.token, options.name ?? 'data.bin', data, options.type);
  if (options.backup) await placeBackup(gw, id, data);
  const record = (await gw.running.store.files.findById(id))!;
  return { id, remoteId: record.remoteId! };
}

describe('stream', () => {
  it('downloads byte-identical files (0 bytes, 1 byte, 5 MiB + 1) with length, type, ETag and attachment', async () => {
    for (const size of [0, 1, 5 * MiB + 1]) {
      const data = randomBytes(size);
      const { id } = await aliceFile(data, { type: 'application/x-custom' });
      const res = await get(stream(id));
      expect(res.status, `size ${size}`).toBe(200);
      expect(res.body.equals(data)).toBe(true);
      expect(res.headers.get('content-length')).toBe(String(size));
      expect(res.headers.get('content-type')).toBe('application/x-custom');
      expect(res.headers.get('etag')).toBe(`"${sha(data)}"`);
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="data.bin"; filename*=UTF-8''data.bin`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('answers Range requests: first byte, last byte, open, suffix, whole, past the end, and ignores what it cannot parse', async () => {
    const data = randomBytes(1000);
    const { id } = await aliceFile(data);
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0],
      ['bytes=999-999', 999, 999],
      ['bytes=-1', 999, 999],
      ['bytes=100-', 100, 999],
      ['bytes=-300', 700, 999],
      ['bytes=0-999', 0, 999],
      ['bytes=990-5000', 990, 999],
      ['bytes=-5000', 0, 999],
    ];
    for (const [header, start, end] of cases) {
      const res = await get(stream(id), { Range: header });
      expect(res.status, header).toBe(206);
      expect(res.headers.get('content-range'), header).toBe(`bytes ${start}-${end}/1000`);
      expect(res.headers.get('content-length'), header).toBe(String(end - start + 1));
      expect(res.body.equals(data.subarray(start, end + 1)), header).toBe(true);
    }
    for (const header of ['bytes=1000-', 'bytes=1000-1001', 'bytes=-0']) {
      const res = await get(stream(id), { Range: header });
      expect(res.status, header).toBe(416);
      expect(res.headers.get('content-range'), header).toBe('bytes */1000');
      expect(errorCode(res)).toBe('range_not_satisfiable');
    }
    // Unparseable, another unit, several ranges: the whole file (documented in downloads/range.ts).
    for (const header of ['bytes=abc', 'items=0-5', 'bytes=5-3', 'bytes=0-1,5-6']) {
      const res = await get(stream(id), { Range: header });
      expect(res.status, header).toBe(200);
      expect(res.body.equals(data)).toBe(true);
    }
    // If-Range with a different validator: the client's part is stale, so it gets the whole file.
    const stale = await get(stream(id), { Range: 'bytes=0-9', 'If-Range': '"something-else"' });
    expect(stale.status).toBe(200);
    const fresh = await get(stream(id), { Range: 'bytes=0-9', 'If-Range': `"${sha(data)}"` });
    expect(fresh.status).toBe(206);
    expect(fresh.body.equals(data.subarray(0, 10))).toBe(true);
    // An empty file has no satisfiable range.
    const empty = await aliceFile(Buffer.alloc(0));
    expect((await get(stream(empty.id), { Range: 'bytes=0-' })).status).toBe(416);
  });

  it('answers HEAD from the store without reading from Drive', async () => {
    const data = randomBytes(4096);
    const { id } = await aliceFile(data);
    const before = mediaRequests();
    const head = await fetchBytes(stream(id), { method: 'HEAD', token: alice.token });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('4096');
    expect(head.headers.get('etag')).toBe(`"${sha(data)}"`);
    expect(head.body.length).toBe(0);
    const partial = await fetchBytes(stream(id), { method: 'HEAD', token: alice.token, headers: { Range: 'bytes=-10' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe('bytes 4086-4095/4096');
    expect(mediaRequests()).toBe(before);
  });

  it('answers 304 to a matching If-None-Match without reading from Drive', async () => {
    const data = randomBytes(100);
    const { id } = await aliceFile(data);
    const before = mediaRequests();
    const res = await get(stream(id), { 'If-None-Match': `"other", "${sha(data)}"` });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(`"${sha(data)}"`);
    expect(res.body.length).toBe(0);
    expect(mediaRequests()).toBe(before);
    expect((await get(stream(id), { 'If-None-Match': '"other"' })).status).toBe(200);
  });

  it('names non-ASCII files with RFC 5987 filename* and a safe ASCII fallback', async () => {
    const { id } = await aliceFile(randomBytes(10), { name: 'Résumé "final" – 日本.pdf' });
    const res = await get(stream(id));
    const header = res.headers.get('content-disposition')!;
    expect(header).toBe(`attachment; filename="R_sum_ _final_ _ __.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%20%E2%80%93%20%E6%97%A5%E6%9C%AC.pdf`);
    expect(decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(header)![1]!)).toBe('Résumé "final" – 日本.pdf');
  });
});

describe('preview', () => {
  const hardened = (res: { headers: Headers }) => {
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe('sandbox');
  };

  it('refuses to render HTML and SVG inline: attachment, opaque type, nosniff and a sandbox CSP', async () => {
    for (const [name, type] of [
      ['page.html', 'text/html'],
      ['logo.svg', 'image/svg+xml'],
    ] as const) {
      const data = Buffer.from(type === 'text/html' ? '<script>alert(1)</script>' : '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>');
      const { id } = await aliceFile(data, { name, type });
      const res = await get(preview(id));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; /);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      hardened(res);
      expect(res.body.equals(data)).toBe(true);
    }
  });

  it('renders PNG, PDF and plain text inline, still with nosniff and a sandbox CSP, with Range for media players', async () => {
    for (const [name, type] of [
      ['pic.png', 'image/png'],
      ['doc.pdf', 'application/pdf'],
      ['notes.txt', 'text/plain'],
    ] as const) {
      const data = randomBytes(2000);
      const { id } = await aliceFile(data, { name, type });
      const res = await get(preview(id));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toMatch(/^inline; /);
      expect(res.headers.get('content-type')).toBe(type);
      hardened(res);
      expect(res.body.equals(data)).toBe(true);
      const part = await get(preview(id), { Range: 'bytes=100-199' });
      expect(part.status).toBe(206);
      expect(part.body.equals(data.subarray(100, 200))).toBe(true);
    }
  });

  it('hardens error answers too', async () => {
    const res = await fetchBytes(preview('00000000-0000-4000-8000-000000000000'), { token: alice.token });
    expect(res.status).toBe(404);
    hardened(res);
    hardened(await fetchBytes(preview('00000000-0000-4000-8000-000000000000')));
  });
});

describe('download tickets (for <a href> and <video src>)', () => {
  it('lets a plain GET with a fresh ticket through, for that file only, with Range', async () => {
    const data = randomBytes(3000);
    const { id } = await aliceFile(data, { name: 'clip.mp4', type: 'video/mp4' });
    const other = await aliceFile(randomBytes(10));
    const issued = await api<{ url: string; expiresAt: string }>(gw.url, 'POST', '/api/v1/download/tickets', { token: alice.token, body: { fileId: id, disposition: 'inline' } });
    expect(issued.status).toBe(200);
    expect(issued.body.url).toMatch(new RegExp(`^/api/v1/download/preview/stream/${id}\\?ticket=`));
    const ttl = Date.parse(issued.body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(4 * 60 * 1000);
    expect(ttl).toBeLessThanOrEqual(5 * 60 * 1000);

    const res = await fetchBytes(`${gw.url}${issued.body.url}`, { headers: { Range: 'bytes=1000-' } });
    expect(res.status).toBe(206);
    expect(res.body.equals(data.subarray(1000))).toBe(true);
    expect(res.headers.get('content-disposition')).toMatch(/^inline; /);

    const ticket = new URL(issued.body.url, gw.url).searchParams.get('ticket')!;
    const elsewhere = await fetchBytes(`${stream(other.id)}?ticket=${encodeURIComponent(ticket)}`);
    expect(elsewhere.status).toBe(401);
    expect(errorCode(elsewhere)).toBe('invalid_ticket');
    expect((await fetchBytes(`${stream(id)}?ticket=${encodeURIComponent(ticket.slice(0, -2))}xx`)).status).toBe(401);

    // Bob can neither get a ticket for alice's file nor pass one off as his.
    const theft = await api(gw.url, 'POST', '/api/v1/download/tickets', { token: bob.token, body: { fileId: id } });
    expect(theft.status).toBe(404);
    const forged = ticket.replace(/^[^.]+/, bob.userId);
    expect((await fetchBytes(`${stream(id)}?ticket=${encodeURIComponent(forged)}`)).status).toBe(401);
  });
});

describe('who may download', () => {
  it('another user gets 404 on every route; no login gets 401; an admin may read', async () => {
    const data = randomBytes(500);
    const { id } = await aliceFile(data);
    for (const url of [stream(id), preview(id), `${gw.url}/api/v1/download/files/${id}/meta`]) {
      const res = await get(url, {}, bob.token);
      expect(res.status, url).toBe(404);
      expect(errorCode(res)).toBe('file_not_found');
      expect((await fetchBytes(url)).status, url).toBe(401);
    }
    const head = await fetchBytes(stream(id), { method: 'HEAD', token: bob.token });
    expect(head.status).toBe(404);
    expect((await api(gw.url, 'POST', '/api/v1/download/zip', { token: bob.token, body: { fileIds: [id] } })).status).toBe(404);
    expect((await api(gw.url, 'POST', `/api/v1/files/${id}/links`, { token: bob.token, body: { expiresInSeconds: 600 } })).status).toBe(404);
    expect((await api(gw.url, 'DELETE', `/api/v1/files/${id}`, { token: bob.token })).status).toBe(404);
    expect((await get(stream('not-a-uuid'))).status).toBe(404);

    const asAdmin = await get(stream(id), {}, admin);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.equals(data)).toBe(true);
  });
});

describe('fallback to the backup', () => {
  it('serves from the backup, byte-identical, while the account is disabled, Drive answers 503, or the file is gone from Drive', async () => {
    const data = randomBytes(3 * MiB + 17);
    const disabled = await aliceFile(data, { backup: true });
    await gw.running.store.accounts.update(drive.id, { enabled: false });
    const a = await get(stream(disabled.id));
    expect(a.status).toBe(200);
    expect(sha(a.body)).toBe(sha(data));
    await gw.running.store.accounts.update(drive.id, { enabled: true });

    const unavailable = await aliceFile(data, { backup: true });
    emu.injectFault({ on: 'media', times: null, fault: { type: 'http-error', status: 503 } });
    const b = await get(stream(unavailable.id));
    expect(b.status).toBe(200);
    expect(sha(b.body)).toBe(sha(data));
    // A range comes from the backup too.
    const range = await get(stream(unavailable.id), { Range: 'bytes=1000000-1000999' });
    expect(range.status).toBe(206);
    expect(range.body.equals(data.subarray(1_000_000, 1_001_000))).toBe(true);
    emu.clearFaults();

    const gone = await aliceFile(data, { backup: true });
    await deleteInDrive(emu, drive.creds, gone.remoteId);
    const c = await get(stream(gone.id));
    expect(c.status).toBe(200);
    expect(sha(c.body)).toBe(sha(data));

    // A file detached from a removed account is still served from its backup.
    const detached = await aliceFile(data, { backup: true });
    await gw.running.store.files.update(detached.id, { accountId: null });
    expect(sha((await get(stream(detached.id))).body)).toBe(sha(data));

    expect(gw.logs.some((l) => l.includes('download fell back to another copy') && l.includes(gone.id) && l.includes('before_first_byte'))).toBe(true);
  });

  it('continues from the backup at the exact byte when Drive drops the connection mid-stream', async () => {
    const data = randomBytes(6 * MiB + 333);
    const { id } = await aliceFile(data, { backup: true });
    // Twice: the first download and the ranged one each lose their Drive connection part-way.
    emu.injectFault({ on: 'media', times: 2, fault: { type: 'drop-connection', afterBytes: 2 * MiB + 5 } });
    const res = await get(stream(id));
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(data.length);
    expect(sha(res.body)).toBe(sha(data));

    const ranged = await get(stream(id), { Range: 'bytes=1000-5000000' });
    expect(ranged.status).toBe(206);
    expect(ranged.body.equals(data.subarray(1000, 5_000_001))).toBe(true);
    expect(emu.stats().faultsApplied).toBeGreaterThanOrEqual(2);
    // The backup was asked for the rest, from where Drive stopped.
    const backupGets = dav.requests().filter((r) => r.method === 'GET' && r.path.endsWith(id));
    expect(backupGets.map((r) => r.headers.range)).toEqual([`bytes=${2 * MiB + 5}-${data.length - 1}`, `bytes=${1000 + 2 * MiB + 5}-5000000`]);
    expect(gw.logs.some((l) => l.includes('download fell back to another copy') && l.includes(id) && l.includes('mid_stream'))).toBe(true);
  });

  it('without a backup, a dropped Drive connection is resumed from Drive itself', async () => {
    const data = randomBytes(4 * MiB);
    const { id } = await aliceFile(data);
    emu.injectFault({ on: 'media', times: 1, fault: { type: 'drop-connection', afterBytes: MiB } });
    const res = await get(stream(id));
    expect(res.status).toBe(200);
    expect(sha(res.body)).toBe(sha(data));
  });

  it('fails clearly when no copy can be read: JSON before the first byte, a cut-off transfer after it', async () => {
    const data = randomBytes(3 * MiB);
    const noBackup = await aliceFile(data);
    emu.injectFault({ on: 'media', times: null, fault: { type: 'http-error', status: 503 } });
    const down = await get(stream(noBackup.id));
    expect(down.status).toBe(503);
    expect(errorCode(down)).toBe('file_unavailable');
    expect(down.headers.get('retry-after')).toBe('30');

    const withBackup = await aliceFile(data, { backup: true });
    await dav.stop();
    const both = await get(stream(withBackup.id));
    expect([502, 503]).toContain(both.status);
    expect(errorCode(both)).toBe('file_unavailable');
    emu.clearFaults();

    // Drive breaks off twice (first try and its resume) and the backup server is down: the client must notice.
    emu.injectFault({ on: 'media', times: 2, fault: { type: 'drop-connection', afterBytes: MiB } });
    const res = await fetch(stream(withBackup.id), { headers: { Authorization: `Bearer ${alice.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(data.length));
    await expect(res.arrayBuffer()).rejects.toThrow();
    expect(gw.logs.some((l) => l.includes('download failed mid-stream'))).toBe(true);
  });

  it('closes the Drive connection when the client goes away', async () => {
    const data = randomBytes(32 * MiB);
    const { id } = await aliceFile(data);
    const before = emu.log().filter((r) => r.kind === 'media').length;
    await new Promise<void>((resolve, reject) => {
      const req = http.get(stream(id), { headers: { Authorization: `Bearer ${alice.token}` } }, (res) => {
        res.once('data', () => {
          // Read one chunk, then hang up.
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
    await vi.waitFor(
      () => {
        const media = emu.log().filter((r) => r.kind === 'media').slice(before);
        expect(media).toHaveLength(1);
        expect(media[0]?.completed).toBe(false);
      },
      { timeout: 10_000, interval: 50 },
    );
  });

  it('refuses at once (503) when slow downloads hold every backup connection, never holding up the rest', async () => {
    const data = randomBytes(32 * MiB);
    const { id } = await aliceFile(data, { backup: true });
    await gw.running.store.accounts.update(drive.id, { enabled: false });
    // Four readers that take the headers and then stop reading: each holds a backup connection.
    const held: http.ClientRequest[] = [];
    for (let i = 0; i < 4; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(stream(id), { headers: { Authorization: `Bearer ${alice.token}` } }, (res) => {
          expect(res.statusCode).toBe(200);
          res.pause();
          resolve();
        });
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
        held.push(req);
      });
    }
    const busy = await get(stream(id));
    expect(busy.status).toBe(503);
    expect(errorCode(busy)).toBe('file_unavailable');
    expect(busy.headers.get('retry-after')).toBeTruthy();
    // Backups have connections of their own: the target still answers while downloads hold theirs.
    expect(await gw.running.app.backupTarget!.check()).toBe('healthy');

    for (const req of held) req.destroy();
    await vi.waitFor(
      async () => {
        const again = await get(stream(id), { Range: 'bytes=0-99' });
        expect(again.status).toBe(206);
        expect(again.body.equals(data.subarray(0, 100))).toBe(true);
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it('counts downloads, bytes per copy and fallbacks in /metrics (admins only)', async () => {
    const data = randomBytes(2 * MiB);
    const { id } = await aliceFile(data, { backup: true });
    emu.injectFault({ on: 'media', times: 1, fault: { type: 'http-error', status: 500 } });
    emu.injectFault({ on: 'media', times: 1, fault: { type: 'drop-connection', afterBytes: MiB } });
    // FAST_RETRY gets past the one 500; the drop then sends the rest through the backup.
    await gw.running.store.accounts.update(drive.id, { enabled: false });
    expect(sha((await get(stream(id))).body)).toBe(sha(data));
    await gw.running.store.accounts.update(drive.id, { enabled: true });
    expect(sha((await get(stream(id))).body)).toBe(sha(data));
    const res = await fetchBytes(`${gw.url}/metrics`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body.toString('utf8');
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? 'NaN');
    expect(value('ddx_download_fallbacks_total{phase="before_first_byte"}')).toBeGreaterThan(0);
    expect(value('ddx_download_fallbacks_total{phase="mid_stream"}')).toBeGreaterThan(0);
    expect(value('ddx_download_bytes_total{source="backup"}')).toBeGreaterThan(0);
    expect(value('ddx_download_bytes_total{source="primary"}')).toBeGreaterThan(0);
    expect(value('ddx_downloads_total{kind="stream"}')).toBeGreaterThan(0);
    expect((await fetchBytes(`${gw.url}/metrics`, { token: alice.token })).status).toBe(403);
    expect((await fetchBytes(`${gw.url}/metrics`)).status).toBe(401);
  });
});
