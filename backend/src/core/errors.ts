/**
 * Typed application errors. Services throw these; `http/error-handler.ts` is the
 * only place that turns them into HTTP responses
 * (`{"error":{"code","message"}}`). Anything that is not an AppError is an
 * internal error: logged with its stack, answered with a generic 500.
 */
export interface FieldIssue {
  field: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { issues?: FieldIssue[]; retryAfterSeconds?: number },
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super(400, 'validation_failed', message, { issues });
  }
}

export class BadRequestError extends AppError {
  constructor(code: string, message: string) {
    super(400, code, message);
  }
}

export class UnauthorizedError extends AppError {
  constructor(code = 'unauthorized', message = 'Authentication is required') {
    super(401, code, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(code = 'forbidden', message = 'You are not allowed to do this') {
    super(403, code, message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found', code = 'not_found') {
    super(404, code, message);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string) {
    super(409, code, message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(code = 'payload_too_large', message = 'The request body is too large') {
    super(413, code, message);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(retryAfterSeconds: number, message = 'Too many attempts; try again later') {
    super(429, 'too_many_attempts', message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(code: string, message: string, retryAfterSeconds?: number) {
    super(503, code, message, retryAfterSeconds === undefined ? undefined : { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
  }
}

/** No pool member can take the bytes (507, RFC 4918). */
export class InsufficientStorageError extends AppError {
  constructor(message = 'No storage account has room for this file right now') {
    super(507, 'insufficient_storage', message);
  }
}

/** A pool member or other upstream failed in a way the client cannot fix (502). */
export class BadGatewayError extends AppError {
  constructor(code: string, message: string) {
    super(502, code, message);
  }
}
