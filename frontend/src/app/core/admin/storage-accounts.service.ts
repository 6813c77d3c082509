import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { firstValueFrom } from 'rxjs';
import type { AccountPatch, NewAccount, StorageAccount } from './storage-accounts.types';

const API = '/api/v1/admin/accounts';

/** The pool's storage accounts (admin only). Errors are the API's; show them with `apiErrorMessage`. */
@Injectable({ providedIn: 'root' })
export class StorageAccountsService {
  private readonly http = inject(HttpClient);

  async list(): Promise<StorageAccount[]> {
    const page = await firstValueFrom(
      this.http.get<{ items: StorageAccount[]; total: number }>(API),
    );
    return page.items;
  }

  add(account: NewAccount): Promise<StorageAccount> {
    return firstValueFrom(this.http.post<StorageAccount>(API, account));
  }

  update(id: string, patch: AccountPatch): Promise<StorageAccount> {
    return firstValueFrom(
      this.http.patch<StorageAccount>(`${API}/${encodeURIComponent(id)}`, patch),
    );
  }

  /** Refused with 409 `account_in_use` while files live on it, unless `force`. */
  async remove(id: string, force = false): Promise<void> {
    await firstValueFrom(
      this.http.delete(`${API}/${encodeURIComponent(id)}`, {
        params: force ? { force: 'true' } : {},
      }),
    );
  }

  check(id: string): Promise<StorageAccount> {
    return firstValueFrom(
      this.http.post<StorageAccount>(`${API}/${encodeURIComponent(id)}/check`, {}),
    );
  }

  /** Where to send the browser to let Google ask for consent; 404 `google_connect_disabled` without an OAuth client. */
  async connectGoogle(name: string): Promise<string> {
    const res = await firstValueFrom(
      this.http.post<{ authorizationUrl: string }>(`${API}/google/connect`, { name }),
    );
    return res.authorizationUrl;
  }
}
