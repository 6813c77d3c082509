import fsp from 'node:fs/promises';
import type { RequestContext } from './context';
import { DriveErrors, googleErrorBody, parseRange, sendGoogleError, sendJson } from './http';
import { compileQuery, type FieldMask, parseFieldMask, project, QueryError } from './query';
import { defaultFileFields, ensureChecksums, FOLDER_MIME, fileResource, type StoredFile } from './state';

/** Drive's largest upload, reported by `about.maxUploadSize`. */
const MAX_UPLOAD_SIZE = 5 * 1024 ** 4;

/** Resolves the bearer token to an account, or answers 401 as Drive does and returns undefined. */
export function requireAccount(ctx: RequestContext): string | undefined {
  const auth = ctx.state.authenticate(ctx.req.headers.authorization);
  if (auth.ok) return auth.accountId;
  if (auth.problem === 'missing') DriveErrors.loginRequired(ctx.res);
  else DriveErrors.invalidCredentials(ctx.res);
  return undefined;
}

/** Parses `fields`, answering 400 when it is malformed. `null`: already answered. */
function fieldMask(ctx: RequestContext): FieldMask | undefined | null {
  const fields = ctx.url.searchParams.get('fields');
  if (fields === null) return undefined;
  try {
    return parseFieldMask(fields);
  } catch (err) {
    sendGoogleError(ctx.res, 400, 'invalidParameter', `Invalid field selection ${fields}: ${(err as Error).message}`, {
      location: 'fields',
      locationType: 'parameter',
    });
    return null;
  }
}

/** `GET /drive/v3/about`: requires `fields`, like Drive. */
export function handleAbout(ctx: RequestContext): void {
  const accountId = requireAccount(ctx);
  if (accountId === undefined) return;
  if (!ctx.url.searchParams.get('fields')) {
    const message = "The 'fields' parameter is required for this method.";
    sendGoogleError(ctx.res, 400, 'required', message, { location: 'fields', locationType: 'parameter' });
    return;
  }
  const mask = fieldMask(ctx);
  if (mask === null) return;
  const account = ctx.state.account(accountId)!;
  const usage = ctx.state.usage(accountId);
  const storageQuota: Record<string, string> = {
    usage: String(usage.usage),
    usageInDrive: String(usage.usageInDrive),
    usageInDriveTrash: '0',
  };
  // Drive leaves `limit` out for unlimited storage.
  if (usage.limit !== null) storageQuota.limit = String(usage.limit);
  const about = {
    kind: 'drive#about',
    user: { kind: 'drive#user', displayName: account.displayName, emailAddress: account.email, me: true, permissionId: account.id },
    storageQuota,
    maxUploadSize: String(MAX_UPLOAD_SIZE),
    appInstalled: true,
  };
  sendJson(ctx.res, 200, project(about, mask));
}

/** `GET /drive/v3/files`: `q`, `orderBy`, `pageSize`, `pageToken`, `fields`. */
export async function handleList(ctx: RequestContext): Promise<void> {
  const accountId = requireAccount(ctx);
  if (accountId === undefined) return;
  const params = ctx.url.searchParams;
  const mask = fieldMask(ctx);
  if (mask === null) return;
  let files = ctx.state.files(accountId);
  const q = params.get('q');
  if (q) {
    try {
      const predicate = compileQuery(q, (id) => ctx.state.resolveId(accountId, id));
      files = files.filter(predicate);
    } catch (err) {
      if (!(err instanceof QueryError)) throw err;
      sendGoogleError(ctx.res, 400, 'invalid', 'Invalid Value', { location: 'q', locationType: 'parameter' });
      return;
    }
  }
  const orderBy = params.get('orderBy');
  if (orderBy) files = sortFiles(files, orderBy);
  const pageSize = Math.min(Math.max(Number(params.get('pageSize') ?? 100) || 100, 1), 1000);
  const offset = Number(Buffer.from(params.get('pageToken') ?? '', 'base64url').toString() || '0') || 0;
  const page = files.slice(offset, offset + pageSize);
  if (wantsChecksums(ctx)) for (const f of page) await ensureChecksums(ctx.state, f);
  const list: Record<string, unknown> = {
    kind: 'drive#fileList',
    incompleteSearch: false,
    files: page.map((f) => (mask ? fileResource(f) : defaultFileFields(f))),
  };
  if (offset + pageSize < files.length) list.nextPageToken = Buffer.from(String(offset + pageSize)).toString('base64url');
  sendJson(ctx.res, 200, project(list, mask));
}

