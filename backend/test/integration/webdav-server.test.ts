import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';

/** The test WebDAV server behaves like the real thing our adapter will meet. */
describe('test WebDAV server (lighttpd + mod_webdav)', () => {
  let dav: WebDavServer;
  beforeAll(async () => {
    dav = await startWebDavServer({ username: 'alice', password: 's3cret' });
  });
  afterAll(async () => {
    await dav.close();
  });

  const auth = (user = dav.username, password = dav.password) => ({
    Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });
  const request = (method: string, p: string, init: { headers?: Record<string, string>; body?: Buffer } = {}) =>
    fetch(new URL(p, dav.url), { method, headers: { ...auth(), ...init.headers }, body: init.body && new Uint8Array(init.body) });

  it('requires HTTP Basic auth', async () => {
    const anonymous = await fetch(new URL('/', dav.url), { method: 'PROPFIND', headers: { Depth: '0' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    const wrong = await fetch(new URL('/', dav.url), { method: 'PROPFIND', headers: { Depth: '0', ...auth('alice', 'nope') } });
    expect(wrong.status).toBe(401);
    const right = await request('PROPFIND', '/', { headers: { Depth: '0' } });
    expect(right.status).toBe(207);
  });

  it('stores what is PUT, byte for byte, under dir; serves it and ranges of it', async () => {
    const data = randomBytes(300_000);
    expect((await request('MKCOL', '/box/')).status).toBe(201);
    expect((await request('MKCOL', '/box/')).status).toBe(405);
    expect((await request('PUT', '/box/blob', { body: data })).status).toBe(201);
    expect(fs.readFileSync(path.join(dav.dir, 'box', 'blob')).equals(data)).toBe(true);

    const got = await request('GET', '/box/blob');
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(data)).toBe(true);
    const part = await request('GET', '/box/blob', { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);

    const put = dav.requests().find((r) => r.method === 'PUT' && r.path === '/box/blob');
    expect(put?.headers['content-length']).toBe(String(data.length));
    expect(dav.requests().find((r) => r.method === 'GET' && r.headers.range === 'bytes=10-19')).toBeDefined();

    expect((await request('DELETE', '/box/blob')).status).toBe(204);
    expect((await request('DELETE', '/box/blob')).status).toBe(404);
  });

  it('refuses a PUT whose parent collection is missing (409) and a partial PUT (400)', async () => {
    expect((await request('PUT', '/missing/blob', { body: Buffer.from('x') })).status).toBe(409);
    expect(fs.existsSync(path.join(dav.dir, 'missing'))).toBe(false);
    const partial = await request('PUT', '/partial', { headers: { 'Content-Range': 'bytes 0-0/2' }, body: Buffer.from('x') });
    expect(partial.status).toBe(400);
  });

  it('goes down and comes back on the same URL with the same files', async () => {
    expect((await request('PUT', '/kept', { body: Buffer.from('still here') })).status).toBe(201);
    await dav.stop();
    expect(dav.running).toBe(false);
    await expect(request('GET', '/kept')).rejects.toThrow();
    await dav.start();
    expect(dav.running).toBe(true);
    const got = await request('GET', '/kept');
    expect(await got.text()).toBe('still here');
  });

  it('runs independent servers side by side', async () => {
    const other = await startWebDavServer();
    try {
      expect(other.port).not.toBe(dav.port);
      expect(other.dir).not.toBe(dav.dir);
      const put = await fetch(new URL('/only-here', other.url), {
        method: 'PUT',
        headers: { Authorization: `Basic ${Buffer.from(`${other.username}:${other.password}`).toString('base64')}` },
        body: 'x',
      });
      expect(put.status).toBe(201);
      expect(fs.existsSync(path.join(other.dir, 'only-here'))).toBe(true);
      expect(fs.existsSync(path.join(dav.dir, 'only-here'))).toBe(false);
    } finally {
      await other.close();
    }
    expect(fs.existsSync(other.dir)).toBe(false);
  });
});

describe('test WebDAV server prerequisites', () => {
  it('names the Debian package when mod_webdav is missing', async () => {
    // A module directory with everything of Debian's lighttpd but mod_webdav, as on a
    // machine where lighttpd-mod-webdav was never installed.
    const { dir, cleanup } = tempDir('ddx-lighttpd-');
    try {
      const modules = path.join(dir, 'modules');
      fs.mkdirSync(modules);
      const system = '/usr/lib/lighttpd';
      for (const name of fs.readdirSync(system)) {
        if (name !== 'mod_webdav.so') fs.symlinkSync(path.join(system, name), path.join(modules, name));
      }
      const wrapper = path.join(dir, 'lighttpd');
      const real = ['/usr/sbin/lighttpd', '/usr/local/sbin/lighttpd'].find((p) => fs.existsSync(p)) ?? 'lighttpd';
      fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${real} -m ${modules} "$@"\n`, { mode: 0o755 });
      await expect(startWebDavServer({ lighttpd: wrapper })).rejects.toThrow(/lighttpd-mod-webdav/);
    } finally {
      cleanup();
    }
  });

  it('says what is wrong with a lighttpd path that is not a program', async () => {
    await expect(startWebDavServer({ lighttpd: '/nonexistent/lighttpd' })).rejects.toThrow(/not an executable lighttpd/);
  });
});
