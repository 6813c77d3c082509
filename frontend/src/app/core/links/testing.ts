import type { ShareLink } from './share-links.types';

/** A link as the owner's list shows it (specs only). */
export function shareLink(patch: Partial<ShareLink> = {}): ShareLink {
  return {
    id: 'l1',
    fileId: '0b6f3c1e-1111-4111-8111-111111111111',
    expiresAt: '2026-03-08T10:00:00.000Z',
    createdAt: '2026-03-01T10:00:00.000Z',
    revokedAt: null,
    passwordRequired: false,
    state: 'active',
    ...patch,
  };
}

/** A token of the right shape (43 base64url characters). */
export const TOKEN = 'A'.repeat(21) + '_' + 'b'.repeat(21);
