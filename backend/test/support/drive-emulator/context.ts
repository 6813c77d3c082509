import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Fault, RequestKind } from './faults';
import type { DriveState } from './state';

/** How the emulator treats a non-final chunk whose length is not a multiple of 256 KiB. */
export type UnalignedChunkPolicy =
  /** 400, as the brief for this emulator asks; the strictest reading of Google's documentation. */
  | 'reject'
  /**
   * What Drive has been observed to do: a chunk under 256 KiB gets 400, a longer one is
   * accepted and only its 256 KiB-aligned prefix committed (308 with the shorter Range).
   */
  | 'commit-aligned-prefix';

export const CHUNK_UNIT = 256 * 1024;

/** One request on its way through a handler. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  kind: RequestKind;
  /** Origin the client used (or the configured public URL), for absolute session URIs. */
  baseUrl: string;
  state: DriveState;
  unalignedChunks: UnalignedChunkPolicy;
  /** A fault the handler itself must act out (dropped connections, lost acknowledgements). */
  fault?: Fault;
  /** Small bodies (JSON metadata, forms) already read by the router. */
  body?: Buffer;
}
