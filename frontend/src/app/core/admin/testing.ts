import type { StorageAccount } from './storage-accounts.types';

/** An account view as the admin API returns it (specs only). */
export function account(patch: Partial<StorageAccount> = {}): StorageAccount {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    provider: 'local',
    name: 'Local disk',
    enabled: true,
    draining: false,
    health: 'healthy',
    circuit: 'closed',
    quota: { limit: 100 * 1024 ** 3, used: 10 * 1024 ** 3, reserved: 1024 ** 3 },
    uploadedLast24h: 2 * 1024 ** 3,
    dailyCap: null,
    lastCheckAt: '2026-03-01T10:00:00.000Z',
    lastError: null,
    details: { path: '/var/lib/directdrivex/storage' },
    createdAt: '2026-03-01T09:00:00.000Z',
    ...patch,
  };
}
