import path from 'node:path';
import { pipeline } from 'node:stream';
import type { Archiver, ArchiverError, ZipOptions } from 'archiver';
// archiver 7 exports a factory, `archiver(format, options)`; the installed @types/archiver (8.x) describes
// archiver 8's classes instead. The instance API is the same, so only the factory is typed by hand.
import archiverModule = require('archiver');
import type { Response } from 'express';
import type { Logger } from '../core/logger';
import { DOWNLOAD_METRICS, type Metrics } from '../core/metrics';
import type { FileRecord } from '../store/types';
import type { FileStream } from './fallback';
import { contentDisposition } from './headers';
import { describe, type DownloadService } from './service';

const createArchive = archiverModule as unknown as (format: 'zip', options: ZipOptions) => Archiver;

/**
 * Entry names for a ZIP: characters archiver would reinterpret as a path
 * (`/`, `\`, a `name:` prefix it strips as a drive letter) become `_`, and
 * names that clash — case-insensitively, as on Windows and macOS — get
 * " (2)", " (3)", … before the extension.
 */
export function zipEntryNames(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.map((raw) => {
    const name = raw.replace(/[/\\:]/g, '_') || 'file';
    const ext = path.extname(name);
    const stem = name.slice(0, name.length - ext.length);
    let candidate = name;
    for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${ext}`;
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}

/**
 * Streams a ZIP of `files` (checked by the caller: visible, complete) built by
 * archiver in store mode — no compression: the CPU goes to moving bytes, the
 * archive's size is predictable, and most large files are compressed already.
 * archiver switches to ZIP64 records by itself for entries or offsets past
 * 4 GiB. Entries are added one at a time (the next when the last is written),
 * so only one file's copy is open at once and nothing is buffered beyond the
 * streams' own high-water marks. Each entry is read through the fallback; if
 * one cannot be read at all, the response is destroyed — the client sees a
 * broken download, never a ZIP that is silently missing a file.
 */
export function sendZip(res: Response, files: readonly FileRecord[], deps: { downloads: DownloadService; logger: Logger; metrics: Metrics }): void {
  const names = zipEntryNames(files.map((f) => f.name));
  res.status(200);
  res.setHeader('Content-Type', 'application/zip');
  res.setHeader('Content-Disposition', contentDisposition('attachment', `directdrivex-${new Date().toISOString().slice(0, 10)}.zip`));
  res.setHeader('Cache-Control', 'no-store');
  deps.metrics.inc(DOWNLOAD_METRICS.downloads, { kind: 'zip' });

  const archive = createArchive('zip', { store: true });
  let current: FileStream | null = null;
  let next = 0;
  let over = false;

  const stop = (err: unknown, why: 'failed' | 'client_gone') => {
    if (over) return;
    over = true;
    archive.abort();
    current?.destroy();
    if (why === 'failed') {
      deps.metrics.inc(DOWNLOAD_METRICS.failures, { phase: 'after_headers' });
      deps.logger.error({ err: describe(err), entry: next - 1 }, 'ZIP download failed: a file could not be read; the response is cut off');
    }
    res.destroy();
  };

  const appendNext = () => {
    if (over) return;
    const index = next++;
    const file = files[index];
    if (file === undefined) {
      // archiver's finalize() rejects with the same error it emits; the 'error' listener acts on it.
      archive.finalize().catch(() => undefined);
      return;
    }
    const stream = deps.downloads.open(file, null);
    current = stream;
    stream.once('error', (err) => stop(err, 'failed'));
    archive.append(stream, { name: names[index] ?? file.name, date: file.createdAt });
  };

  archive.on('error', (err: ArchiverError) => stop(err, 'failed'));
  archive.on('warning', (err: ArchiverError) => stop(err, 'failed'));
  archive.on('entry', appendNext);
  res.once('close', () => {
    if (!res.writableFinished) stop(null, 'client_gone');
  });
  pipeline(archive, res, () => undefined);
  appendNext();
}
