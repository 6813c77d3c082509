import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { WebDavProvider } from '../../src/providers/webdav';
import { tempDir } from '../support/temp';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';
import { describeProviderContract } from './provider.contract';

/** Milliseconds instead of seconds: the suite never meets a failing server, but must not hang if it did. */
const RETRY = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

let dav: WebDavServer;
beforeAll(async () => {
  dav = await startWebDavServer();
});
afterAll(async () => {
  await dav.close();
});

let run = 0;
describeProviderContract('webdav (lighttpd)', {
  async open() {
    const { dir, cleanup } = tempDir('ddx-webdav-spool-');
    // A root of its own per test: one server, no test sees another's objects.
    const options = {
      url: dav.url,
      username: dav.username,
      password: dav.password,
      root: `/members/m${++run}/directdrivex`,
      spoolDir: path.join(dir, 'spool'),
      retry: RETRY,
    };
    return { provider: new WebDavProvider(options), reopen: () => new WebDavProvider(options), dispose: async () => cleanup() };
  },
});
