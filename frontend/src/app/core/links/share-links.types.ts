/** Shapes of the share-link API (ARCHITECTURE.md, "Files and downloads"). */

/** One of a file's links, as its owner sees it (`GET /api/v1/files/<id>/links`). The token is never shown again. */
export interface ShareLink {
  id: string;
  fileId: string;
  expiresAt: string;
  createdAt: string;
  revokedAt: string | null;
  passwordRequired: boolean;
  state: 'active' | 'expired' | 'revoked';
}

/** `POST /api/v1/files/<id>/links` → 201: the only time the token (and so the URL) is shown. */
export interface CreatedLink {
  id: string;
  token: string;
  /** The share page, `<PUBLIC_URL>/s/<token>`. */
  url: string;
  expiresAt: string;
}

export interface NewLink {
  /** 60 s to a year. */
  expiresInSeconds: number;
  password?: string;
}

/** `GET /api/v1/links/<token>`: what anyone holding the link may know. */
export interface PublicLink {
  name: string;
  size: number;
  mimeType: string;
  expiresAt: string;
  passwordRequired: boolean;
}

/** `POST /api/v1/links/<token>/unlock` → a download URL with a signed key, valid for a while. */
export interface UnlockedLink {
  downloadUrl: string;
  expiresAt: string;
}
