import { z } from 'zod';
import { seal, unseal } from '../core/crypto';
import type { Provider } from '../store/types';

/**
 * What each kind of pool member needs to connect, validated at the API edge
 * and sealed with MASTER_KEY before it reaches the store (core/crypto.ts).
 * Nothing here is ever returned by an API; `publicDetails` picks the parts an
 * admin may see (never a password, secret or token).
 */
export const gdriveCredentials = z.object({
  clientId: z.string().trim().min(1).max(512),
  clientSecret: z.string().trim().min(1).max(512),
  refreshToken: z.string().trim().min(1).max(4096),
});

export const webdavCredentials = z.object({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048),
  username: z.string().max(512).default(''),
  password: z.string().max(4096).default(''),
  /** Remote folder every object of this member lives under. */
  root: z
    .string()
    .max(1024)
    .default('/directdrivex')
    .refine((r) => !r.split('/').includes('..'), 'must not contain ..'),
});

export const localCredentials = z.object({
  path: z.string().trim().min(1).max(4096),
});

export type GdriveCredentials = z.output<typeof gdriveCredentials>;
export type WebdavCredentials = z.output<typeof webdavCredentials>;
export type LocalCredentials = z.output<typeof localCredentials>;

export type AccountCredentials =
  | { provider: 'gdrive'; credentials: GdriveCredentials }
  | { provider: 'webdav'; credentials: WebdavCredentials }
  | { provider: 'local'; credentials: LocalCredentials };

const SCHEMAS = { gdrive: gdriveCredentials, webdav: webdavCredentials, local: localCredentials } as const;

export function sealCredentials(value: AccountCredentials, key: Buffer): string {
  return seal(JSON.stringify(value.credentials), key);
}

/** Opens sealed credentials; throws when the key is wrong or the record was tampered with. */
export function openCredentials(provider: Provider, sealed: string, key: Buffer): AccountCredentials {
  const raw: unknown = JSON.parse(unseal(sealed, key));
  switch (provider) {
    case 'gdrive':
      return { provider, credentials: SCHEMAS.gdrive.parse(raw) };
    case 'webdav':
      return { provider, credentials: SCHEMAS.webdav.parse(raw) };
    case 'local':
      return { provider, credentials: SCHEMAS.local.parse(raw) };
  }
}

/** The non-secret connection details an admin view may show. */
export function publicDetails(value: AccountCredentials): Record<string, string> {
  switch (value.provider) {
    case 'gdrive':
      return { clientId: value.credentials.clientId };
    case 'webdav':
      return { url: value.credentials.url, username: value.credentials.username, root: value.credentials.root };
    case 'local':
      return { path: value.credentials.path };
  }
}
