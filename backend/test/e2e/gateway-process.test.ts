import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, runGatewayExpectingFailure, startGatewayProcess } from '../support/gateway-process';

/** The built gateway as a real process: the embedded default, exactly what `npm start` runs. */
describe('gateway process (embedded default)', () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await startGatewayProcess();
  });
  afterAll(() => gw.cleanup());

  it('serves health, the API and the UI with no other server running', async () => {
    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);

    const index = await fetch(`${gw.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toContain('<app-root');
    // Client-side routes get the app too.
    expect((await fetch(`${gw.url}/login`)).status).toBe(200);

    const api404 = await fetch(`${gw.url}/api/v1/nope`);
    expect(api404.status).toBe(404);
    expect(((await api404.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
  });

  it('keeps its metadata in DATA_DIR and generates 0600 secrets there, readable only by its owner', () => {
    expect(fs.existsSync(path.join(gw.dataDir, 'metadata.db'))).toBe(true);
    for (const name of ['jwt_secret', 'master_key', 'metadata.db', 'metadata.db-wal']) {
      expect(fs.statSync(path.join(gw.dataDir, name)).mode & 0o777).toBe(0o600);
    }
  });

  it('shuts down gracefully on SIGTERM with exit code 0', async () => {
    expect(await gw.stop()).toBe(0);
    expect(gw.output()).toContain('gateway stopped');
  });
});

describe('gateway process with bad configuration', () => {
  it('refuses to start and names each bad variable', async () => {
    const { code, output } = await runGatewayExpectingFailure({ PORT: 'abc', ADMIN_EMAIL: 'not-an-email', ADMIN_PASSWORD: 'x'.repeat(12) });
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration');
    expect(output).toMatch(/PORT: .*"abc"/);
    expect(output).toContain('ADMIN_EMAIL');
    expect(output).not.toContain('x'.repeat(12));
  });

  it('requires JWT_SECRET and MASTER_KEY in production', async () => {
    const { code, output } = await runGatewayExpectingFailure({ NODE_ENV: 'production' });
    expect(code).toBe(1);
    expect(output).toContain('JWT_SECRET: is required when NODE_ENV=production');
    expect(output).toContain('MASTER_KEY: is required when NODE_ENV=production');
  });
});
