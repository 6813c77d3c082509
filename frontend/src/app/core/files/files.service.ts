import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { firstValueFrom } from 'rxjs';
import type { DownloadTicket, FileQuery, Page, StoredFile } from './files.types';

const FILES = '/api/v1/files';

/** The signed-in user's files. Errors are the API's; show them with `apiErrorMessage`. */
@Injectable({ providedIn: 'root' })
export class FilesService {
  private readonly http = inject(HttpClient);

  list(query: FileQuery): Promise<Page<StoredFile>> {
    const q = query.q.trim();
    return firstValueFrom(
      this.http.get<Page<StoredFile>>(FILES, {
        params: {
          page: query.page,
          limit: query.limit,
          sort: query.sort,
          ...(q ? { q } : {}),
        },
      }),
    );
  }

  /** 204; the file is gone for good (its copies are removed in the background). */
  async remove(id: string): Promise<void> {
    await firstValueFrom(this.http.delete(`${FILES}/${encodeURIComponent(id)}`));
  }

  /**
   * Cancels an unfinished upload of the user's (`DELETE /api/v1/upload/<id>`,
   * bearer token): its reserved space is given back and the file reads
   * `cancelled`. 410 when it already ended, 409 when it completed meanwhile.
   */
  async cancelUpload(id: string): Promise<StoredFile> {
    const { file } = await firstValueFrom(
      this.http.delete<{ file: StoredFile }>(`/api/v1/upload/${encodeURIComponent(id)}`),
    );
    return file;
  }

  /**
   * A short-lived URL for the file's bytes that a plain `<a href>` or a new tab
   * can open (they cannot send the bearer token). `inline` asks for the preview
   * stream, which renders only safe types and sends everything else as an attachment.
   */
  ticket(
    fileId: string,
    disposition: 'attachment' | 'inline' = 'attachment',
  ): Promise<DownloadTicket> {
    return firstValueFrom(
      this.http.post<DownloadTicket>('/api/v1/download/tickets', {
        fileId,
        ...(disposition === 'inline' ? { disposition } : {}),
      }),
    );
  }
}
