import { once } from 'node:events';
import fs from 'node:fs';
import { finished } from 'node:stream/promises';
import { CHUNK_UNIT, type RequestContext } from './context';
import { readMetadata, requireAccount } from './drive-api';
import { type ContentRange, drain, DriveErrors, parseContentRange, sendJson, sendText } from './http';
import { parseFieldMask, project, QueryError } from './query';
import { fileResource, type StoredFile, type UploadSession } from './state';

const alignDown = (n: number) => n - (n % CHUNK_UNIT);

/**
 * `POST /upload/drive/v3/files?uploadType=resumable`: opens a session. JSON
 * metadata (`name`, `parents`, `mimeType`); `X-Upload-Content-Length` is
 * checked against the quota at once. Replies 200 with an absolute `Location`.
 */
export async function handleCreateSession(ctx: RequestContext): Promise<void> {
  const accountId = requireAccount(ctx);
  if (accountId === undefined) return;
  const { url, req, res, state } = ctx;
  if (url.searchParams.get('uploadType') !== 'resumable') {
    DriveErrors.badRequest(res, `Unsupported uploadType ${JSON.stringify(url.searchParams.get('uploadType'))}: this emulator speaks resumable uploads only.`);
    return;
  }
  const fields = url.searchParams.get('fields') ?? undefined;
  if (fields !== undefined) {
    try {
      parseFieldMask(fields);
    } catch (err) {
      if (!(err instanceof QueryError)) throw err;
      DriveErrors.badRequest(res, `Invalid field selection ${fields}`, 'invalidParameter');
      return;
    }
  }
  const meta = readMetadata(ctx, accountId);
  if (!meta) return;
  let declaredSize: number | null = null;
  const declared = req.headers['x-upload-content-length'];
  if (declared !== undefined) {
    declaredSize = Number(declared);
    if (!/^\d+$/.test(String(declared)) || !Number.isSafeInteger(declaredSize)) {
      DriveErrors.badRequest(res, `Invalid X-Upload-Content-Length: ${String(declared)}`, 'invalid');
      return;
    }
    if (!state.fits(accountId, declaredSize)) {
      DriveErrors.storageQuota(res);
      return;
    }
  }
  const headerType = req.headers['x-upload-content-type'];
  const session = await state.createSession({
    accountId,
    name: meta.name,
    mimeType: meta.mimeType ?? (typeof headerType === 'string' && headerType !== '' ? headerType : 'application/octet-stream'),
    parents: meta.parents,
    declaredSize,
    ...(fields !== undefined ? { fields } : {}),
  });
  res.writeHead(200, {
    Location: `${ctx.baseUrl}/upload/drive/v3/files?uploadType=resumable&upload_id=${session.id}`,
    'X-GUploader-UploadID': session.id,
    'Content-Length': '0',
  });
  res.end();
}

/** The upload session a request names, with lazy expiry applied. */
export function sessionOf(ctx: Pick<RequestContext, 'url' | 'state'>): UploadSession | undefined {
  const id = ctx.url.searchParams.get('upload_id');
  return id ? ctx.state.session(id) : undefined;
}

function finalReply(ctx: RequestContext, session: UploadSession, file: StoredFile): void {
  const resource = fileResource(file);
  // The brief for this emulator asks for `size` in the default reply, beyond Drive's kind/id/name/mimeType.
  const body = session.fields
    ? project(resource, parseFieldMask(session.fields))
    : { kind: resource.kind, id: resource.id, name: resource.name, mimeType: resource.mimeType, size: resource.size };
  sendJson(ctx.res, 200, body);
}

function resumeIncomplete(ctx: RequestContext, committed: number): void {
  // Drive leaves Range out entirely while nothing is committed.
  const headers: Record<string, string> = { 'Content-Length': '0', 'X-GUploader-UploadID': ctx.url.searchParams.get('upload_id') ?? '' };
  if (committed > 0) headers.Range = `bytes=0-${committed - 1}`;
  ctx.res.writeHead(308, headers).end();
}

