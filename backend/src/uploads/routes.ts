import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import { z } from 'zod';
import { type Authenticator, requireAuth } from '../auth/passport';
import { AppError, BadRequestError } from '../core/errors';
import type { Logger } from '../core/logger';
import { toFileView } from '../files/view';
import { parse } from '../http/validate';
import { committedRange, type ContentRange, parseContentRange } from './content-range';
import { resync, UploadError } from './errors';
import { MAX_FILE_SIZE, type UploadAccess, type UploadCursor, type UploadService } from './service';

const FILE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A PUT whose body sends nothing for this long is dropped. */
const BODY_IDLE_MS = 120_000;

export const initiateBody = z.strictObject({
  filename: z.string({ error: 'filename is required' }).min(1, 'filename is required').max(1024, 'filename is too long (at most 1024 characters)'),
  size: z
    .number({ error: 'size is required (bytes, a number)' })
    .int('size must be a whole number of bytes')
    .min(0, 'size must not be negative')
    .max(MAX_FILE_SIZE, `size must be at most ${MAX_FILE_SIZE} bytes (5 TB)`),
  contentType: z.string().max(255, 'contentType is too long').optional(),
});

/**
 * Upload endpoints (ARCHITECTURE.md, "Upload"). Mounted before the API's body
 * parsers: a PUT carries file bytes, which must stream, never be parsed.
 */
export function uploadRoutes(deps: { uploads: UploadService; passport: Authenticator; logger: Logger }): Router {
  const { uploads } = deps;
  const router = Router();
  const authenticated = requireAuth(deps.passport);
  const access = uploadAccess(authenticated);

  router.post('/initiate', authenticated, requireJson, express.json({ limit: '16kb' }), async (req, res) => {
    const body = parse(initiateBody, req.body);
    const initiated = await uploads.initiate(req.user!.id, body);
    res.status(201).json(initiated);
  });

  router.get('/:fileId/status', access, async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await uploads.status(fileIdOf(req), accessOf(res)));
  });

  router.delete('/:fileId', access, async (req, res) => {
    const file = await uploads.cancel(fileIdOf(req), accessOf(res));
    res.json({ file: toFileView(file) });
  });

  router.put('/:fileId', access, async (req, res) => {
    const fileId = fileIdOf(req);
    const file = await uploads.authorize(fileId, accessOf(res));
    const range = rangeOf(req, file.size);
    const aborter = new AbortController();
    const cursor = await uploads.open(fileId, accessOf(res), (reason) => {
      aborter.abort(reason);
      // A stalled body would otherwise hold the upload until more bytes came.
      req.destroy();
    });
    // A body that stops moving gives the upload back after a while instead of holding it.
    req.setTimeout(BODY_IDLE_MS, () => req.destroy());
    try {
      if (cursor.isComplete || range.kind === 'query') return await reply(res, cursor);
      if (range.start > cursor.committed) {
        res.setHeader('Range', committedRange(cursor.committed) ?? 'bytes=0-0');
        throw resync(cursor.committed);
      }
      await receiveBody(req, cursor, range, uploads.chunkSize, aborter.signal);
      await reply(res, cursor);
    } finally {
      cursor.release();
    }
  });

  return router;
}

/** Initiate takes JSON only; a form post would otherwise read as "filename is required". */
const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is('application/json')) return next(new AppError(415, 'unsupported_media_type', 'Send the upload details as JSON (Content-Type: application/json)'));
  next();
};

/** The upload token (X-Upload-Token header or ?token=) when given, else the logged-in user. */
function uploadAccess(authenticated: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const header = req.headers['x-upload-token'];
    const query = typeof req.query.token === 'string' ? req.query.token : undefined;
    const token = typeof header === 'string' && header !== '' ? header : query;
    if (token) {
      res.locals.uploadAccess = { uploadToken: token } satisfies UploadAccess;
      return next();
    }
    authenticated(req, res, (err?: unknown) => {
      if (err) return next(err);
      res.locals.uploadAccess = { userId: req.user!.id } satisfies UploadAccess;
      next();
    });
  };
}

const accessOf = (res: Response): UploadAccess => res.locals.uploadAccess as UploadAccess;

