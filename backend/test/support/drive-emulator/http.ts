import type { IncomingMessage, ServerResponse } from 'node:http';

/** Drive's error envelope: `{"error":{"code","message","errors":[{domain,reason,message}]}}`. */
export interface GoogleErrorOptions {
  domain?: string;
  status?: string;
  location?: string;
  locationType?: string;
  headers?: Record<string, string>;
}

export function googleErrorBody(code: number, reason: string, message: string, options: GoogleErrorOptions = {}) {
  const item: Record<string, string> = { domain: options.domain ?? 'global', reason, message };
  if (options.location !== undefined) item.location = options.location;
  if (options.locationType !== undefined) item.locationType = options.locationType;
  const error: Record<string, unknown> = { code, message, errors: [item] };
  if (options.status !== undefined) error.status = options.status;
  return { error };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function sendGoogleError(res: ServerResponse, code: number, reason: string, message: string, options: GoogleErrorOptions = {}): void {
  sendJson(res, code, googleErrorBody(code, reason, message, options), options.headers);
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** Canned Drive errors, worded as Drive words them. */
export const DriveErrors = {
  notFound(res: ServerResponse, id: string): void {
    sendGoogleError(res, 404, 'notFound', `File not found: ${id}.`, { location: 'fileId', locationType: 'parameter' });
  },
  sessionNotFound(res: ServerResponse): void {
    sendGoogleError(res, 404, 'notFound', 'The upload session was not found; it expired or was cancelled.');
  },
  storageQuota(res: ServerResponse): void {
    sendGoogleError(res, 403, 'storageQuotaExceeded', "The user's Drive storage quota has been exceeded.", { domain: 'usageLimits' });
  },
  badRequest(res: ServerResponse, message: string, reason = 'badRequest'): void {
    sendGoogleError(res, 400, reason, message);
  },
  loginRequired(res: ServerResponse): void {
    sendGoogleError(
      res,
      401,
      'required',
      'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      { location: 'Authorization', locationType: 'header', status: 'UNAUTHENTICATED', headers: { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/"' } },
    );
  },
  invalidCredentials(res: ServerResponse): void {
    sendGoogleError(
      res,
      401,
      'authError',
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      {
        location: 'Authorization',
        locationType: 'header',
        status: 'UNAUTHENTICATED',
        headers: { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      },
    );
  },
};

/** Reads a small request body (JSON metadata, forms) whole; refuses more than `limit` bytes. */
export async function readSmallBody(req: IncomingMessage, limit = 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const part of req) {
    const buf = part as Buffer;
    length += buf.length;
    if (length > limit) throw new Error(`Request body larger than ${limit} bytes`);
    parts.push(buf);
  }
  return Buffer.concat(parts);
}

/** Reads and discards whatever is left of a request body, so the reply is not cut short. */
export async function drain(req: IncomingMessage): Promise<void> {
  try {
    for await (const _ of req) {
      // discarded
    }
  } catch {
    // the client went away; nothing to drain
  }
}

/** A form (token endpoint) or JSON body as flat string fields. */
export function parseFields(body: Buffer, contentType: string | undefined): Record<string, string> {
  const text = body.toString('utf8');
  if ((contentType ?? '').includes('application/json')) {
    const parsed: unknown = JSON.parse(text);
    const out: Record<string, string> = {};
    if (parsed && typeof parsed === 'object') {
      for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
    }
    return out;
  }
  return Object.fromEntries(new URLSearchParams(text));
}

export type ContentRange =
  /** A status query, `bytes *\/TOTAL` or `bytes *\/*` (total null when `*`). */
  | { type: 'status'; total: number | null }
  /** `bytes a-b/TOTAL` or `bytes a-b/*`. */
  | { type: 'data'; start: number; end: number; total: number | null };

/** Parses a `Content-Range` request header; undefined when malformed. */
export function parseContentRange(header: string): ContentRange | undefined {
  const m = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(header.trim());
  if (!m) return undefined;
  const total = m[3] === '*' || m[3] === undefined ? null : Number(m[3]);
  if (total !== null && !Number.isSafeInteger(total)) return undefined;
  if (m[1] === undefined || m[2] === undefined) return { type: 'status', total };
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  return { type: 'data', start, end, total };
}

/** A single `Range: bytes=…` request against `size` bytes: the inclusive span, 'unsatisfiable', or undefined to ignore it. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
