import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { backupRemoteId } from '../../src/backup/target';
import type { DriveEmulator } from './drive-emulator';
import { api, initiate, type TestGateway } from './gateway';
import type { WebDavServer } from './webdav-server';

/**
 * Helpers for the file, download, link and ZIP tests: put a file in place
 * with the plain-HTTP upload, give it a verified backup copy, fetch bytes.
 */

export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Where backups go on the test WebDAV server. */
export const DOWNLOAD_BACKUP_ROOT = 'ddx-backup';

/**
 * A backup target on `dav`. Start the gateway with `WORKERS_OFF` beside it:
 * these tests put backup copies in place themselves (`placeBackup`) and run
 * the delete job by hand, so nothing happens behind their back.
 */
export function backupTargetEnv(dav: WebDavServer): Record<string, string> {
  return {
    BACKUP_WEBDAV_URL: dav.url,
    BACKUP_WEBDAV_USERNAME: dav.username,
    BACKUP_WEBDAV_PASSWORD: dav.password,
    BACKUP_WEBDAV_ROOT: `/${DOWNLOAD_BACKUP_ROOT}`,
  };
}

/** Server option: no job workers in the gateway (jobs queue up in process until a test runs them). */
export const WORKERS_OFF = { runWorkers: false } as const;

/** The backup's bytes as the WebDAV server keeps them on disk, or null. */
export function backupBytes(dav: WebDavServer, fileId: string): Buffer | null {
  const file = path.join(dav.dir, DOWNLOAD_BACKUP_ROOT, backupRemoteId(fileId));
  return fs.existsSync(file) ? fs.readFileSync(file) : null;
}

/** Uploads `data` in one plain-HTTP PUT (the script-friendly upload); returns the complete file's id. */
export async function putFile(gw: TestGateway, token: string, name: string, data: Buffer, contentType?: string): Promise<string> {
  const init = await initiate(gw, token, name, data.length, contentType);
  expect(init.status, JSON.stringify(init.body)).toBe(201);
  const res = await fetch(`${gw.url}/api/v1/upload/${init.body.fileId}`, {
    method: 'PUT',
    headers: { 'X-Upload-Token': init.body.uploadToken, 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(data),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return init.body.fileId;
}

/**
 * Writes the file's backup copy through the gateway's own backup target and
 * records it as verified, as the backup worker would after its checks.
 */
export async function placeBackup(gw: TestGateway, fileId: string, data: Buffer): Promise<void> {
  const target = gw.running.app.backupTarget;
  if (!target) throw new Error('The gateway has no backup target');
  async function* content() {
    yield data;
  }
  await target.writeObject(backupRemoteId(fileId), content(), data.length);
  await gw.running.store.files.update(fileId, { backup: { state: 'done', remotePath: backupRemoteId(fileId), backedUpAt: new Date() } });
}

/** Connects a Drive emulator account to the pool; returns the pool account id and the emulator's credentials. */
export async function addDriveAccount(gw: TestGateway, admin: string, emu: DriveEmulator, name = 'drive') {
  const creds = emu.addAccount();
  const res = await api<{ id: string }>(gw.url, 'POST', '/api/v1/admin/accounts', {
    token: admin,
    body: { provider: 'gdrive', name, clientId: creds.clientId, clientSecret: creds.clientSecret, refreshToken: creds.refreshToken },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.id, creds };
}

/** Adds a local-disk pool member under the gateway's DATA_DIR. */
export async function addLocalAccount(gw: TestGateway, admin: string, name = 'disk'): Promise<string> {
  const res = await api<{ id: string }>(gw.url, 'POST', '/api/v1/admin/accounts', {
    token: admin,
    body: { provider: 'local', name, path: path.join(gw.dataDir, `pool-${name}`) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

/** Deletes a file in the emulated Drive through the Drive API, as someone using the account directly would. */
export async function deleteInDrive(emu: DriveEmulator, creds: { clientId: string; clientSecret: string; refreshToken: string }, remoteId: string): Promise<void> {
  const token = await fetch(`${emu.url}/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.refreshToken, client_id: creds.clientId, client_secret: creds.clientSecret }),
  });
  const { access_token: accessToken } = (await token.json()) as { access_token: string };
  const res = await fetch(`${emu.url}/drive/v3/files/${remoteId}`, { method: 'DELETE', headers: { Authorization: `Bearer ${accessToken}` } });
  expect(res.status).toBe(204);
}

export interface Fetched {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** Any request, the body as bytes. */
export async function fetchBytes(url: string, init: { method?: string; token?: string; headers?: Record<string, string>; json?: unknown } = {}): Promise<Fetched> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
      ...(init.json !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...init.headers,
    },
    ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** The parsed JSON error code of a reply. */
export const errorCode = (r: Fetched): string | undefined => (JSON.parse(r.body.toString('utf8') || 'null') as { error?: { code?: string } } | null)?.error?.code;
