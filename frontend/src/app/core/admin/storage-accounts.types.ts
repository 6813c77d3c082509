/** Shapes of the admin accounts API (ARCHITECTURE.md, "Admin"). */
export type Provider = 'gdrive' | 'webdav' | 'local';
export type Health = 'unknown' | 'healthy' | 'degraded' | 'down';
export type Circuit = 'closed' | 'open' | 'half_open';

export interface StorageAccount {
  id: string;
  provider: Provider;
  name: string;
  enabled: boolean;
  draining: boolean;
  health: Health;
  circuit: Circuit;
  /** Bytes; `limit` is null when the member reports no limit. */
  quota: { limit: number | null; used: number; reserved: number };
  uploadedLast24h: number;
  /** Bytes per 24 h; null means no cap. */
  dailyCap: number | null;
  lastCheckAt: string | null;
  lastError: string | null;
  /** Non-secret connection details: clientId | url, username, root | path. */
  details: Record<string, string>;
  createdAt: string;
}

interface NewAccountBase {
  name: string;
  dailyCap?: number | null;
}

export type NewAccount =
  | (NewAccountBase & {
      provider: 'gdrive';
      clientId: string;
      clientSecret: string;
      refreshToken: string;
    })
  | (NewAccountBase & {
      provider: 'webdav';
      url: string;
      username: string;
      password: string;
      root?: string;
    })
  | (NewAccountBase & { provider: 'local'; path: string });

export interface AccountPatch {
  name?: string;
  enabled?: boolean;
  draining?: boolean;
  dailyCap?: number | null;
}