/** Finalises a complete session and answers: the file resource, or 403 when the account is full. */
async function finish(ctx: RequestContext, session: UploadSession): Promise<void> {
  const result = await ctx.state.finalizeSession(session);
  if (result === 'quota') DriveErrors.storageQuota(ctx.res);
  else finalReply(ctx, session, result);
}

/**
 * `PUT {session URI}`: a chunk (`Content-Range: bytes a-b/TOTAL` or `a-b/*`),
 * a status query (`bytes *\/TOTAL`, `bytes *\/*`), or, without Content-Range,
 * the whole file in one request. Authorised by the URI alone, as at Google.
 */
export async function handleSessionPut(ctx: RequestContext): Promise<void> {
  const { req, res, state } = ctx;
  const found = sessionOf(ctx);
  if (!found) {
    await drain(req);
    DriveErrors.sessionNotFound(res);
    return;
  }
  await state.withSessionLock(found.id, async () => {
    const session = state.session(found.id)!;
    if (session.state === 'cancelled' || session.state === 'expired') {
      await drain(req);
      DriveErrors.sessionNotFound(res);
      return;
    }

    let range: ContentRange | undefined;
    const header = req.headers['content-range'];
    if (header === undefined) {
      const length = Number(req.headers['content-length'] ?? 'NaN');
      if (!Number.isSafeInteger(length)) {
        await drain(req);
        DriveErrors.badRequest(res, 'A request without Content-Range must carry Content-Length.');
        return;
      }
      range = length === 0 ? { type: 'status', total: 0 } : { type: 'data', start: 0, end: length - 1, total: length };
    } else {
      range = parseContentRange(header);
    }
    if (!range) {
      await drain(req);
      DriveErrors.badRequest(res, 'Failed to parse Content-Range header.');
      return;
    }

    if (session.state === 'done') {
      // A finished session keeps answering with its file, whatever is sent.
      await drain(req);
      const file = state.file(session.fileId!);
      if (file) finalReply(ctx, session, file);
      else DriveErrors.sessionNotFound(res);
      return;
    }

    if (range.total !== null) {
      if (session.total !== null && range.total !== session.total) {
        await drain(req);
        DriveErrors.badRequest(res, `Content-Range total ${range.total} does not match the upload's size ${session.total}.`);
        return;
      }
      session.total = range.total;
    }

    if (range.type === 'status') {
      await drain(req);
      // A query that states a total equal to what is committed completes the upload (a zero-byte file's only request).
      if (session.total !== null && session.committed === session.total) await finish(ctx, session);
      else resumeIncomplete(ctx, session.committed);
      return;
    }

    await receiveChunk(ctx, session, range);
  });
}

