import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { firstValueFrom } from 'rxjs';
import type { Page } from '../files/files.types';
import type {
  CreatedLink,
  NewLink,
  PublicLink,
  ShareLink,
  UnlockedLink,
} from './share-links.types';

const fileLinks = (fileId: string) => `/api/v1/files/${encodeURIComponent(fileId)}/links`;
const publicLink = (token: string) => `/api/v1/links/${encodeURIComponent(token)}`;

/**
 * Share links: the owner's side (create, list, revoke; bearer token) and the
 * recipient's side (metadata, unlock, download; no account). Errors are the
 * API's: 404 unknown, 410 expired or revoked, 401 wrong password, 429 throttled.
 */
@Injectable({ providedIn: 'root' })
export class ShareLinksService {
  private readonly http = inject(HttpClient);

  create(fileId: string, link: NewLink): Promise<CreatedLink> {
    return firstValueFrom(this.http.post<CreatedLink>(fileLinks(fileId), link));
  }

  async list(fileId: string): Promise<ShareLink[]> {
    const page = await firstValueFrom(this.http.get<Page<ShareLink>>(fileLinks(fileId)));
    return page.items;
  }

  async revoke(fileId: string, linkId: string): Promise<void> {
    await firstValueFrom(this.http.delete(`${fileLinks(fileId)}/${encodeURIComponent(linkId)}`));
  }

  info(token: string): Promise<PublicLink> {
    return firstValueFrom(this.http.get<PublicLink>(publicLink(token)));
  }

  unlock(token: string, password: string): Promise<UnlockedLink> {
    return firstValueFrom(
      this.http.post<UnlockedLink>(`${publicLink(token)}/unlock`, { password }),
    );
  }

  /** The plain download URL of a link without a password (a password link needs `unlock`). */
  downloadUrl(token: string): string {
    return `${publicLink(token)}/download`;
  }
}
