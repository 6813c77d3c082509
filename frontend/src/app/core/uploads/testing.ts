import type { InitiatedUpload, UploadedFile } from './upload.types';

/**
 * A stand-in for the browser's WebSocket, driven by the test: `open()`,
 * `receive(message)`, `drop()`; it records what the client sends and keeps a
 * `bufferedAmount` that only `drain()` empties, like a slow network.
 */
export class FakeWebSocket {
  readyState = 0;
  bufferedAmount = 0;
  readonly sent: Array<string | Blob> = [];
  closedWith: number | null = null;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string | Blob): void {
    if (this.readyState !== 1) throw new Error('InvalidStateError: the socket is not open');
    this.sent.push(data);
    if (data instanceof Blob) this.bufferedAmount += data.size;
  }

  close(code = 1005): void {
    if (this.readyState >= 2) return;
    this.closedWith = code;
    this.readyState = 3;
  }

  /** The binary frames sent so far. */
  get frames(): Blob[] {
    return this.sent.filter((d): d is Blob => d instanceof Blob);
  }

  /** The text messages sent so far, parsed. */
  get texts(): unknown[] {
    return this.sent.filter((d): d is string => typeof d === 'string').map((t) => JSON.parse(t));
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  /** The server sends a JSON message (opening the socket first if needed). */
  receive(message: object): void {
    if (this.readyState === 0) this.open();
    this.onmessage?.({ data: JSON.stringify(message) } as MessageEvent);
  }

  /** The network takes everything buffered. */
  drain(): void {
    this.bufferedAmount = 0;
  }

  /** The connection ends (abnormally unless a code is given), as seen by the client. */
  drop(code = 1006): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onerror?.(new Event('error'));
    this.onclose?.({ code, reason: '', wasClean: code === 1000 } as CloseEvent);
  }
}

/** A socket factory for UploadService / UploadSession that keeps every socket it opened. */
export function fakeSockets(): { sockets: FakeWebSocket[]; open: (url: string) => WebSocket } {
  const sockets: FakeWebSocket[] = [];
  return {
    sockets,
    open: (url: string) => {
      const socket = new FakeWebSocket(url);
      sockets.push(socket);
      return socket as unknown as WebSocket;
    },
  };
}

export const CHUNK = 4 * 1024 * 1024;

export function initiated(fileId = 'f1', chunkSize = CHUNK): InitiatedUpload {
  return {
    fileId,
    uploadUrl: `/ws_api/upload/${fileId}`,
    uploadToken: `token-${fileId}`,
    chunkSize,
  };
}

export function uploadedFile(name: string, size: number, sha256 = 'ab'.repeat(32)): UploadedFile {
  return {
    id: 'f1',
    name,
    size,
    mimeType: 'application/octet-stream',
    sha256,
    state: 'complete',
    createdAt: '2026-01-01T00:00:00.000Z',
    backup: { state: 'disabled', attempts: 0, lastError: null, backedUpAt: null },
  };
}

/** A file whose byte i is i mod 251, so any slice can be checked by its offset. */
export function patternFile(size: number, name = 'data.bin'): File {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return new File([bytes], name, { type: 'application/octet-stream' });
}

/** The first byte of a sent frame, which for a `patternFile` gives away its offset (mod 251). */
export async function firstByte(blob: Blob): Promise<number> {
  return new Uint8Array(await blob.slice(0, 1).arrayBuffer())[0] ?? -1;
}
