import { Writable } from 'node:stream';
import { createLogger } from '../../src/core/logger';
import { type RunningServer, type ServerOptions, startServer } from '../../src/main';
import { tempDir } from './temp';

export const ADMIN = { email: 'admin@example.com', password: 'admin password 1' };
export const USER_PASSWORD = 'user password 12';

/** Tiny waits between retries of pool members, so fault tests run in milliseconds. */
export const FAST_RETRY = { attempts: 4, baseDelayMs: 5, maxDelayMs: 40 };

export interface TestGateway {
  url: string;
  wsBase: string;
  dataDir: string;
  running: RunningServer;
  logs: string[];
  /** Stops the process's server (as a crash or deploy would) and starts a new one on the same DATA_DIR. */
  restart(): Promise<void>;
  /** A second gateway process sharing this one's store (another replica). */
  startPeer(): Promise<RunningServer>;
  close(): Promise<void>;
}

/**
 * The real gateway (`startServer`, as `npm start` runs it) listening on a random
 * loopback port with a fresh DATA_DIR, an admin account, and logs captured in
 * memory. By default no local pool member is created, so each test builds the
 * pool it needs.
 */
export async function startTestGateway(
  options: { env?: Record<string, string>; server?: ServerOptions; keepDataDir?: string } = {},
): Promise<TestGateway> {
  const temp = options.keepDataDir ? null : tempDir('ddx-gw-');
  const dataDir = options.keepDataDir ?? temp!.dir;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const env = {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOCAL_STORAGE_DIR: '',
    HEALTH_CHECK_INTERVAL_SECONDS: '0',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    FRONTEND_DIST_DIR: `${dataDir}/no-frontend`,
    ...options.env,
  };
  const start = () => startServer(env, { logger: createLogger('debug', sink), retryPolicy: FAST_RETRY, ...options.server });
  let running = await start();
  const peers: RunningServer[] = [];
  const gateway: TestGateway = {
    get url() {
      return running.url;
    },
    get wsBase() {
      return running.url.replace(/^http/, 'ws');
    },
    dataDir,
    get running() {
      return running;
    },
    logs,
    async restart() {
      await running.stop();
      running = await start();
    },
    async startPeer() {
      const peer = await start();
      peers.push(peer);
      return peer;
    },
    async close() {
      for (const p of peers) await p.stop();
      await running.stop();
      temp?.cleanup();
    },
  };
  return gateway;
}

/** JSON over fetch against a gateway, returning status, headers and parsed body. */
export async function api<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

export async function login(baseUrl: string, email: string, password: string): Promise<string> {
  const res = await api<{ access_token: string }>(baseUrl, 'POST', '/api/v1/auth/token', { body: { email, password } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token;
}

/** Registers a user (optionally with a quota set by the admin through the store) and logs in. */
export async function newUser(gw: TestGateway, email: string, quota?: number): Promise<{ token: string; userId: string }> {
  const reg = await api<{ user: { id: string } }>(gw.url, 'POST', '/api/v1/auth/register', { body: { email, password: USER_PASSWORD } });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  if (quota !== undefined) await gw.running.store.users.update(reg.body.user.id, { storageQuota: quota });
  return { token: await login(gw.url, email, USER_PASSWORD), userId: reg.body.user.id };
}

export const adminToken = (gw: TestGateway) => login(gw.url, ADMIN.email, ADMIN.password);

export interface Initiated {
  fileId: string;
  uploadUrl: string;
  uploadToken: string;
  chunkSize: number;
}

export async function initiate(gw: TestGateway, token: string, filename: string, size: number, contentType?: string) {
  return api<Initiated & { error?: { code: string; message: string } }>(gw.url, 'POST', '/api/v1/upload/initiate', {
    token,
    body: { filename, size, ...(contentType ? { contentType } : {}) },
  });
}
