import { JOB, type JobQueue } from '../backup/queue/types';
import type { Clock } from '../core/clock';
import { AppError, ConflictError, NotFoundError } from '../core/errors';
import type { Logger } from '../core/logger';
import { type FileRecord, type FileSort, IN_FLIGHT_STATES, type MetadataStore, type Page, type Role } from '../store/types';
import { type FileView, toFileView } from './view';

/** Who is asking: files are visible to their owner and to admins. */
export interface Viewer {
  id: string;
  role: Role;
}

const FILE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The same answer for "no such file" and "not yours": nobody learns which ids exist. */
export const fileNotFound = () => new NotFoundError('No such file', 'file_not_found');

export interface FileServiceDeps {
  store: MetadataStore;
  queue: JobQueue;
  clock: Clock;
  logger: Logger;
}

/**
 * The user's files: listing, looking one up for someone, deleting. Deletion
 * only marks the record and releases the owner's storage; removing the bytes
 * (primary and backup) is the delete job's work (delete-job.ts), dispatched
 * through the queue and re-dispatched by the reconciler until no copy is left.
 */
export class FileService {
  constructor(private readonly deps: FileServiceDeps) {}

  async list(viewer: Viewer, query: { q?: string; page: number; limit: number; sort: FileSort }): Promise<Page<FileView>> {
    const page = await this.deps.store.files.listByOwner({
      ownerId: viewer.id,
      offset: (query.page - 1) * query.limit,
      limit: query.limit,
      sort: query.sort,
      ...(query.q ? { q: query.q } : {}),
    });
    return { items: page.items.map(toFileView), total: page.total };
  }

  /** A file the viewer may see: not deleted, and theirs (or they are an admin). Anything else is 404. */
  async visible(viewer: Viewer, fileId: string): Promise<FileRecord> {
    if (!FILE_ID.test(fileId)) throw fileNotFound();
    const file = await this.deps.store.files.findById(fileId);
    if (!file || file.deletedAt !== null || (file.ownerId !== viewer.id && viewer.role !== 'admin')) throw fileNotFound();
    return file;
  }

  /** A visible file whose bytes can be served: its upload is complete. */
  async servable(viewer: Viewer, fileId: string): Promise<FileRecord> {
    return requireComplete(await this.visible(viewer, fileId));
  }

  /**
   * Marks the file deleted (never served again, links included), gives the
   * owner back its storage, records who did it, and enqueues removal of both
   * copies. A queue that cannot be reached does not fail the delete: the
   * reconciler re-enqueues every deleted file that still has copies.
   */
  async delete(viewer: Viewer, fileId: string, ip: string | null): Promise<void> {
    const file = await this.visible(viewer, fileId);
    if (IN_FLIGHT_STATES.includes(file.state)) {
      throw new ConflictError('upload_in_progress', 'This upload is not finished; cancel it instead');
    }
    const { store } = this.deps;
    const deleted = await store.files.markDeleted(file.id, this.deps.clock.now());
    // Someone else deleted it a moment ago.
    if (!deleted) throw fileNotFound();
    // Only a complete file still counts against its owner; unfinished ones gave their reservation back when they ended.
    if (deleted.state === 'complete') await store.users.releaseStorage(deleted.ownerId, deleted.size);
    await store.audit.append({
      actorId: viewer.id,
      action: 'file.deleted',
      targetType: 'file',
      targetId: file.id,
      ip,
      details: { ownerId: deleted.ownerId, name: deleted.name, size: deleted.size },
    });
    this.deps.logger.info({ fileId: file.id, ownerId: deleted.ownerId, by: viewer.id }, 'file deleted');
    await this.deps.queue.enqueue(JOB.deleteFile, { fileId: file.id }).catch((err: unknown) => {
      this.deps.logger.warn({ fileId: file.id, err }, 'could not enqueue the removal of a deleted file; the reconciler will');
    });
  }
}

export function requireComplete(file: FileRecord): FileRecord {
  if (file.state !== 'complete') throw new AppError(409, 'file_not_ready', 'This file has not finished uploading');
  return file;
}
