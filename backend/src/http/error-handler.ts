import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, NotFoundError } from '../core/errors';

/** The contract's error body. */
export interface ErrorBody {
  error: { code: string; message: string; requestId?: string; issues?: Array<{ field: string; message: string }> };
}

/** Errors body-parser and other Express middleware raise, keyed by their `type`. */
const PARSER_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.parse.failed': { status: 400, code: 'malformed_json', message: 'The request body is not valid JSON' },
  'entity.too.large': { status: 413, code: 'payload_too_large', message: 'The request body is too large' },
  'encoding.unsupported': { status: 415, code: 'unsupported_encoding', message: 'Unsupported content encoding' },
  'charset.unsupported': { status: 415, code: 'unsupported_charset', message: 'Unsupported charset' },
  'request.aborted': { status: 400, code: 'request_aborted', message: 'The request was aborted' },
  'parameters.too.many': { status: 413, code: 'payload_too_large', message: 'Too many parameters' },
};

/** Unknown routes under /api answer 404 JSON, whether or not the caller is logged in. */
export const apiNotFound: RequestHandler = (req) => {
  throw new NotFoundError(`No route for ${req.method} ${req.baseUrl}${req.path}`, 'route_not_found');
};

/**
 * The single place errors become HTTP responses. AppErrors map to their own
 * status and code; parser errors to 4xx; anything else is a bug: logged with
 * its stack, answered with a bare 500 (no stack, no message leak).
 */
export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  const requestId = typeof req.id === 'string' ? req.id : undefined;
  let status = 500;
  let body: ErrorBody = { error: { code: 'internal_error', message: 'Something went wrong on our side', requestId } };

  if (err instanceof AppError) {
    status = err.status;
    body = { error: { code: err.code, message: err.message, requestId } };
    if (err.details?.issues?.length) body.error.issues = err.details.issues;
    if (err.details?.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.details.retryAfterSeconds));
  } else {
    const type = (err as { type?: unknown }).type;
    const known = typeof type === 'string' ? PARSER_ERRORS[type] : undefined;
    const given = (err as { status?: unknown; statusCode?: unknown; expose?: unknown }) ?? {};
    const clientStatus = Number(given.status ?? given.statusCode);
    if (known) {
      status = known.status;
      body = { error: { code: known.code, message: known.message, requestId } };
    } else if (clientStatus >= 400 && clientStatus < 500 && given.expose !== false) {
      // Other http-errors from Express and its parsers (bad gzip, malformed URL escapes, …) are the client's fault.
      status = clientStatus;
      body = { error: { code: 'bad_request', message: 'The request could not be understood', requestId } };
    } else {
      req.log.error({ err }, 'unhandled error');
    }
  }

  if (res.headersSent) {
    // Too late for a JSON error: cut the connection so the client sees a failure, not a truncated success.
    res.destroy();
    return;
  }
  res.status(status).json(body);
};
