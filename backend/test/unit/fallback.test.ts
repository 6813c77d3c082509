import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { type CopyName, type CopySource, type FallbackEvent, FileStream, FileUnavailableError } from '../../src/downloads/fallback';
import { ProviderNotFoundError, TransientError } from '../../src/providers/errors';
import type { ByteRange } from '../../src/providers/types';

/**
 * The fallback stream against in-memory copies whose faults are scripted:
 * which copy is opened, at which offset, what the reader receives, and that
 * every upstream is closed in the end.
 */
const DATA = randomBytes(300_000);
const CHUNK = 16 * 1024;

interface FakeCopy extends CopySource {
  opens: Array<ByteRange | undefined>;
  streams: Readable[];
  /** Bytes handed to the fallback stream so far, over all openings. */
  pulled: number;
}

interface FakeOptions {
  /** Fail these openings (by index) before any byte. */
  failOpen?: (open: number) => unknown;
  /** Error after this many bytes of the given opening. */
  breakAfter?: (open: number) => number | undefined;
  /** Stop sending (but stay open) after this many bytes. */
  stallAfter?: (open: number) => number | undefined;
  openDelayMs?: number;
  data?: Buffer;
  reportedSize?: number;
  /** Send this much past the end of the asked range. */
  overshoot?: number;
}

function fakeCopy(name: CopyName, options: FakeOptions = {}): FakeCopy {
  const data = options.data ?? DATA;
  const copy: FakeCopy = {
    name,
    opens: [],
    streams: [],
    pulled: 0,
    async open(range) {
      const index = copy.opens.length;
      copy.opens.push(range);
      if (options.openDelayMs) await new Promise((r) => setTimeout(r, options.openDelayMs));
      const failure = options.failOpen?.(index);
      if (failure) throw failure;
      const start = range?.start ?? 0;
      const end = (range?.end ?? data.length - 1) + (options.overshoot ?? 0);
      const breakAt = options.breakAfter?.(index);
      const stallAt = options.stallAfter?.(index);
      let pos = start;
      let sent = 0;
      const stream = new Readable({
        read() {
          if (breakAt !== undefined && sent >= breakAt) {
            this.destroy(new TransientError(`${name} broke off`));
            return;
          }
          if (stallAt !== undefined && sent >= stallAt) return;
          if (pos > end) {
            this.push(null);
            return;
          }
          let take = Math.min(CHUNK, end - pos + 1);
          if (breakAt !== undefined) take = Math.min(take, breakAt - sent);
          if (stallAt !== undefined) take = Math.min(take, stallAt - sent);
          const piece = Buffer.alloc(take);
          // Past the real data (overshoot) a copy sends junk: it must never reach the reader.
          data.copy(piece, 0, pos, Math.min(pos + take, data.length));
          if (pos + take > data.length) piece.fill(0xee, Math.max(0, data.length - pos));
          pos += take;
          sent += take;
          copy.pulled += take;
          this.push(piece);
        },
      });
      copy.streams.push(stream);
      return { stream, size: options.reportedSize ?? data.length };
    },
  };
  return copy;
}

function open(sources: CopySource[], range: ByteRange | null = null, extra: Partial<ConstructorParameters<typeof FileStream>[0]> = {}) {
  const events: FallbackEvent[] = [];
  const stream = new FileStream({
    sources,
    size: DATA.length,
    range,
    openTimeoutMs: 1000,
    stallTimeoutMs: 0,
    onFallback: (e) => events.push(e),
    ...extra,
  });
  return { stream, events };
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const piece of stream) parts.push(piece as Buffer);
  return Buffer.concat(parts);
}

const allClosed = (...copies: FakeCopy[]) => copies.every((c) => c.streams.every((s) => s.destroyed));

