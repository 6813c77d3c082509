import { HttpErrorResponse } from '@angular/common/http';
import type { ApiErrorBody } from '../auth/auth.types';

function isApiErrorBody(body: unknown): body is ApiErrorBody {
  const error = (body as { error?: unknown } | null)?.error as
    { code?: unknown; message?: unknown } | undefined;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

/** The `error.code` of an API error response, if there is one. */
export function apiErrorCode(err: unknown): string | undefined {
  return err instanceof HttpErrorResponse && isApiErrorBody(err.error)
    ? err.error.error.code
    : undefined;
}

/** Turns any failed request into one sentence a person can act on. */
export function apiErrorMessage(err: unknown): string {
  if (!(err instanceof HttpErrorResponse)) return 'Something went wrong. Please try again.';
  if (err.status === 429) {
    const seconds = Number(err.headers.get('Retry-After'));
    return Number.isFinite(seconds) && seconds > 0
      ? `Too many attempts — try again in ${seconds} seconds.`
      : 'Too many attempts — try again later.';
  }
  if (isApiErrorBody(err.error)) return err.error.error.message;
  if (err.status === 0) return 'Cannot reach the server. Check your connection and try again.';
  return `The server answered ${err.status}. Please try again.`;
}