function sortFiles(files: StoredFile[], orderBy: string): StoredFile[] {
  const keys = orderBy.split(',').map((part) => {
    const [field = '', direction] = part.trim().split(/\s+/);
    return { field, desc: direction === 'desc' };
  });
  const value = (f: StoredFile, field: string): string => {
    if (field === 'name' || field === 'name_natural') return f.name;
    if (field === 'modifiedTime') return f.modifiedTime;
    if (field === 'folder') return f.mimeType === FOLDER_MIME ? '0' : '1';
    return f.createdTime;
  };
  // Stable: equal keys keep creation order.
  return files
    .map((f, i) => ({ f, i }))
    .sort((a, b) => {
      for (const key of keys) {
        const va = value(a.f, key.field);
        const vb = value(b.f, key.field);
        if (va !== vb) return (va < vb ? -1 : 1) * (key.desc ? -1 : 1);
      }
      return a.i - b.i;
    })
    .map(({ f }) => f);
}

interface CreateMetadata {
  name?: unknown;
  mimeType?: unknown;
  parents?: unknown;
}

/** Validates upload or create metadata; answers 400/404 and returns undefined when it is wrong. */
export function readMetadata(ctx: RequestContext, accountId: string): { name: string; mimeType?: string; parents: string[] } | undefined {
  let meta: CreateMetadata = {};
  const text = (ctx.body ?? Buffer.alloc(0)).toString('utf8').trim();
  if (text !== '') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      meta = parsed as CreateMetadata;
    } catch {
      sendGoogleError(ctx.res, 400, 'parseError', 'Parse Error');
      return undefined;
    }
  }
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : 'Untitled';
  if (meta.parents !== undefined && (!Array.isArray(meta.parents) || meta.parents.some((p) => typeof p !== 'string'))) {
    sendGoogleError(ctx.res, 400, 'invalid', 'Invalid Value', { location: 'parents', locationType: 'other' });
    return undefined;
  }
  const parents = (meta.parents as string[] | undefined) ?? [];
  for (const parent of parents) {
    if (!ctx.state.isFolder(accountId, parent)) {
      DriveErrors.notFound(ctx.res, parent);
      return undefined;
    }
  }
  const out: { name: string; mimeType?: string; parents: string[] } = { name, parents };
  if (typeof meta.mimeType === 'string' && meta.mimeType !== '') out.mimeType = meta.mimeType;
  return out;
}

/** `POST /drive/v3/files`: metadata-only create (folders, or empty files). */
export async function handleCreate(ctx: RequestContext): Promise<void> {
  const accountId = requireAccount(ctx);
  if (accountId === undefined) return;
  const mask = fieldMask(ctx);
  if (mask === null) return;
  const meta = readMetadata(ctx, accountId);
  if (!meta) return;
  let file: StoredFile;
  if (meta.mimeType === FOLDER_MIME) {
    file = ctx.state.createFolder(accountId, meta.name, meta.parents);
  } else {
    // A metadata-only create of a regular file makes an empty file: an upload session of zero bytes.
    const session = await ctx.state.createSession({ accountId, name: meta.name, mimeType: meta.mimeType ?? 'application/octet-stream', parents: meta.parents, declaredSize: 0 });
    const result = await ctx.state.finalizeSession(session);
    if (result === 'quota') {
      DriveErrors.storageQuota(ctx.res);
      return;
    }
    file = result;
  }
  sendJson(ctx.res, 200, mask ? project(fileResource(file), mask) : defaultFileFields(file));
}

