import { pipeline } from 'node:stream';
import type { Request, Response } from 'express';
import type { BackupTarget } from '../backup/target';
import { AppError, BadGatewayError, ServiceUnavailableError } from '../core/errors';
import type { Logger } from '../core/logger';
import { DOWNLOAD_METRICS, type Metrics } from '../core/metrics';
import type { ByteRange } from '../providers/types';
import type { FileRecord } from '../store/types';
import { type CopyDeps, copiesOf, FileStream, FileUnavailableError } from './fallback';
import { contentDisposition, type Disposition, etagOf, noneMatchHits } from './headers';
import { contentRange, parseRange, rangeStillApplies } from './range';

export type DownloadKind = 'stream' | 'preview' | 'link' | 'zip';

export interface DownloadServiceDeps extends CopyDeps {
  backupTarget: BackupTarget | null;
  logger: Logger;
  metrics: Metrics;
  /** See FileStreamOptions.openTimeoutMs. Default 10 s. */
  openTimeoutMs?: number;
  /** See FileStreamOptions.stallTimeoutMs. Default 60 s. */
  stallTimeoutMs?: number;
}

export interface SendOptions {
  kind: Exclude<DownloadKind, 'zip'>;
  disposition: Disposition;
  /** The Content-Type to send (the preview sends octet-stream for what it will not render). */
  contentType: string;
}

/**
 * Serves a file's bytes over HTTP: validators, Range, HEAD, and the body read
 * through the fallback (fallback.ts). Callers have checked who may see the
 * file; this only decides how to answer.
 */
export class DownloadService {
  private readonly openTimeoutMs: number;
  private readonly stallTimeoutMs: number;

  constructor(private readonly deps: DownloadServiceDeps) {
    this.openTimeoutMs = deps.openTimeoutMs ?? 10_000;
    this.stallTimeoutMs = deps.stallTimeoutMs ?? 60_000;
  }

  /**
   * A stream of the file's bytes (or `range` of them) with fallback between
   * copies; every fallback is logged and counted, and the bytes each copy
   * delivered are counted when the stream closes.
   */
  open(file: FileRecord, range: ByteRange | null): FileStream {
    const { logger, metrics } = this.deps;
    const stream = new FileStream({
      sources: copiesOf(file, this.deps),
      size: file.size,
      range,
      openTimeoutMs: this.openTimeoutMs,
      stallTimeoutMs: this.stallTimeoutMs,
      onFallback: (event) => {
        metrics.inc(DOWNLOAD_METRICS.fallbacks, { phase: event.phase });
        logger.warn(
          { fileId: file.id, phase: event.phase, from: event.from, to: event.to, offset: event.offset, err: describe(event.error) },
          'download fell back to another copy',
        );
      },
    });
    stream.once('close', () => {
      for (const source of ['primary', 'backup'] as const) {
        if (stream.bytesFrom[source] > 0) metrics.inc(DOWNLOAD_METRICS.bytes, { source }, stream.bytesFrom[source]);
      }
    });
    return stream;
  }

  /**
   * Answers GET or HEAD for a file: 304 on a matching If-None-Match, 416 for
   * an unsatisfiable Range, else 200/206 with the bytes. Resolves once the
   * answer is under way; the body keeps streaming after that.
   */
  async send(req: Request, res: Response, file: FileRecord, options: SendOptions): Promise<void> {
    const etag = etagOf(file.sha256);
    res.setHeader('Accept-Ranges', 'bytes');
    if (etag) res.setHeader('ETag', etag);
    // Revalidate every time: the ETag makes that cheap, and a revoked link or a deleted file is then never served from a cache.
    res.setHeader('Cache-Control', 'private, no-cache');
    if (noneMatchHits(headerOf(req, 'if-none-match'), etag)) {
      res.status(304).end();
      return;
    }
    const wanted = rangeStillApplies(headerOf(req, 'if-range'), etag) ? parseRange(headerOf(req, 'range'), file.size) : ({ kind: 'full' } as const);
    if (wanted.kind === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${file.size}`);
      throw new AppError(416, 'range_not_satisfiable', `The requested range is outside this ${file.size}-byte file`);
    }
    const range = wanted.kind === 'partial' ? wanted.range : null;
    const commit = () => {
      res.status(range ? 206 : 200);
      res.setHeader('Content-Type', options.contentType);
      res.setHeader('Content-Length', String(range ? range.end - range.start + 1 : file.size));
      res.setHeader('Content-Disposition', contentDisposition(options.disposition, file.name));
      if (range) res.setHeader('Content-Range', contentRange(range, file.size));
    };
    if (req.method === 'HEAD') {
      // Everything HEAD needs is in the store: no copy is opened.
      commit();
      res.end();
      return;
    }

    const stream = this.open(file, range);
    // The client may leave while a copy is being opened, or at any point after.
    res.once('close', () => stream.destroy());
    try {
      await stream.ready;
    } catch (err) {
      stream.destroy();
      if (res.destroyed) return;
      this.deps.metrics.inc(DOWNLOAD_METRICS.failures, { phase: 'before_headers' });
      this.deps.logger.error({ fileId: file.id, err: describe(err) }, 'download failed: no copy could be opened');
      throw unavailable(err);
    }
    if (res.destroyed) {
      stream.destroy();
      return;
    }
    commit();
    this.deps.metrics.inc(DOWNLOAD_METRICS.downloads, { kind: options.kind });
    pipeline(stream, res, (err) => {
      if (!err) return;
      if (!(err instanceof FileUnavailableError)) {
        this.deps.logger.debug({ fileId: file.id, err: describe(err) }, 'download ended early: the client went away');
        return;
      }
      this.deps.metrics.inc(DOWNLOAD_METRICS.failures, { phase: 'after_headers' });
      // pipeline destroyed the response: the client sees a cut-off transfer, never wrong bytes.
      this.deps.logger.error({ fileId: file.id, err: describe(err) }, 'download failed mid-stream: no copy could continue');
    });
  }
}

/** A request header as one string (Node joins repeated ones; a list would only come from a custom header). */
function headerOf(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The client-facing error when no copy can be opened; the details stay in the log (they name storage locations). */
export function unavailable(err: unknown): AppError {
  const message = 'This file cannot be read from storage right now; try again later';
  if (err instanceof FileUnavailableError && !err.transient) return new BadGatewayError('file_unavailable', message);
  return new ServiceUnavailableError('file_unavailable', message, 30);
}

/** Errors for logs: message and class, without the stack of every retry. */
export function describe(err: unknown): { name: string; message: string } | string {
  return err instanceof Error ? { name: err.name, message: err.message } : String(err);
}
