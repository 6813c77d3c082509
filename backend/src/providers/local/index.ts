import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Health } from '../../store/types';
import {
  OffsetMismatchError,
  PermanentError,
  ProviderError,
  ProviderNotFoundError,
  QuotaExceededError,
  TransientError,
} from '../errors';
import type { ByteRange, ProviderCapabilities, QuotaReport, StorageProvider, UploadHandle, UploadState, UploadTarget } from '../types';

interface LocalHandle {
  v: 1;
  uploadId: string;
  remoteId: string;
  size: number;
}

/** Marks a directory as a DirectDriveX member's (see `present`). */
const MARKER = '.directdrivex-member';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A directory on the gateway's own disk: the embedded default pool member.
 * Uploads grow `uploads/<uploadId>.part` (fsync'd after every chunk, so the
 * committed offset is simply the file's size) and are renamed into
 * `objects/<remoteId>` when complete. Ids are UUIDs we generate, checked on
 * every call, so no caller-supplied string ever becomes a path.
 *
 * Chunks of one upload are serialised in this process; across processes each
 * chunk is written at its offset, so a duplicate write stores the same bytes.
 */
export class LocalDiskProvider implements StorageProvider {
  readonly kind = 'local' as const;
  readonly capabilities: ProviderCapabilities = { chunkMultiple: 1, rangeReads: true, reportsQuota: true };
  private readonly locks = new Map<string, Promise<unknown>>();

  /**
   * `initialise`: this member is being set up (an account being added), so
   * the directory may be created. A member already in the pool never creates
   * its directory: a missing one is a disk that is not mounted, and files
   * written into the bare mount point would vanish under it when it is.
   */
  constructor(
    private readonly root: string,
    private readonly options: { initialise?: boolean } = {},
  ) {}

  private get markerPath() {
    return path.join(this.root, MARKER);
  }

  /**
   * Resolves when the storage directory is there (its marker file says it is
   * ours); creates it only while initialising. A directory from before the
   * marker existed (it has `objects/`) is adopted.
   */
  private async present(): Promise<void> {
    if (await exists(this.markerPath)) return;
    if (this.options.initialise || (await exists(this.objectsDir))) {
      await io(async () => {
        await fsp.mkdir(this.root, { recursive: true });
        await fsp.writeFile(this.markerPath, 'A DirectDriveX storage member. Do not delete this file.\n');
      });
      return;
    }
    throw new TransientError(`The storage directory ${this.root} is missing or not ours (no ${MARKER}): is its disk mounted?`);
  }

  private get uploadsDir() {
    return path.join(this.root, 'uploads');
  }
  private get objectsDir() {
    return path.join(this.root, 'objects');
  }
  private partPath(uploadId: string) {
    return path.join(this.uploadsDir, `${uploadId}.part`);
  }
  private objectPath(remoteId: string) {
    if (!UUID.test(remoteId)) throw new ProviderNotFoundError(`No object ${JSON.stringify(remoteId)}`);
    return path.join(this.objectsDir, remoteId);
  }

  async startUpload(target: UploadTarget): Promise<UploadHandle> {
    if (!Number.isSafeInteger(target.size) || target.size < 0) throw new PermanentError(`Invalid size ${target.size}`);
    const handle: LocalHandle = { v: 1, uploadId: randomUUID(), remoteId: randomUUID(), size: target.size };
    await this.present();
    await io(async () => {
      await fsp.mkdir(this.uploadsDir, { recursive: true });
      await fsp.mkdir(this.objectsDir, { recursive: true });
      await fsp.writeFile(this.partPath(handle.uploadId), Buffer.alloc(0), { flag: 'wx' });
    });
    return JSON.stringify(handle);
  }

  async writeChunk(raw: UploadHandle, offset: number, chunk: Buffer): Promise<{ committed: number; remoteId?: string }> {
    const handle = parseHandle(raw);
    return this.serialised(handle.uploadId, async () => {
      await this.present();
      const state = await this.queryParsed(handle);
      if (state.state === 'done') {
        if (offset === handle.size && chunk.length === 0) return { committed: handle.size, remoteId: state.remoteId };
        throw new OffsetMismatchError(handle.size, offset);
      }
      if (state.state === 'expired') throw new ProviderNotFoundError('The upload session no longer exists');
      if (offset !== state.committed) throw new OffsetMismatchError(state.committed, offset);
      if (offset + chunk.length > handle.size) {
        throw new PermanentError(`Chunk ends at byte ${offset + chunk.length}, past the declared size ${handle.size}`);
      }
      const part = this.partPath(handle.uploadId);
      await io(async () => {
        // At the offset, not appended: two processes that both saw `offset` (a client that reconnected
        // to another replica mid-write) then write the same bytes to the same place.
        const fh = await fsp.open(part, 'r+');
        try {
          await fh.write(chunk, 0, chunk.length, offset);
          await fh.sync();
        } finally {
          await fh.close();
        }
      });
      const committed = offset + chunk.length;
      if (committed < handle.size) return { committed };
      await io(() => fsp.rename(part, this.objectPath(handle.remoteId)));
      return { committed, remoteId: handle.remoteId };
    });
  }

  async queryUpload(raw: UploadHandle): Promise<UploadState> {
    const handle = parseHandle(raw);
    await this.present();
    return this.queryParsed(handle);
  }

  async abortUpload(raw: UploadHandle): Promise<void> {
    const handle = parseHandle(raw);
    await this.serialised(handle.uploadId, () => io(() => fsp.rm(this.partPath(handle.uploadId), { force: true })));
  }

  async read(remoteId: string, range?: ByteRange): Promise<{ stream: fs.ReadStream; size: number }> {
    const file = this.objectPath(remoteId);
    // A missing directory is an outage (try the backup, try again later), not a missing file.
    await this.present();
    const stat = await io(() => fsp.stat(file), `No object ${remoteId}`);
    if (range && (range.start < 0 || range.end < range.start || range.end >= stat.size)) {
      throw new PermanentError(`Range ${range.start}-${range.end} is outside 0-${stat.size - 1}`);
    }
    // Opened before returning, so a missing file fails here and not later in the stream.
    const fh = await io(() => fsp.open(file, 'r'), `No object ${remoteId}`);
    const stream = fh.createReadStream(range ? { start: range.start, end: range.end } : {});
    return { stream, size: stat.size };
  }

  async remove(remoteId: string): Promise<void> {
    const file = this.objectPath(remoteId);
    // Not "already gone" while the disk is away: the delete is retried once it is back.
    await this.present();
    await io(() => fsp.rm(file, { force: true }));
  }

  async quota(): Promise<QuotaReport> {
    await this.present();
    const stats = await io(() => fsp.statfs(this.root));
    return { limit: stats.blocks * stats.bsize, used: (stats.blocks - stats.bavail) * stats.bsize };
  }

  async check(): Promise<Health> {
    const probe = path.join(this.root, `.probe-${randomUUID()}`);
    try {
      await this.present();
      await fsp.writeFile(probe, 'ok');
      await fsp.rm(probe);
      return 'healthy';
    } catch {
      return 'down';
    }
  }

  private async queryParsed(handle: LocalHandle): Promise<UploadState> {
    if (await exists(this.objectPath(handle.remoteId))) return { state: 'done', remoteId: handle.remoteId };
    try {
      const stat = await fsp.stat(this.partPath(handle.uploadId));
      return { state: 'in_progress', committed: stat.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'expired' };
      throw mapFsError(err);
    }
  }

  /** Runs `work` after every earlier operation on the same upload has finished. */
  private async serialised<T>(uploadId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(uploadId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(uploadId, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(uploadId) === next) this.locks.delete(uploadId);
    }
  }
}

function parseHandle(raw: UploadHandle): LocalHandle {
  try {
    const h = JSON.parse(raw) as Partial<LocalHandle>;
    if (h.v === 1 && typeof h.uploadId === 'string' && UUID.test(h.uploadId) && typeof h.remoteId === 'string' && UUID.test(h.remoteId) && Number.isSafeInteger(h.size)) {
      return h as LocalHandle;
    }
  } catch {
    // fall through
  }
  throw new PermanentError('Not an upload handle of the local provider');
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Runs a filesystem call, translating errno codes into provider errors. */
async function io<T>(work: () => Promise<T>, notFoundMessage?: string): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw mapFsError(err, notFoundMessage);
  }
}

function mapFsError(err: unknown, notFoundMessage = 'Not found'): ProviderError {
  if (err instanceof ProviderError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ENOENT':
      return new ProviderNotFoundError(notFoundMessage, { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
      return new QuotaExceededError(`Disk full: ${message}`, { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ENAMETOOLONG':
    case 'EEXIST':
      return new PermanentError(`Cannot write to the storage directory: ${message}`, { cause: err });
    default:
      return new TransientError(message, { cause: err });
  }
}