/** `GET /drive/v3/files/{id}` (metadata) and `?alt=media` (content, honouring a single Range). */
export async function handleGet(ctx: RequestContext, fileId: string): Promise<void> {
  const accountId = requireAccount(ctx);
  if (accountId === undefined) return;
  const file = ctx.state.file(fileId, accountId);
  if (!file) {
    DriveErrors.notFound(ctx.res, fileId);
    return;
  }
  if (ctx.kind === 'metadata') {
    const mask = fieldMask(ctx);
    if (mask === null) return;
    if (wantsChecksums(ctx)) await ensureChecksums(ctx.state, file);
    sendJson(ctx.res, 200, mask ? project(fileResource(file), mask) : defaultFileFields(file));
    return;
  }
  if (file.mimeType === FOLDER_MIME) {
    sendGoogleError(ctx.res, 403, 'fileNotDownloadable', 'Only files with binary content can be downloaded. Use Export with Docs Editors files.', {
      location: 'alt',
      locationType: 'parameter',
    });
    return;
  }
  await sendMedia(ctx, file);
}

async function sendMedia(ctx: RequestContext, file: StoredFile): Promise<void> {
  const { res } = ctx;
  const range = parseRange(ctx.req.headers.range, file.size);
  if (range === 'unsatisfiable') {
    const body = JSON.stringify(googleErrorBody(416, 'requestedRangeNotSatisfiable', 'Request range not satisfiable'));
    res.writeHead(416, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Range': `bytes */${file.size}`, 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
    return;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? file.size - 1;
  const length = Math.max(0, end - start + 1);
  const headers: Record<string, string> = { 'Content-Type': file.mimeType, 'Content-Length': String(length) };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${file.size}`;
  // Opened before the status line goes out, so a vanished file is still a clean error.
  const handle = await fsp.open(ctx.state.filePath(file.id), 'r');
  res.writeHead(range ? 206 : 200, headers);
  const dropAfter = ctx.fault?.type === 'drop-connection' ? (ctx.fault.afterBytes ?? 0) : undefined;
  if (length === 0) {
    await handle.close();
    if (dropAfter !== undefined) res.socket?.destroy();
    else res.end();
    return;
  }
  const stream = handle.createReadStream({ start, end, autoClose: false });
  let sent = 0;
  try {
    for await (const part of stream) {
      let buf = part as Buffer;
      if (dropAfter !== undefined && sent + buf.length >= dropAfter) {
        buf = buf.subarray(0, dropAfter - sent);
        if (buf.length) await write(res, buf);
        // Flushed bytes reach the client before the reset.
        await new Promise((resolve) => setImmediate(resolve));
        res.socket?.destroy();
        return;
      }
      sent += buf.length;
      await write(res, buf);
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    stream.destroy();
    await handle.close();
  }
}

function write(res: RequestContext['res'], buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => res.write(buf, (err) => (err ? reject(err) : resolve())));
}

/** `DELETE /drive/v3/files/{id}`: permanent, 204; folders take their contents with them. */
export async function handleDelete(ctx: RequestContext, fileId: string): Promise<void> {
  const accountId = requireAccount(ctx);
  if (accountId === undefined) return;
  if (!ctx.state.file(fileId, accountId)) {
    DriveErrors.notFound(ctx.res, fileId);
    return;
  }
  await ctx.state.deleteFile(fileId);
  ctx.res.writeHead(204).end();
}

/** Whether the `fields` parameter asks for checksums (computed on demand, see ensureChecksums). */
function wantsChecksums(ctx: RequestContext): boolean {
  return /md5Checksum|sha256Checksum|\*/.test(new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('fields') ?? '');
}
