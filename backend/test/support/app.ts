import path from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import type { ThrottlePolicy } from '../../src/auth/throttle';
import { loadConfig, type ResolvedConfig } from '../../src/config/env';
import { resolveSecrets } from '../../src/config/secrets';
import type { Clock } from '../../src/core/clock';
import { createLogger } from '../../src/core/logger';
import { createApp, type App } from '../../src/http/app';
import { openSqliteStore } from '../../src/store/sqlite';
import type { MetadataStore } from '../../src/store/types';
import { tempDir } from './temp';

export interface TestApp {
  app: App;
  http: ReturnType<typeof request>;
  store: MetadataStore;
  config: ResolvedConfig;
  /** Every log line the app wrote, as raw JSON text. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * The real app (production logger included) on a fresh SQLite file in a temp
 * dir, with log output captured in memory. `env` overrides the defaults the
 * way real environment variables would.
 */
export function buildTestApp(options: { env?: Record<string, string>; clock?: Clock; throttlePolicy?: ThrottlePolicy } = {}): TestApp {
  const { dir, cleanup } = tempDir();
  const config = resolveSecrets(
    loadConfig({ DATA_DIR: dir, FRONTEND_DIST_DIR: path.join(dir, 'no-frontend'), ...options.env }),
  );
  const store = openSqliteStore(path.join(dir, 'metadata.db'));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const app = createApp({
    config,
    store,
    logger: createLogger('debug', sink),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.throttlePolicy ? { throttlePolicy: options.throttlePolicy } : {}),
  });
  return {
    app,
    http: request(app.express),
    store,
    config,
    logs,
    async close() {
      await store.close();
      cleanup();
    },
  };
}

export const STRONG_PASSWORD = 'correct horse battery';

/** Registers and logs in a user through the API; returns its tokens. */
export async function registerAndLogin(t: TestApp, email: string, password = STRONG_PASSWORD) {
  const reg = await t.http.post('/api/v1/auth/register').send({ email, password });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await t.http.post('/api/v1/auth/token').send({ email, password });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { userId: (reg.body as { user: { id: string } }).user.id, ...(login.body as { access_token: string; refresh_token: string }) };
}
