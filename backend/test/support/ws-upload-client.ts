import WebSocket from 'ws';

/**
 * A client of the `/ws_api/upload/<fileId>` protocol, written from the
 * contract in ARCHITECTURE.md the way a browser or script would: wait for
 * `ready`, send chunk-size binary frames from its offset, keep at most a couple
 * of chunks buffered in the socket, finish on `complete`. Used by integration
 * tests and by the upload benchmark.
 */
export type ServerMessage =
  | { type: 'ready'; offset: number }
  | { type: 'progress'; committed: number; received: number }
  | { type: 'complete'; file: Record<string, unknown> & { id: string; sha256: string | null; size: number; state: string } }
  | { type: 'cancelled'; file: Record<string, unknown> }
  | { type: 'error'; code: string; message: string; retryable: boolean };

export interface AttemptOptions {
  /** e.g. ws://127.0.0.1:1234 */
  wsBase: string;
  fileId: string;
  token: string;
  size: number;
  chunkSize: number;
  /** Bytes [offset, offset+length) of the file. */
  readChunk: (offset: number, length: number) => Promise<Buffer> | Buffer;
  /** Drop the connection (without a close frame) once the server says this many more bytes are committed in this attempt. */
  dropAfterBytes?: number;
  /** Send `{"type":"cancel"}` after this many bytes were sent in this attempt. */
  cancelAfterBytes?: number;
  onMessage?: (message: ServerMessage) => void;
  /** How many chunks may sit unsent in the socket's buffer. */
  window?: number;
  /**
   * Frames with an all-zero masking key, which ws neither applies nor undoes:
   * the benchmark's client then costs little CPU on the machine it shares with
   * the gateway. RFC 6455 wants unpredictable keys from browsers; tests keep the default.
   */
  zeroMask?: boolean;
}

export type AttemptResult =
  | { outcome: 'complete'; file: Extract<ServerMessage, { type: 'complete' }>['file']; readyOffset: number; messages: ServerMessage[] }
  | { outcome: 'cancelled'; readyOffset: number; messages: ServerMessage[] }
  | { outcome: 'error'; code: string; message: string; retryable: boolean; readyOffset: number | null; messages: ServerMessage[] }
  | { outcome: 'dropped'; readyOffset: number | null; messages: ServerMessage[]; closeCode?: number };

/** One connection: runs until complete, error, cancel or drop. */
export function uploadAttempt(options: AttemptOptions): Promise<AttemptResult> {
  const window = options.window ?? 2;
  return new Promise((resolve) => {
    const ws = new WebSocket(`${options.wsBase}/ws_api/upload/${options.fileId}?token=${encodeURIComponent(options.token)}`, {
      perMessageDeflate: false,
      ...(options.zeroMask ? { generateMask: (mask: Buffer) => void mask.fill(0) } : {}),
    });
    const messages: ServerMessage[] = [];
    let readyOffset: number | null = null;
    let settled = false;
    let sentThisAttempt = 0;
    let next = 0;
    let sending = false;
    let cancelSent = false;
    let errorMessage: Extract<ServerMessage, { type: 'error' }> | null = null;
    const settle = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };

    const pump = async () => {
      if (sending || readyOffset === null) return;
      sending = true;
      try {
        while (next < options.size && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < window * options.chunkSize) {
          if (options.cancelAfterBytes !== undefined && sentThisAttempt >= options.cancelAfterBytes) {
            if (!cancelSent) ws.send(JSON.stringify({ type: 'cancel' }));
            cancelSent = true;
            return;
          }
          const length = Math.min(options.chunkSize, options.size - next);
          const bytes = await options.readChunk(next, length);
          next += length;
          sentThisAttempt += length;
          ws.send(bytes, { binary: true }, () => void pump());
        }
      } finally {
        sending = false;
      }
    };

    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(data.toString()) as ServerMessage;
      messages.push(message);
      options.onMessage?.(message);
      switch (message.type) {
        case 'ready':
          readyOffset = message.offset;
          next = message.offset;
          void pump();
          break;
        case 'progress':
          if (options.dropAfterBytes !== undefined && readyOffset !== null && message.committed - readyOffset >= options.dropAfterBytes) {
            ws.terminate();
            break;
          }
          void pump();
          break;
        case 'complete':
          settle({ outcome: 'complete', file: message.file, readyOffset: readyOffset ?? 0, messages });
          break;
        case 'cancelled':
          settle({ outcome: 'cancelled', readyOffset: readyOffset ?? 0, messages });
          break;
        case 'error':
          errorMessage = message;
          break;
      }
    });
    ws.on('close', (code) => {
      if (errorMessage) {
        settle({ outcome: 'error', code: errorMessage.code, message: errorMessage.message, retryable: errorMessage.retryable, readyOffset, messages });
      }
      settle({ outcome: 'dropped', readyOffset, messages, closeCode: code });
    });
    ws.on('error', () => {
      // 'close' follows and settles.
    });
  });
}

export interface ResumableOptions extends Omit<AttemptOptions, 'dropAfterBytes' | 'cancelAfterBytes'> {
  maxAttempts?: number;
  /** Per attempt (0-based): drop that attempt's connection after so many bytes. */
  dropPlan?: Array<number | undefined>;
  /** Called between attempts (e.g. to restart the gateway). */
  beforeReconnect?: (attempt: number, last: AttemptResult) => Promise<void> | void;
  delayMs?: number;
}

/** Uploads with reconnects, as a robust client would: retryable errors and dropped sockets resume from `ready`. */
export async function uploadWithResume(options: ResumableOptions): Promise<{ final: AttemptResult; attempts: AttemptResult[] }> {
  const attempts: AttemptResult[] = [];
  const max = options.maxAttempts ?? 10;
  for (let i = 0; i < max; i++) {
    const drop = options.dropPlan?.[i];
    const result = await uploadAttempt({ ...options, ...(drop !== undefined ? { dropAfterBytes: drop } : {}) });
    attempts.push(result);
    if (result.outcome === 'complete' || result.outcome === 'cancelled') return { final: result, attempts };
    if (result.outcome === 'error' && !result.retryable) return { final: result, attempts };
    await options.beforeReconnect?.(i, result);
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
  }
  return { final: attempts[attempts.length - 1]!, attempts };
}

/** `readChunk` over an in-memory buffer (tests). */
export const fromBuffer = (data: Buffer) => (offset: number, length: number) => data.subarray(offset, offset + length);
