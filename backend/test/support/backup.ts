import fs from 'node:fs';
import path from 'node:path';
import { expect, vi } from 'vitest';
import type { BackupInfo, BackupState, MetadataStore } from '../../src/store/types';
import { api, initiate, type TestGateway } from './gateway';
import type { WebDavServer } from './webdav-server';
import { fromBuffer, uploadWithResume } from './ws-upload-client';

/** The folder on the test WebDAV server that backups go to. */
export const BACKUP_ROOT = 'backup';

/**
 * Gateway settings for backups to `dav` (or to `url`, e.g. a slow proxy in
 * front of it) with retry waits and reconcile passes shrunk to milliseconds.
 */
export function backupEnv(dav: WebDavServer, extra: Record<string, string> = {}, url = dav.url): Record<string, string> {
  return {
    BACKUP_WEBDAV_URL: url,
    BACKUP_WEBDAV_USERNAME: dav.username,
    BACKUP_WEBDAV_PASSWORD: dav.password,
    BACKUP_WEBDAV_ROOT: `/${BACKUP_ROOT}`,
    BACKUP_RETRY_BASE_SECONDS: '0.05',
    BACKUP_RETRY_MAX_SECONDS: '0.2',
    BACKUP_MAX_ATTEMPTS: '50',
    RECONCILE_INTERVAL_SECONDS: '0.2',
    ...extra,
  };
}

/** Adds a local-disk pool member under the gateway's DATA_DIR through the admin API. */
export async function addLocalMember(gw: TestGateway, admin: string, name = 'disk'): Promise<string> {
  const res = await api<{ id: string }>(gw.url, 'POST', '/api/v1/admin/accounts', {
    token: admin,
    body: { provider: 'local', name, path: path.join(gw.dataDir, `member-${name}`) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

/** Uploads `data` over the WebSocket protocol; returns the file id once it is complete. */
export async function uploadBytes(gw: TestGateway, token: string, data: Buffer, name = 'file.bin'): Promise<string> {
  const init = await initiate(gw, token, name, data.length);
  expect(init.status, JSON.stringify(init.body)).toBe(201);
  const { final } = await uploadWithResume({
    wsBase: gw.wsBase,
    fileId: init.body.fileId,
    token: init.body.uploadToken,
    size: data.length,
    chunkSize: init.body.chunkSize,
    readChunk: fromBuffer(data),
  });
  expect(final.outcome).toBe('complete');
  return init.body.fileId;
}

/** Waits until the file's backup satisfies `check` (default: is in `state`); returns the backup info. */
export async function waitForBackup(
  store: MetadataStore,
  fileId: string,
  state: BackupState,
  options: { timeout?: number; check?: (backup: BackupInfo) => boolean } = {},
): Promise<BackupInfo> {
  let last: BackupInfo | undefined;
  await vi.waitFor(
    async () => {
      last = (await store.files.findById(fileId))?.backup;
      expect(last?.state, JSON.stringify(last)).toBe(state);
      if (options.check) expect(options.check(last!), JSON.stringify(last)).toBe(true);
    },
    { timeout: options.timeout ?? 15_000, interval: 25 },
  );
  return last!;
}

/** The backup's bytes as the WebDAV server stored them on its disk, or null when there is none. */
export function backupOnDisk(dav: WebDavServer, fileId: string): Buffer | null {
  const file = path.join(dav.dir, BACKUP_ROOT, 'objects', fileId);
  return fs.existsSync(file) ? fs.readFileSync(file) : null;
}
