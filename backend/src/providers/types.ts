import type { Readable } from 'node:stream';
import type { Health, Provider } from '../store/types';

/** What is being uploaded. */
export interface UploadTarget {
  name: string;
  size: number;
  mimeType: string;
}

/**
 * An upload in progress, as the provider needs it to continue — persisted in the
 * file record (`uploadSession`) so an upload survives a gateway restart. Opaque
 * to everyone but the provider that made it.
 */
export type UploadHandle = string;

export type UploadState =
  | { state: 'in_progress'; committed: number }
  | { state: 'done'; remoteId: string }
  /** The session is gone (Drive sessions expire after a week): start over from byte 0. */
  | { state: 'expired' };

export interface ByteRange {
  /** Inclusive first byte. */
  start: number;
  /** Inclusive last byte. */
  end: number;
}

export interface ProviderCapabilities {
  /**
   * Every chunk but the last must be a multiple of this many bytes (Drive:
   * 256 KiB). Our 4 MiB WebSocket chunks satisfy every provider.
   */
  chunkMultiple: number;
  /** Whether `read` honours a byte range natively (without reading the skipped bytes). */
  rangeReads: boolean;
  /** Whether `quota` reports a limit (WebDAV servers often report nothing). */
  reportsQuota: boolean;
}

export interface QuotaReport {
  /** Null when the member reports no limit. */
  limit: number | null;
  used: number;
}

/**
 * One kind of pool member (Google Drive account, WebDAV server, local disk).
 * Every method either does what it says or throws a `ProviderError`
 * (providers/errors.ts). The conformance suite in
 * test/contract/provider.contract.ts holds every adapter to this.
 */
export interface StorageProvider {
  readonly kind: Provider;
  readonly capabilities: ProviderCapabilities;

  /** Opens a resumable upload of `target.size` bytes. */
  startUpload(target: UploadTarget): Promise<UploadHandle>;

  /**
   * Appends `chunk` at `offset`. Returns how many bytes are durably committed
   * afterwards — possibly fewer than offered (Drive may keep only a prefix); the
   * caller continues from the returned offset — and the remote id once the last
   * byte is in. Throws `OffsetMismatchError` when `offset` is not the committed offset.
   */
  writeChunk(handle: UploadHandle, offset: number, chunk: Buffer): Promise<{ committed: number; remoteId?: string }>;

  /** Where an upload stands (after a dropped connection or a restart). */
  queryUpload(handle: UploadHandle): Promise<UploadState>;

  /** Abandons an upload and frees what it held. Idempotent. */
  abortUpload(handle: UploadHandle): Promise<void>;

  /** Streams a stored object, or the inclusive `range` of it. */
  read(remoteId: string, range?: ByteRange): Promise<{ stream: Readable; size: number }>;

  /** Deletes a stored object. Idempotent: a missing object is not an error. */
  remove(remoteId: string): Promise<void>;

  quota(): Promise<QuotaReport>;

  /** A cheap end-to-end probe used by the health monitor. */
  check(): Promise<Health>;
}
