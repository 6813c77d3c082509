import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DriveEmulator, startDriveEmulator } from '../support/drive-emulator';
import { addDriveAccount, backupTargetEnv, WORKERS_OFF, deleteInDrive, errorCode, fetchBytes, placeBackup, putFile, sha } from '../support/files';
import { adminToken, api, initiate, newUser, startTestGateway, type TestGateway } from '../support/gateway';
import { tempDir } from '../support/temp';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';

/**
 * ZIP downloads (issue 4): what the gateway streams is checked with Python's
 * zipfile module — an independent reader — entry by entry against the
 * uploaded bytes, including when a file's Drive copy breaks off mid-archive.
 */
const MiB = 1024 * 1024;

let emu: DriveEmulator;
let dav: WebDavServer;
let gw: TestGateway;
let drive: Awaited<ReturnType<typeof addDriveAccount>>;
let user: { token: string; userId: string };
const temp = tempDir('ddx-zip-');

beforeAll(async () => {
  [emu, dav] = await Promise.all([startDriveEmulator(), startWebDavServer()]);
  gw = await startTestGateway({ env: { ...emu.env, ...backupTargetEnv(dav) }, server: WORKERS_OFF });
  drive = await addDriveAccount(gw, await adminToken(gw), emu);
  user = await newUser(gw, 'zipper@example.com');
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([emu?.close(), dav?.close()]);
  temp.cleanup();
});
afterEach(() => emu.clearFaults());

interface Entry {
  name: string;
  size: number;
  sha256: string;
  method: number;
}

/** Every entry of a ZIP as Python's zipfile reads it (after its own CRC check of every entry). */
function readZip(zip: Buffer): Entry[] {
  const file = path.join(temp.dir, `${sha(zip)}.zip`);
  fs.writeFileSync(file, zip);
  const script = [
    'import hashlib, json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'bad = z.testzip()',
    'assert bad is None, "CRC error in " + bad',
    'print(json.dumps([{"name": i.filename, "size": i.file_size, "sha256": hashlib.sha256(z.read(i)).hexdigest(), "method": i.compress_type} for i in z.infolist()]))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as Entry[];
}

const zip = (fileIds: string[], token = user.token) => fetchBytes(`${gw.url}/api/v1/download/zip`, { method: 'POST', token, json: { fileIds } });

describe('POST /api/v1/download/zip', () => {
  it('streams a ZIP whose entries equal the originals, stored uncompressed, with clashing names suffixed', async () => {
    const files = [
      { name: 'report.pdf', data: randomBytes(3 * MiB + 7) },
      { name: 'empty.txt', data: Buffer.alloc(0) },
      { name: 'Report.pdf', data: randomBytes(1234) },
      { name: 'naïve 日本.txt', data: Buffer.from('hello') },
    ];
    const ids: string[] = [];
    for (const f of files) ids.push(await putFile(gw, user.token, f.name, f.data));
    // A repeated id is one entry.
    const res = await zip([...ids, ids[0]!]);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="directdrivex-\d{4}-\d{2}-\d{2}\.zip"/);
    const entries = readZip(res.body);
    expect(entries).toEqual([
      { name: 'report.pdf', size: files[0]!.data.length, sha256: sha(files[0]!.data), method: 0 },
      { name: 'empty.txt', size: 0, sha256: sha(Buffer.alloc(0)), method: 0 },
      { name: 'Report (2).pdf', size: 1234, sha256: sha(files[2]!.data), method: 0 },
      { name: 'naïve 日本.txt', size: 5, sha256: sha(files[3]!.data), method: 0 },
    ]);
  });

  it('reads each entry through the fallback: a Drive copy that breaks off mid-file continues from its backup', async () => {
    const empty = await putFile(gw, user.token, 'first-empty.bin', Buffer.alloc(0));
    const bigData = randomBytes(5 * MiB);
    const big = await putFile(gw, user.token, 'big.bin', bigData);
    await placeBackup(gw, big, bigData);
    const smallData = randomBytes(1000);
    const small = await putFile(gw, user.token, 'small.bin', smallData);
    // The empty entry reads nothing, so the first media request is big.bin's.
    emu.injectFault({ on: 'media', times: 1, fault: { type: 'drop-connection', afterBytes: 2 * MiB } });
    const res = await zip([empty, big, small]);
    expect(res.status).toBe(200);
    expect(readZip(res.body).map((e) => [e.name, e.sha256])).toEqual([
      ['first-empty.bin', sha(Buffer.alloc(0))],
      ['big.bin', sha(bigData)],
      ['small.bin', sha(smallData)],
    ]);
    expect(emu.stats().faultsApplied).toBe(1);
  });

  it('cuts the response off when a file cannot be read at all, rather than send a ZIP without it', async () => {
    const okData = randomBytes(2 * MiB);
    const ok = await putFile(gw, user.token, 'ok.bin', okData);
    const lost = await putFile(gw, user.token, 'lost.bin', randomBytes(1000));
    await deleteInDrive(emu, drive.creds, (await gw.running.store.files.findById(lost))!.remoteId!);
    const res = await fetch(`${gw.url}/api/v1/download/zip`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ fileIds: [ok, lost] }),
    });
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
    expect(gw.logs.some((l) => l.includes('ZIP download failed'))).toBe(true);
  });

  it('checks every id before sending anything: 404 for unknown or foreign files, 409 for unfinished ones, 400 for bad lists', async () => {
    const mine = await putFile(gw, user.token, 'mine.bin', randomBytes(10));
    const other = await newUser(gw, 'other-zipper@example.com');
    const theirs = await putFile(gw, other.token, 'theirs.bin', randomBytes(10));
    for (const ids of [[mine, theirs], [mine, '00000000-0000-4000-8000-000000000000'], [mine, 'nonsense']]) {
      const res = await zip(ids);
      expect(res.status).toBe(404);
      expect(errorCode(res)).toBe('file_not_found');
    }
    const unfinished = await initiate(gw, user.token, 'wip.bin', 10);
    const busy = await zip([mine, unfinished.body.fileId]);
    expect(busy.status).toBe(409);
    expect(errorCode(busy)).toBe('file_not_ready');
    for (const fileIds of [[], Array.from({ length: 1001 }, () => mine), 'x', [1]]) {
      const res = await api(gw.url, 'POST', '/api/v1/download/zip', { token: user.token, body: { fileIds } });
      expect(res.status).toBe(400);
    }
    expect((await api(gw.url, 'POST', '/api/v1/download/zip', { body: { fileIds: [mine] } })).status).toBe(401);
  });
});
