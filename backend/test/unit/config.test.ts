import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env';
import { resolveSecrets } from '../../src/config/secrets';
import { tempDir } from '../support/temp';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives the embedded defaults with an empty environment', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 8080,
      dataDir: '/srv/app/data',
      publicUrl: 'http://localhost:8080',
      defaultUserQuotaBytes: 10 * 1024 ** 3,
      mongodbUri: undefined,
      admin: undefined,
      google: undefined,
      trustProxy: false,
    });
    expect(config.googleEndpoints.apiRootUrl).toBe('https://www.googleapis.com/');
    expect(config.googleEndpoints.tokenUrl).toBe('https://oauth2.googleapis.com/token');
  });

  it('places the local pool member in DATA_DIR/storage unless LOCAL_STORAGE_DIR says otherwise; empty turns it off', () => {
    expect(loadConfig({}, '/srv/app').localStorageDir).toBe('/srv/app/data/storage');
    expect(loadConfig({ DATA_DIR: '/var/ddx' }, '/srv/app').localStorageDir).toBe('/var/ddx/storage');
    expect(loadConfig({ LOCAL_STORAGE_DIR: 'disk' }, '/srv/app').localStorageDir).toBe('/srv/app/disk');
    expect(loadConfig({ LOCAL_STORAGE_DIR: '' }, '/srv/app').localStorageDir).toBeNull();
  });

  it('reads upload expiry, the Google daily cap and the health-check interval', () => {
    expect(loadConfig({})).toMatchObject({ uploadExpiryMs: 86_400_000, googleDailyCapBytes: 750e9, healthCheckIntervalMs: 300_000 });
    expect(loadConfig({ UPLOAD_EXPIRY_SECONDS: '120', GOOGLE_DAILY_CAP_BYTES: '5', HEALTH_CHECK_INTERVAL_SECONDS: '0' })).toMatchObject({
      uploadExpiryMs: 120_000,
      googleDailyCapBytes: 5,
      healthCheckIntervalMs: 0,
    });
    expect(problems({ UPLOAD_EXPIRY_SECONDS: '5' })[0]).toMatch(/^UPLOAD_EXPIRY_SECONDS/);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', MONGODB_URI: '' }).port).toBe(8080);
  });

  it('names every bad variable at once, without echoing secrets', () => {
    const found = problems({ PORT: 'eighty', DEFAULT_USER_QUOTA_BYTES: '-1', JWT_SECRET: 'short-secret', PUBLIC_URL: 'nope', MONGODB_URI: 'postgres://x' });
    const joined = found.join('\n');
    for (const name of ['PORT', 'DEFAULT_USER_QUOTA_BYTES', 'JWT_SECRET', 'PUBLIC_URL', 'MONGODB_URI']) expect(joined).toContain(name);
    expect(joined).toContain('"eighty"');
    expect(joined).not.toContain('short-secret');
    expect(joined).not.toContain('postgres://x');
  });

  it('requires JWT_SECRET and MASTER_KEY in production', () => {
    const found = problems({ NODE_ENV: 'production' }).join('\n');
    expect(found).toMatch(/JWT_SECRET: is required when NODE_ENV=production/);
    expect(found).toMatch(/MASTER_KEY: is required when NODE_ENV=production/);
    expect(problems({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), MASTER_KEY: 'ab'.repeat(32) })).toEqual([]);
  });

  it('requires both halves of paired settings', () => {
    expect(problems({ ADMIN_EMAIL: 'root@example.com' }).join()).toContain('ADMIN_PASSWORD: is required when ADMIN_EMAIL is set');
    expect(problems({ GOOGLE_CLIENT_SECRET: 's' }).join()).toContain('GOOGLE_CLIENT_ID');
  });

  it('refuses RUN_WORKERS=false without Redis: nothing would ever work the in-process queue', () => {
    expect(problems({ RUN_WORKERS: 'false' }).join()).toContain('RUN_WORKERS: may be false only with REDIS_URL set');
    expect(problems({ RUN_WORKERS: 'false', REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual([]);
  });

  it('trusts only named proxies for client IPs, never any X-Forwarded-For', () => {
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toEqual(['loopback']);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toEqual(['loopback', '10.0.0.0/8']);
    expect(problems({ TRUST_PROXY: 'true' }).join()).toContain('TRUST_PROXY: must name the proxies to trust');
    expect(problems({ TRUST_PROXY: 'anything; rm' }).join()).toContain('TRUST_PROXY');
  });

  it('accepts MASTER_KEY as hex or base64 and refuses other lengths', () => {
    expect(loadConfig({ MASTER_KEY: 'ab'.repeat(32) }).masterKey?.length).toBe(32);
    expect(loadConfig({ MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }).masterKey?.length).toBe(32);
    expect(problems({ MASTER_KEY: 'abcd' }).join()).toContain('MASTER_KEY: must be 32 bytes');
  });
});

describe('resolveSecrets', () => {
  it('generates JWT_SECRET and MASTER_KEY into DATA_DIR with 0600 permissions, and reuses them', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const first = resolveSecrets(loadConfig({ DATA_DIR: dir }));
    for (const name of ['jwt_secret', 'master_key']) {
      expect(fs.statSync(path.join(dir, name)).mode & 0o777).toBe(0o600);
    }
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.masterKey.length).toBe(32);
    const second = resolveSecrets(loadConfig({ DATA_DIR: dir }));
    expect(second.jwtSecret).toBe(first.jwtSecret);
    expect(second.masterKey.equals(first.masterKey)).toBe(true);
  });

  it('uses given values and writes no files for them', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const config = resolveSecrets(loadConfig({ DATA_DIR: dir, JWT_SECRET: 'j'.repeat(40), MASTER_KEY: 'cd'.repeat(32) }));
    expect(config.jwtSecret).toBe('j'.repeat(40));
    expect(fs.existsSync(path.join(dir, 'jwt_secret'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'master_key'))).toBe(false);
  });
});

describe('.env.template', () => {
  it('documents every variable the schema reads', async () => {
    const { envSchema } = await import('../../src/config/env');
    const template = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', '.env.template'), 'utf8');
    const documented = new Set([...template.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const missing = Object.keys(envSchema.shape).filter((name) => !documented.has(name));
    expect(missing).toEqual([]);
  });
});