async function receiveChunk(ctx: RequestContext, session: UploadSession, range: Extract<ContentRange, { type: 'data' }>): Promise<void> {
  const { req, res, state } = ctx;
  const { start, end } = range;
  const length = end - start + 1;
  if (session.total !== null && end >= session.total) {
    await drain(req);
    DriveErrors.badRequest(res, `Content-Range ends at byte ${end}, past the upload's size ${session.total}.`);
    return;
  }
  if (start > session.committed) {
    await drain(req);
    // Drive (like Cloud Storage) answers a gap with this 503 and a plain-text body, double space included.
    sendText(
      res,
      503,
      `Invalid request.  According to the Content-Range header, the upload offset is ${start} byte(s), which exceeds already uploaded size of ${session.committed} byte(s).`,
    );
    return;
  }
  const contentLength = req.headers['content-length'];
  if (contentLength !== undefined && Number(contentLength) !== length) {
    await drain(req);
    DriveErrors.badRequest(res, `Content-Length ${contentLength} does not match Content-Range length ${length}.`);
    return;
  }
  const final = session.total !== null && end === session.total - 1;
  if (!final && length % CHUNK_UNIT !== 0 && (ctx.unalignedChunks === 'reject' || length < CHUNK_UNIT)) {
    await drain(req);
    DriveErrors.badRequest(
      res,
      `Invalid request. The number of bytes uploaded is required to be equal or greater than ${CHUNK_UNIT}, except for the final request (it's recommended to be the exact multiple of ${CHUNK_UNIT}). The received request contained ${length} bytes, which does not meet this requirement.`,
    );
    return;
  }

  const fault = ctx.fault;
  const dropAfter = fault?.type === 'drop-connection' ? (fault.afterBytes ?? 0) : undefined;
  const received = await receiveInto(req, state.sessionPath(session.id), session.committed, session.committed - start, length, dropAfter);
  const reached = start + received.bytes;
  const complete = received.bytes === length && !received.overflow;

  if (complete && final) {
    session.committed = session.total!;
  } else {
    // Only whole 256 KiB units count; the tail of a cut-off chunk is written but not committed.
    session.committed = Math.max(session.committed, alignDown(reached));
  }

  if (received.aborted || dropAfter !== undefined) {
    if (complete && final) await state.finalizeSession(session);
    // The state is updated before the reset, so the client's status query sees it.
    res.socket?.destroy();
    return;
  }
  if (!complete) {
    DriveErrors.badRequest(res, `The request body did not match Content-Range bytes ${start}-${end}.`);
    return;
  }
  if (fault?.type === 'http-error' && fault.afterCommit) {
    if (final) await state.finalizeSession(session);
    sendJson(res, fault.status, {
      error: { code: fault.status, message: fault.message ?? 'Backend Error', errors: [{ domain: 'global', reason: fault.reason ?? 'backendError', message: fault.message ?? 'Backend Error' }] },
    });
    return;
  }
  if (final) await finish(ctx, session);
  else resumeIncomplete(ctx, session.committed);
}

/**
 * Streams up to `limit` body bytes into `file` at `position`, skipping the
 * first `skip` (already committed) bytes — so a replay never overwrites what
 * is stored. Stops after `dropAfter` bytes when a dropped connection is being
 * played out. Never holds more than one network read in memory.
 */
async function receiveInto(
  req: RequestContext['req'],
  file: string,
  position: number,
  skip: number,
  limit: number,
  dropAfter: number | undefined,
): Promise<{ bytes: number; aborted: boolean; overflow: boolean }> {
  const out = fs.createWriteStream(file, { flags: 'r+', start: position });
  // A write error surfaces through finished() below; until then it must not go unhandled.
  out.on('error', () => undefined);
  let bytes = 0;
  let aborted = false;
  let overflow = false;
  try {
    for await (const part of req) {
      let buf = part as Buffer;
      let stop = false;
      if (dropAfter !== undefined && bytes + buf.length >= dropAfter) {
        buf = buf.subarray(0, dropAfter - bytes);
        stop = true;
      }
      if (bytes + buf.length > limit) {
        buf = buf.subarray(0, limit - bytes);
        overflow = true;
        stop = true;
      }
      const alreadyStored = Math.max(0, Math.min(buf.length, skip - bytes));
      const fresh = buf.subarray(alreadyStored);
      bytes += buf.length;
      // Backpressure rather than a round trip per network read: the disk keeps up with loopback.
      if (fresh.length && !out.write(fresh)) await once(out, 'drain');
      if (stop) break;
    }
  } catch {
    aborted = true;
  }
  out.end();
  await finished(out);
  return { bytes, aborted, overflow };
}

/** `DELETE {session URI}`: cancels the upload (499, as Google answers a cancel); unknown or finished sessions 404. */
export async function handleSessionDelete(ctx: RequestContext): Promise<void> {
  const found = sessionOf(ctx);
  await drain(ctx.req);
  if (!found) {
    DriveErrors.sessionNotFound(ctx.res);
    return;
  }
  await ctx.state.withSessionLock(found.id, async () => {
    const session = ctx.state.session(found.id)!;
    if (session.state !== 'active') {
      DriveErrors.sessionNotFound(ctx.res);
      return;
    }
    ctx.state.endSession(session, 'cancelled');
    ctx.res.writeHead(499, { 'Content-Length': '0' }).end();
  });
}
