import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthRevokedError, TransientError } from '../../src/providers/errors';
import type { RetryPolicy } from '../../src/providers/retry';
import type { UploadHandle } from '../../src/providers/types';
import { WebDavProvider, type WebDavProviderOptions } from '../../src/providers/webdav';
import { tempDir } from '../support/temp';
import { startWebDavServer, type WebDavServer } from '../support/webdav-server';

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;
const FAST_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Where the server keeps an object on its disk. */
const onDisk = (dav: WebDavServer, root: string, remoteId: string) => path.join(dav.dir, ...root.split('/'), ...remoteId.split('/'));

/**
 * A TCP relay in front of the server that can fail a request mid-body: once
 * armed, the first connection to carry more than `afterBytes` request bytes
 * is frozen, and then either the real server is stopped and the connection
 * cut (the server really goes down while our PUT body is on the wire), or
 * nothing more happens (a stalled link).
 */
async function startRelay(dav: WebDavServer) {
  let trip: { afterBytes: number; action: 'stop-server' | 'stall'; fire: () => void } | null = null;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    const upstream = net.connect(dav.port, '127.0.0.1');
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    let sent = 0;
    client.on('data', (data: Buffer) => {
      sent += data.length;
      if (trip && sent > trip.afterBytes) {
        const armed = trip;
        trip = null;
        client.pause();
        if (armed.action === 'stall') {
          armed.fire();
          return;
        }
        void dav.stop().then(() => {
          client.destroy();
          upstream.destroy();
          armed.fire();
        });
        return;
      }
      if (!upstream.write(data)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (data: Buffer) => client.write(data));
    client.once('end', () => upstream.end());
    upstream.once('end', () => client.end());
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    /** Acts once a connection has carried `afterBytes` request bytes; resolves when it did. */
    failAfter(afterBytes: number, action: 'stop-server' | 'stall'): Promise<void> {
      let fire!: () => void;
      const tripped = new Promise<void>((resolve) => (fire = resolve));
      trip = { afterBytes, action, fire };
      return tripped;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('WebDAV provider against a real server (lighttpd)', () => {
  let dav: WebDavServer;
  const cleanups: Array<() => Promise<void> | void> = [];
  beforeAll(async () => {
    dav = await startWebDavServer();
  });
  afterAll(async () => {
    await dav.close();
  });
  afterEach(async () => {
    if (!dav.running) await dav.start();
    while (cleanups.length) await cleanups.pop()?.();
  });

  let run = 0;
  function member(over: Partial<WebDavProviderOptions> = {}) {
    const { dir, cleanup } = tempDir('ddx-webdav-spool-');
    cleanups.push(cleanup);
    const options: WebDavProviderOptions = {
      url: dav.url,
      username: dav.username,
      password: dav.password,
      root: `/it/m${++run}/directdrivex`,
      spoolDir: path.join(dir, 'spool'),
      retry: FAST_RETRY,
      ...over,
    };
    return { options, provider: new WebDavProvider(options), root: (options.root ?? '').replace(/^\//, '') };
  }

  async function start(provider: WebDavProvider, size: number): Promise<UploadHandle> {
    return provider.startUpload({ name: 'f.bin', size, mimeType: 'application/octet-stream' });
  }

  it('keeps committed where it was when the server dies during the final PUT, and a retry after recovery stores the exact bytes', async () => {
    const relay = await startRelay(dav);
    cleanups.push(() => relay.close());
    const { provider, root } = member({ url: relay.url });
    const data = randomBytes(3 * CHUNK + 1234);
    const handle = await start(provider, data.length);
    for (let offset = 0; offset < 3 * CHUNK; offset += CHUNK) {
      await provider.writeChunk(handle, offset, data.subarray(offset, offset + CHUNK));
    }

    // The server goes down with 5 MiB of the 12 MiB body on the wire; every retry then finds it down.
    const tripped = relay.failAfter(5 * MiB, 'stop-server');
    const failed = provider.writeChunk(handle, 3 * CHUNK, data.subarray(3 * CHUNK));
    await expect(failed).rejects.toBeInstanceOf(TransientError);
    await tripped;
    expect(dav.running).toBe(false);
    // While the server is down the spool still says where the upload stands.
    expect(await provider.queryUpload(handle)).toEqual({ state: 'in_progress', committed: 3 * CHUNK });

    await dav.start();
    expect(await provider.queryUpload(handle)).toEqual({ state: 'in_progress', committed: 3 * CHUNK });
    const done = await provider.writeChunk(handle, 3 * CHUNK, data.subarray(3 * CHUNK));
    expect(done).toEqual({ committed: data.length, remoteId: expect.any(String) });
    expect(sha256(fs.readFileSync(onDisk(dav, root, done.remoteId!)))).toBe(sha256(data));
    expect(sha256(await collect((await provider.read(done.remoteId!)).stream))).toBe(sha256(data));
  });

  it('gives up on a PUT that stops moving (idle timeout): transient, and the next try goes through', async () => {
    const relay = await startRelay(dav);
    cleanups.push(() => relay.close());
    const { provider, root } = member({ url: relay.url, timeoutMs: 300, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    const data = randomBytes(2 * CHUNK);
    const handle = await start(provider, data.length);
    await provider.writeChunk(handle, 0, data.subarray(0, CHUNK));
    const stalled = relay.failAfter(2 * MiB, 'stall');
    const failed = provider.writeChunk(handle, CHUNK, data.subarray(CHUNK));
    await expect(failed).rejects.toBeInstanceOf(TransientError);
    await expect(failed).rejects.toThrow(/timed out/);
    await stalled;
    expect(await provider.queryUpload(handle)).toEqual({ state: 'in_progress', committed: CHUNK });
    const done = await provider.writeChunk(handle, CHUNK, data.subarray(CHUNK));
    expect(fs.readFileSync(onDisk(dav, root, done.remoteId!)).equals(data)).toBe(true);
  });

  it('fails the final chunk with TransientError while the server is down, retrying within the policy, then completes', async () => {
    const { provider, root } = member();
    const data = randomBytes(CHUNK + 10);
    const handle = await start(provider, data.length);
    await provider.writeChunk(handle, 0, data.subarray(0, CHUNK));
    await dav.stop();
    const before = dav.requests().length;
    await expect(provider.writeChunk(handle, CHUNK, data.subarray(CHUNK))).rejects.toBeInstanceOf(TransientError);
    await dav.start();
    expect(dav.requests().length).toBe(before);
    const done = await provider.writeChunk(handle, CHUNK, data.subarray(CHUNK));
    expect(fs.readFileSync(onDisk(dav, root, done.remoteId!)).equals(data)).toBe(true);
  });

  it('rides out a short outage by itself when the policy allows enough retries', async () => {
    const { provider } = member({ retry: { attempts: 30, baseDelayMs: 20, maxDelayMs: 100 } });
    const data = randomBytes(1000);
    const handle = await start(provider, data.length);
    await dav.stop();
    const back = new Promise<void>((resolve, reject) => setTimeout(() => dav.start().then(resolve, reject), 150));
    const done = await provider.writeChunk(handle, 0, data);
    await back;
    expect(done.committed).toBe(data.length);
  });

  it('sends ONE PUT per object, with Content-Length and not chunked, and stores exactly the bytes sent', async () => {
    const { provider, root } = member();
    const data = randomBytes(2 * CHUNK + 99);
    const handle = await start(provider, data.length);
    const before = dav.requests().length;
    let result: { committed: number; remoteId?: string } = { committed: 0 };
    while (result.remoteId === undefined) {
      result = await provider.writeChunk(handle, result.committed, data.subarray(result.committed, result.committed + CHUNK));
    }
    const puts = dav.requests().slice(before).filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(1);
    expect(puts[0]?.path).toBe(`/${root}/${result.remoteId}`);
    expect(puts[0]?.headers['content-length']).toBe(String(data.length));
    expect(puts[0]?.headers['transfer-encoding']).toBeUndefined();
    expect(fs.readFileSync(onDisk(dav, root, result.remoteId)).equals(data)).toBe(true);
  });

  it('asks for ranges with a Range header (no full download), and frees the connection when a reader stops early', async () => {
    const { provider } = member({ maxConnections: 1, timeoutMs: 3_000 });
    const data = randomBytes(8 * MiB);
    const handle = await start(provider, data.length);
    const { remoteId } = await provider.writeChunk(handle, 0, data);

    const before = dav.requests().length;
    const part = await provider.read(remoteId!, { start: 5, end: 14 });
    expect((await collect(part.stream)).equals(data.subarray(5, 15))).toBe(true);
    expect(dav.requests().slice(before).find((r) => r.method === 'GET')?.headers.range).toBe('bytes=5-14');

    // With one connection allowed, a stream abandoned without being destroyed-through would
    // hold it forever and the next request would time out.
    const whole = await provider.read(remoteId!);
    await new Promise<void>((resolve) => whole.stream.once('readable', () => resolve()));
    whole.stream.destroy();
    const again = await provider.read(remoteId!, { start: data.length - 1, end: data.length - 1 });
    expect((await collect(again.stream)).equals(data.subarray(data.length - 1))).toBe(true);
  });

  it('serves ranges correctly from a server that ignores Range and answers 200', async () => {
    const plain = await startWebDavServer({ ranges: false });
    cleanups.push(() => plain.close());
    const { provider } = member({ url: plain.url, username: plain.username, password: plain.password });
    const data = randomBytes(CHUNK + 3);
    const handle = await start(provider, data.length);
    const { remoteId } = await provider.writeChunk(handle, 0, data);
    for (const [start, end] of [
      [0, 0],
      [70_000, 70_009],
      [100, CHUNK + 1],
      [data.length - 1, data.length - 1],
    ] as const) {
      const { stream, size } = await provider.read(remoteId!, { start, end });
      expect(size).toBe(data.length);
      expect((await collect(stream)).equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  it('refuses credentials inside the URL, so they never show up in error messages', () => {
    const url = new URL(dav.url);
    url.username = 'u';
    url.password = 'p';
    expect(() => member({ url: url.href })).toThrow(/own fields/);
  });

  it('says the credentials were rejected, without retrying, and reports down', async () => {
    const { provider } = member({ password: 'wrong' });
    const before = dav.requests().length;
    const failed = start(provider, 10);
    await expect(failed).rejects.toBeInstanceOf(AuthRevokedError);
    await expect(failed).rejects.toThrow(/rejected the credentials \(HTTP 401/);
    expect(dav.requests().length - before).toBe(1);
    await expect(provider.quota()).rejects.toBeInstanceOf(AuthRevokedError);
    expect(await provider.check()).toBe('down');
  });

  it('keeps the spool across a restart: a new instance resumes from the spooled bytes', async () => {
    const { options, provider, root } = member();
    const data = randomBytes(3 * CHUNK);
    const handle = await start(provider, data.length);
    await provider.writeChunk(handle, 0, data.subarray(0, CHUNK));
    await provider.writeChunk(handle, CHUNK, data.subarray(CHUNK, 2 * CHUNK));

    const parsed = JSON.parse(handle) as { v: number; uploadId: string; remoteId: string; size: number };
    expect(parsed).toMatchObject({ v: 1, size: data.length, remoteId: expect.stringMatching(/^objects\//) });
    const spool = path.join(options.spoolDir, `${parsed.uploadId}.part`);
    expect(fs.readFileSync(spool).equals(data.subarray(0, 2 * CHUNK))).toBe(true);

    const restarted = new WebDavProvider(options);
    expect(await restarted.queryUpload(handle)).toEqual({ state: 'in_progress', committed: 2 * CHUNK });
    const done = await restarted.writeChunk(handle, 2 * CHUNK, data.subarray(2 * CHUNK));
    expect(done.remoteId).toBe(parsed.remoteId);
    expect(fs.existsSync(spool)).toBe(false);
    expect(fs.readFileSync(onDisk(dav, root, parsed.remoteId)).equals(data)).toBe(true);
  });

  it('recovers from a crash between the PUT and deleting the spool: done is done, and the last chunk may come again', async () => {
    const { options, provider, root } = member();
    const data = randomBytes(CHUNK + 5);
    const handle = await start(provider, data.length);
    await provider.writeChunk(handle, 0, data.subarray(0, CHUNK));
    const spool = path.join(options.spoolDir, `${(JSON.parse(handle) as { uploadId: string }).uploadId}.part`);
    const kept = fs.readFileSync(spool);
    const done = await provider.writeChunk(handle, CHUNK, data.subarray(CHUNK));
    fs.writeFileSync(spool, kept);

    const restarted = new WebDavProvider(options);
    expect(await restarted.queryUpload(handle)).toEqual({ state: 'done', remoteId: done.remoteId });
    expect(await restarted.writeChunk(handle, CHUNK, data.subarray(CHUNK))).toEqual(done);
    expect(fs.readFileSync(onDisk(dav, root, done.remoteId!)).equals(data)).toBe(true);
  });

  it('re-creates collections deleted behind its back before the final PUT (409 → MKCOL → PUT)', async () => {
    const { provider, root } = member();
    const data = randomBytes(100);
    const handle = await start(provider, data.length);
    await provider.writeChunk(handle, 0, data.subarray(0, 50));
    fs.rmSync(path.join(dav.dir, root.split('/')[0] ?? ''), { recursive: true });
    const done = await provider.writeChunk(handle, 50, data.subarray(50));
    expect(fs.readFileSync(onDisk(dav, root, done.remoteId!)).equals(data)).toBe(true);
  });

  it('works under a root whose names need escaping', async () => {
    const { provider, root } = member({ root: `/Dateien für alle/${run} #1/ddx` });
    const data = randomBytes(1000);
    const handle = await start(provider, data.length);
    const done = await provider.writeChunk(handle, 0, data);
    expect(fs.readFileSync(onDisk(dav, root, done.remoteId!)).equals(data)).toBe(true);
    expect((await collect((await provider.read(done.remoteId!, { start: 1, end: 3 })).stream)).equals(data.subarray(1, 4))).toBe(true);
    expect(await provider.check()).toBe('healthy');
    expect(await provider.quota()).toEqual({ limit: null, used: 0 });
    const quotaAsk = dav.requests().filter((r) => r.method === 'PROPFIND').at(-1);
    expect(quotaAsk?.path).toBe(`/${root}`);
  });

  it('times out against a server that accepts and never answers: transient', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const held = new Set<net.Socket>();
    silent.on('connection', (s) => held.add(s));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of held) s.destroy();
          silent.close(() => resolve());
        }),
    );
    const { port } = silent.address() as net.AddressInfo;
    const { provider } = member({ url: `http://127.0.0.1:${port}/`, timeoutMs: 150, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const failed = start(provider, 1);
    await expect(failed).rejects.toBeInstanceOf(TransientError);
    await expect(failed).rejects.toThrow(/timed out/);
  });

  it('reports no quota (the server reports none) and a healthy member that can write', async () => {
    const { provider } = member();
    expect(await provider.quota()).toEqual({ limit: null, used: 0 });
    expect(provider.capabilities.reportsQuota).toBe(false);
    expect(await provider.check()).toBe('healthy');
  });

  it('reports the quota of a server that has one (RFC 4331), and then declares it', async () => {
    // None of the Debian servers reports quota (FACTS.md), so a few lines stand in for one that does.
    const quotaServer = http.createServer((req, res) => {
      req.resume();
      res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8' }).end(
        `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>${req.url}</d:href><d:propstat><d:prop>` +
          '<d:quota-used-bytes>1000</d:quota-used-bytes><d:quota-available-bytes>9000</d:quota-available-bytes>' +
          '</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>',
      );
    });
    await new Promise<void>((resolve) => quotaServer.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => quotaServer.close(() => resolve())));
    const { port } = quotaServer.address() as net.AddressInfo;
    const { provider } = member({ url: `http://127.0.0.1:${port}/` });
    expect(provider.capabilities.reportsQuota).toBe(false);
    expect(await provider.quota()).toEqual({ limit: 10_000, used: 1000 });
    expect(provider.capabilities.reportsQuota).toBe(true);
  });

  it('streams a 64 MiB upload from the spool without holding the file in memory', { timeout: 120_000 }, async () => {
    // Garbage from streaming (64 KiB read buffers) would blur a plain heap reading; collecting
    // before each sample measures what is actually held. Twice: V8 frees dead ArrayBuffers in a
    // background sweep after a collection, and the next collection waits for that sweep.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const { provider, root } = member();
    const size = 64 * MiB;
    const block = randomBytes(CHUNK);
    const hash = createHash('sha256');
    const handle = await start(provider, size);
    const live = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    let baseline = 0;
    let peak = 0;
    let sampling = false;
    let timer: NodeJS.Timeout | undefined;
    const collectGarbage = () => {
      gc();
      gc();
    };
    const sample = () => {
      const began = performance.now();
      collectGarbage();
      peak = Math.max(peak, live() - baseline);
      // A collection takes ~20 ms, more on a busy machine: spacing samples at least 4 collections
      // apart keeps them from starving the upload they measure.
      if (sampling) timer = setTimeout(sample, Math.max(25, 4 * (performance.now() - began)));
    };
    let result: { committed: number; remoteId?: string } = { committed: 0 };
    let index = 0;
    try {
      while (result.remoteId === undefined) {
        // One 4 MiB block reused, stamped with its index: distinct content without 64 MiB of test data.
        block.writeUInt32BE(index++, 0);
        hash.update(block);
        if (result.committed + CHUNK === size) {
          collectGarbage();
          baseline = live();
          sampling = true;
          timer = setTimeout(sample, 5);
        }
        result = await provider.writeChunk(handle, result.committed, block);
      }
    } finally {
      sampling = false;
      clearTimeout(timer);
    }
    expect(result.committed).toBe(size);
    expect(peak).toBeGreaterThan(0);
    // Streaming holds a few MiB (the last chunk, read buffers); a buffered file would show all 64.
    // Half the file leaves room for a busy machine's noise without letting a whole-file buffer pass.
    expect(peak).toBeLessThan(size / 2);
    const storedHash = createHash('sha256');
    for await (const piece of fs.createReadStream(onDisk(dav, root, result.remoteId))) storedHash.update(piece as Buffer);
    expect(storedHash.digest('hex')).toBe(hash.digest('hex'));
  });
});
