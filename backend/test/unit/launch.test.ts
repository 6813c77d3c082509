import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildNeeded, loadDotEnv } from '../../../scripts/launch.mjs';
import { tempDir } from '../support/temp';

/** What `npm start` decides before it starts the gateway (scripts/launch.mjs), on a made-up checkout. */
const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function checkout(): string {
  const t = tempDir('ddx-launch-');
  dirs.push(t);
  return t.dir;
}

function write(root: string, file: string, content: string, mtime: Date): void {
  const full = path.join(root, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, content);
  fs.utimesSync(full, mtime, mtime);
}

describe('npm start', () => {
  it('builds when a build is missing or older than any source file, and not otherwise', () => {
    const root = checkout();
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    write(root, 'backend/src/main.ts', '', t(1));
    write(root, 'frontend/src/app/app.ts', '', t(2));
    write(root, 'package-lock.json', '{}', t(3));
    expect(buildNeeded(root)).toBe('No build found');
    write(root, 'backend/dist/main.js', '', t(10));
    expect(buildNeeded(root)).toBe('No build found');
    write(root, 'frontend/dist/frontend/browser/index.html', '', t(11));
    expect(buildNeeded(root)).toBeNull();
    // A pull that changes one deep source file, or the lock file, makes the build stale.
    write(root, 'frontend/src/app/pages/deep/page.ts', '', t(20));
    expect(buildNeeded(root)).toBe('The sources changed since the last build');
    write(root, 'backend/dist/main.js', '', t(30));
    write(root, 'frontend/dist/frontend/browser/index.html', '', t(30));
    expect(buildNeeded(root)).toBeNull();
    write(root, 'package-lock.json', '{}', t(40));
    expect(buildNeeded(root)).not.toBeNull();
  });

  it('reads .env, letting variables already set win', () => {
    const root = checkout();
    const env: Record<string, string | undefined> = { PORT: '9000' };
    expect(loadDotEnv(root, env)).toBe(false);
    write(root, '.env', '# settings\nPORT=18097\nDATA_DIR=/srv/ddx\nADMIN_PASSWORD="a b # c"\n', new Date());
    expect(loadDotEnv(root, env)).toBe(true);
    expect(env).toEqual({ PORT: '9000', DATA_DIR: '/srv/ddx', ADMIN_PASSWORD: 'a b # c' });
  });
});
