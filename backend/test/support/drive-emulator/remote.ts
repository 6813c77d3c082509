import type { ActiveFault, FaultRule } from './faults';
import type { EmulatorStats, LoggedRequest } from './server';
import type { AccountCredentials, AccountInfo, AccountOptions, ConsentPreset, StoredFile, UploadSession } from './state';

/** The control API of an emulator in another process, with the names of the in-process API. */
export interface RemoteDriveEmulator {
  url: string;
  addAccount(options?: AccountOptions): Promise<AccountCredentials>;
  registerClient(clientId: string, clientSecret: string): Promise<void>;
  setQuota(accountId: string, change: { quotaLimit?: number | null; usage?: number }): Promise<AccountInfo>;
  queueConsent(preset: ConsentPreset): Promise<void>;
  revokeRefreshToken(refreshToken: string): Promise<boolean>;
  expireAccessTokens(accountId?: string): Promise<number>;
  expireSessions(filter?: { accountId?: string; sessionId?: string }): Promise<number>;
  injectFault(rule: FaultRule): Promise<string>;
  clearFaults(): Promise<void>;
  faults(): Promise<ActiveFault[]>;
  account(accountId: string): Promise<AccountInfo | undefined>;
  files(accountId: string): Promise<StoredFile[]>;
  sessions(accountId: string): Promise<UploadSession[]>;
  readFile(fileId: string): Promise<Buffer>;
  stats(): Promise<EmulatorStats>;
  log(): Promise<LoggedRequest[]>;
}

/** Talks to `/__emulator/` of the emulator at `url` (e.g. one started with `npm run drive-emulator`). */
export function connectDriveEmulator(url: string): RemoteDriveEmulator {
  const base = url.replace(/\/+$/, '');
  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const res = await fetch(`${base}/__emulator${path}`, init);
    if (!res.ok && res.status !== 404) throw new Error(`Emulator control ${method} ${path}: ${res.status} ${await res.text()}`);
    return res;
  }
  async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await call(method, path, body);
    if (res.status === 404) throw new Error(`Emulator control ${method} ${path}: 404 ${await res.text()}`);
    return (await res.json()) as T;
  }
  const id = encodeURIComponent;
  return {
    url: base,
    addAccount: (options = {}) => json('POST', '/accounts', options),
    registerClient: async (clientId, clientSecret) => void (await call('POST', '/clients', { clientId, clientSecret })),
    setQuota: (accountId, change) => json('PATCH', `/accounts/${id(accountId)}`, change),
    queueConsent: async (preset) => void (await call('POST', '/consent', preset)),
    revokeRefreshToken: async (refreshToken) => (await json<{ revoked: boolean }>('POST', '/refresh-tokens/revoke', { refreshToken })).revoked,
    expireAccessTokens: async (accountId) => (await json<{ expired: number }>('POST', '/access-tokens/expire', accountId === undefined ? {} : { accountId })).expired,
    expireSessions: async (filter = {}) => (await json<{ expired: number }>('POST', '/sessions/expire', filter)).expired,
    injectFault: async (rule) => (await json<{ id: string }>('POST', '/faults', rule)).id,
    clearFaults: async () => void (await call('DELETE', '/faults')),
    faults: () => json('GET', '/faults'),
    account: async (accountId) => {
      const res = await call('GET', `/accounts/${id(accountId)}`);
      return res.status === 404 ? undefined : ((await res.json()) as AccountInfo);
    },
    files: (accountId) => json('GET', `/accounts/${id(accountId)}/files`),
    sessions: (accountId) => json('GET', `/accounts/${id(accountId)}/sessions`),
    readFile: async (fileId) => {
      const res = await call('GET', `/files/${id(fileId)}/content`);
      if (res.status === 404) throw new Error(`No file ${fileId} in the emulator`);
      return Buffer.from(await res.arrayBuffer());
    },
    stats: () => json('GET', '/stats'),
    log: () => json('GET', '/log'),
  };
}
