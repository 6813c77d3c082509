import { AppError } from '../core/errors';

/**
 * An upload could not go on right now. `retryable` tells the client whether
 * reconnecting (WebSocket) or re-sending from the committed offset (HTTP) can
 * succeed; over WebSocket it becomes `{"type":"error","code","message","retryable"}`,
 * over HTTP the usual error body with `status`.
 */
export class UploadError extends AppError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly retryable: boolean,
    retryAfterSeconds?: number,
  ) {
    super(status, code, message, retryAfterSeconds === undefined ? undefined : { retryAfterSeconds });
  }
}

export const uploadGone = (state: string) =>
  new UploadError(410, `upload_${state}`, `This upload was ${state}; start a new one`, false);

export const notYourUpload = () => new UploadError(404, 'upload_not_found', 'No such upload', false);

export const upstreamUnavailable = (detail: string, retryAfterSeconds = 5) =>
  new UploadError(503, 'upstream_unavailable', `The storage account is not answering (${detail}); reconnect to resume`, true, retryAfterSeconds);

export const uploadRestarted = (why: string) =>
  new UploadError(409, 'upload_restarted', `${why}; the upload starts over: reconnect and send from byte 0`, true);

export const resync = (committed: number) =>
  new UploadError(409, 'offset_mismatch', `The storage account holds ${committed} bytes of this upload; resume from there`, true);
