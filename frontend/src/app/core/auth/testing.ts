import type { TokenPair, User } from './auth.types';

export const USER: User = { id: 'u1', email: 'a@example.com', role: 'user', storageUsed: 0, storageQuota: 10 * 1024 ** 3 };

export function pair(n: number): TokenPair {
  return { access_token: `access-${n}`, refresh_token: `refresh-${n}`, token_type: 'bearer', expires_in: 900 };
}
