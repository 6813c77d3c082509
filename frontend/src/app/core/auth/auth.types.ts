/** Shapes of the auth API (ARCHITECTURE.md, "External API contract"). */
export type Role = 'user' | 'admin';

export interface User {
  id: string;
  email: string;
  role: Role;
  storageUsed: number;
  storageQuota: number;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export interface ApiErrorBody {
  error: { code: string; message: string };
}