function fileIdOf(req: Request): string {
  const id = String(req.params.fileId);
  if (!FILE_ID.test(id)) throw new UploadError(404, 'upload_not_found', 'No such upload', false);
  return id;
}

/** Content-Range, or — for `curl -T` — the whole file in one PUT when the header is absent. */
function rangeOf(req: Request, size: number): ContentRange {
  const header = req.headers['content-range'];
  if (header === undefined) {
    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) !== size) {
      throw new BadRequestError('size_mismatch', `This upload was declared as ${size} bytes, but the body has ${length}`);
    }
    if (size === 0) return { kind: 'query', total: 0 };
    return { kind: 'bytes', start: 0, end: size - 1, total: size };
  }
  const range = parseContentRange(header);
  if (!range) throw new BadRequestError('invalid_content_range', 'Content-Range must be "bytes a-b/total" or "bytes */total"');
  if (range.total !== null && range.total !== size) {
    throw new BadRequestError('size_mismatch', `This upload was declared as ${size} bytes, not ${range.total}`);
  }
  if (range.kind === 'bytes') {
    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) !== range.end - range.start + 1) {
      throw new BadRequestError('content_length_mismatch', `Content-Range names ${range.end - range.start + 1} bytes but Content-Length is ${length}`);
    }
  }
  return range;
}

/** 201 with the file when complete, else 308 with the committed range (Google's resumable protocol). */
async function reply(res: Response, cursor: UploadCursor): Promise<void> {
  res.setHeader('Cache-Control', 'no-store');
  if (cursor.isComplete || cursor.committed === cursor.size) {
    const file = await cursor.finish();
    res.status(201).json({ file: toFileView(file) });
    return;
  }
  const range = committedRange(cursor.committed);
  if (range) res.setHeader('Range', range);
  res.status(308).json({ committed: cursor.committed, size: cursor.size });
}

/**
 * Streams the request body upstream in chunk-size pieces through one reused
 * buffer: the request is only read while the previous piece is not being
 * written (for-await applies backpressure). Bytes the member already has are
 * skipped; a trailing partial piece is committed as far as the member's chunk
 * rule allows, and the 308 tells the client where to go on.
 */
async function receiveBody(req: Request, cursor: UploadCursor, range: Extract<ContentRange, { kind: 'bytes' }>, chunkSize: number, signal: AbortSignal): Promise<void> {
  const declared = range.end - range.start + 1;
  const piece = Buffer.allocUnsafe(chunkSize);
  let skip = cursor.committed - range.start;
  let fill = 0;
  let seen = 0;
  const flush = async (length: number) => {
    await cursor.write(cursor.committed, piece.subarray(0, length));
    piece.copy(piece, 0, length, fill);
    fill -= length;
  };
  try {
    for await (const data of req) {
      if (signal.aborted) throw new UploadError(409, 'superseded', 'Another connection took over this upload', false);
      let bytes = data as Buffer;
      seen += bytes.length;
      if (seen > declared) throw new BadRequestError('content_length_mismatch', `The body is longer than the ${declared} bytes expected (Content-Range, or the declared size)`);
      if (skip > 0) {
        const skipped = Math.min(skip, bytes.length);
        bytes = bytes.subarray(skipped);
        skip -= skipped;
      }
      while (bytes.length > 0) {
        const take = Math.min(piece.length - fill, bytes.length);
        bytes.copy(piece, fill, 0, take);
        fill += take;
        bytes = bytes.subarray(take);
        if (fill === piece.length || cursor.committed + fill === cursor.size) await flush(fill);
      }
    }
  } catch (err) {
    // A dropped client still keeps what fits the member's chunk rule.
    if (!(err instanceof UploadError) && !(err instanceof BadRequestError)) await flushPartial(cursor, fill, flush).catch(() => undefined);
    throw err;
  }
  await flushPartial(cursor, fill, flush);
}

async function flushPartial(cursor: UploadCursor, fill: number, flush: (length: number) => Promise<void>): Promise<void> {
  if (fill === 0 || !cursor.provider) return;
  const multiple = cursor.provider.capabilities.chunkMultiple;
  const length = cursor.committed + fill === cursor.size ? fill : fill - (fill % multiple);
  if (length > 0) await flush(length);
}