describe('FileStream (download fallback)', () => {
  it('reads the whole file from the primary without touching the backup', async () => {
    const primary = fakeCopy('primary');
    const backup = fakeCopy('backup');
    const { stream, events } = open([primary, backup]);
    await stream.ready;
    expect(await collect(stream)).toEqual(DATA);
    expect(primary.opens).toEqual([undefined]);
    expect(backup.opens).toEqual([]);
    expect(events).toEqual([]);
    expect(stream.bytesFrom).toEqual({ primary: DATA.length, backup: 0 });
    expect(allClosed(primary)).toBe(true);
  });

  it('reads a range, and an empty file without opening any copy', async () => {
    const primary = fakeCopy('primary');
    const { stream } = open([primary], { start: 1000, end: 1999 });
    expect(await collect(stream)).toEqual(DATA.subarray(1000, 2000));
    expect(primary.opens).toEqual([{ start: 1000, end: 1999 }]);

    const empty = fakeCopy('primary', { data: Buffer.alloc(0) });
    const zero = new FileStream({ sources: [empty], size: 0, range: null, openTimeoutMs: 1000, stallTimeoutMs: 0 });
    await zero.ready;
    expect(await collect(zero)).toEqual(Buffer.alloc(0));
    expect(empty.opens).toEqual([]);
  });

  it('serves from the backup when the primary fails before the first byte', async () => {
    const primary = fakeCopy('primary', { failOpen: () => new TransientError('503') });
    const backup = fakeCopy('backup');
    const { stream, events } = open([primary, backup], { start: 10, end: DATA.length - 1 });
    await stream.ready;
    expect(await collect(stream)).toEqual(DATA.subarray(10));
    expect(events).toMatchObject([{ phase: 'before_first_byte', from: 'primary', to: 'backup', offset: 10 }]);
    expect(backup.opens).toEqual([{ start: 10, end: DATA.length - 1 }]);
    expect(stream.failures.map((f) => f.source)).toEqual(['primary']);
  });

  it('continues from the backup at the exact byte where the primary broke off', async () => {
    const primary = fakeCopy('primary', { breakAfter: (i) => (i === 0 ? 100_000 : undefined) });
    const backup = fakeCopy('backup');
    const { stream, events } = open([primary, backup]);
    await stream.ready;
    expect((await collect(stream)).equals(DATA)).toBe(true);
    expect(events).toMatchObject([{ phase: 'mid_stream', from: 'primary', to: 'backup', offset: 100_000 }]);
    expect(backup.opens).toEqual([{ start: 100_000, end: DATA.length - 1 }]);
    expect(stream.bytesFrom).toEqual({ primary: 100_000, backup: DATA.length - 100_000 });
    expect(allClosed(primary, backup)).toBe(true);
  });

  it('keeps absolute offsets inside a range when it switches', async () => {
    const primary = fakeCopy('primary', { breakAfter: () => 5000 });
    const backup = fakeCopy('backup');
    const { stream } = open([primary, backup], { start: 20_000, end: 59_999 });
    expect((await collect(stream)).equals(DATA.subarray(20_000, 60_000))).toBe(true);
    expect(backup.opens).toEqual([{ start: 25_000, end: 59_999 }]);
  });

  it('resumes the same copy once when it made progress and nothing else is left', async () => {
    const primary = fakeCopy('primary', { breakAfter: (i) => (i === 0 ? 70_000 : undefined) });
    const { stream, events } = open([primary]);
    expect((await collect(stream)).equals(DATA)).toBe(true);
    expect(primary.opens).toEqual([undefined, { start: 70_000, end: DATA.length - 1 }]);
    expect(events).toMatchObject([{ phase: 'mid_stream', from: 'primary', to: 'primary', offset: 70_000 }]);
  });

  it('fails with FileUnavailableError before the first byte when no copy opens', async () => {
    const primary = fakeCopy('primary', { failOpen: () => new TransientError('down') });
    const backup = fakeCopy('backup', { failOpen: () => new ProviderNotFoundError('gone') });
    const { stream } = open([primary, backup]);
    const err = await stream.ready.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FileUnavailableError);
    expect((err as FileUnavailableError).failures.map((f) => f.source)).toEqual(['primary', 'backup']);
    // One copy is gone for good: not the kind of failure that passes by itself.
    expect((err as FileUnavailableError).transient).toBe(false);
    expect(primary.opens).toHaveLength(1);
  });

  it('errors (never ends short) when every copy breaks off mid-stream', async () => {
    const primary = fakeCopy('primary', { breakAfter: () => 50_000 });
    const backup = fakeCopy('backup', { breakAfter: () => 10_000 });
    const { stream } = open([primary, backup]);
    await stream.ready;
    const received: Buffer[] = [];
    const outcome = await new Promise<unknown>((resolve) => {
      stream.on('data', (b: Buffer) => received.push(b));
      stream.on('end', () => resolve('ended'));
      stream.on('error', resolve);
    });
    expect(outcome).toBeInstanceOf(FileUnavailableError);
    const got = Buffer.concat(received);
    // What arrived is a correct prefix: primary 50 000, backup 10 000, primary resumed 50 000, backup resumed 10 000.
    expect(got.length).toBe(120_000);
    expect(got.equals(DATA.subarray(0, got.length))).toBe(true);
    expect(primary.opens.length).toBe(2);
    expect(backup.opens.length).toBe(2);
    expect(allClosed(primary, backup)).toBe(true);
  });

  it('does not trust a copy of the wrong size, nor bytes past the asked range', async () => {
    const wrong = fakeCopy('primary', { reportedSize: DATA.length - 1 });
    const backup = fakeCopy('backup', { overshoot: 50_000 });
    const { stream, events } = open([wrong, backup], { start: DATA.length - 1000, end: DATA.length - 1 });
    expect((await collect(stream)).equals(DATA.subarray(DATA.length - 1000))).toBe(true);
    expect(events).toMatchObject([{ phase: 'before_first_byte', from: 'primary', to: 'backup' }]);
    expect(allClosed(wrong, backup)).toBe(true);
  });

  it('gives up on a copy that does not open in time, and closes it when it finally does', async () => {
    const slow = fakeCopy('primary', { openDelayMs: 300 });
    const backup = fakeCopy('backup');
    const { stream, events } = open([slow, backup], null, { openTimeoutMs: 50 });
    expect((await collect(stream)).equals(DATA)).toBe(true);
    expect(events).toMatchObject([{ phase: 'before_first_byte', from: 'primary', to: 'backup' }]);
    await new Promise((r) => setTimeout(r, 400));
    expect(slow.streams).toHaveLength(1);
    expect(slow.streams[0]?.destroyed).toBe(true);
  });

  it('goes back to a copy that was only slow to open when the other one fails, and then waits for it', async () => {
    const slow = fakeCopy('primary', { openDelayMs: 150 });
    const broken = fakeCopy('backup', { failOpen: () => new TransientError('backup server down') });
    const { stream, events } = open([slow, broken], null, { openTimeoutMs: 50 });
    expect((await collect(stream)).equals(DATA)).toBe(true);
    expect(slow.opens).toHaveLength(2);
    expect(events).toMatchObject([
      { phase: 'before_first_byte', from: 'primary', to: 'backup' },
      { phase: 'before_first_byte', from: 'backup', to: 'primary' },
    ]);
  });

  it('waits for the only copy however long it takes to open', async () => {
    const slow = fakeCopy('primary', { openDelayMs: 150 });
    const { stream } = open([slow], null, { openTimeoutMs: 20 });
    expect((await collect(stream)).equals(DATA)).toBe(true);
  });

  it('treats a copy that stops sending as broken', async () => {
    const primary = fakeCopy('primary', { stallAfter: (i) => (i === 0 ? 64 * 1024 : undefined) });
    const backup = fakeCopy('backup');
    const { stream, events } = open([primary, backup], null, { stallTimeoutMs: 100 });
    expect((await collect(stream)).equals(DATA)).toBe(true);
    expect(events[0]).toMatchObject({ phase: 'mid_stream', from: 'primary', to: 'backup', offset: 64 * 1024 });
  });

  it('applies backpressure: a reader that stops stops the upstream', async () => {
    const big = randomBytes(8 * 1024 * 1024);
    const primary = fakeCopy('primary', { data: big });
    const stream = new FileStream({ sources: [primary], size: big.length, range: null, openTimeoutMs: 1000, stallTimeoutMs: 100 });
    await stream.ready;
    stream.pause();
    stream.read(0);
    await new Promise((r) => setTimeout(r, 400));
    // The fallback buffer (256 KiB) plus what the upstream buffers itself; far from the 8 MiB file.
    expect(primary.pulled).toBeLessThan(1024 * 1024);
    // Paused for backpressure is not a stall: nothing failed.
    expect(stream.failures).toEqual([]);
    // A slow reader takes the rest: everything arrives, in order.
    const received: Buffer[] = [];
    const collector = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, done) {
        received.push(chunk);
        setImmediate(done);
      },
    });
    await pipeline(stream, collector);
    expect(Buffer.concat(received).equals(big)).toBe(true);
  });

  it('closes the upstream when the reader goes away mid-stream', async () => {
    const big = randomBytes(8 * 1024 * 1024);
    const primary = fakeCopy('primary', { data: big });
    const stream = new FileStream({ sources: [primary], size: big.length, range: null, openTimeoutMs: 1000, stallTimeoutMs: 0 });
    await stream.ready;
    // A client that takes one chunk and then hangs, and finally disconnects.
    await new Promise<void>((resolve) => {
      stream.pipe(new Writable({ write: () => resolve() }));
    });
    stream.destroy();
    await new Promise((r) => setImmediate(r));
    expect(allClosed(primary)).toBe(true);
    expect(primary.pulled).toBeLessThan(big.length);
  });

  it('closes a copy that opens after the reader went away', async () => {
    const slow = fakeCopy('primary', { openDelayMs: 100 });
    const { stream } = open([slow]);
    stream.destroy();
    await expect(stream.ready).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 200));
    expect(slow.streams).toHaveLength(1);
    expect(allClosed(slow)).toBe(true);
  });
});
