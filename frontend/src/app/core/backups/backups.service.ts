import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { firstValueFrom } from 'rxjs';
import type { BackupState, Page } from '../files/files.types';
import type { BackupItem, BackupSummary } from './backups.types';

const API = '/api/v1/admin/backups';

/**
 * The backup copies of every file (admin only). Retry and run-missing answer
 * 409 `backup_not_configured` while no backup target is set; show errors with `apiErrorMessage`.
 */
@Injectable({ providedIn: 'root' })
export class BackupsService {
  private readonly http = inject(HttpClient);

  summary(): Promise<BackupSummary> {
    return firstValueFrom(this.http.get<BackupSummary>(`${API}/summary`));
  }

  list(query: {
    status: BackupState | null;
    page: number;
    limit: number;
  }): Promise<Page<BackupItem>> {
    return firstValueFrom(
      this.http.get<Page<BackupItem>>(API, {
        params: {
          page: query.page,
          limit: query.limit,
          ...(query.status ? { status: query.status } : {}),
        },
      }),
    );
  }

  /** Backs one file up again with a fresh set of attempts; returns its new state. */
  retry(fileId: string): Promise<BackupItem> {
    return firstValueFrom(
      this.http.post<BackupItem>(`${API}/${encodeURIComponent(fileId)}/retry`, {}),
    );
  }

  /** Queues every complete file without a good copy; returns how many. */
  runMissing(): Promise<{ queued: number }> {
    return firstValueFrom(this.http.post<{ queued: number }>(`${API}/run-missing`, {}));
  }
}
