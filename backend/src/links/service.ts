import { hashPassword, verifyPassword } from '../auth/passwords';
import type { Clock } from '../core/clock';
import { sha256Hex } from '../core/crypto';
import { AppError, NotFoundError, TooManyRequestsError, UnauthorizedError } from '../core/errors';
import { newSecret } from '../core/ids';
import type { Logger } from '../core/logger';
import type { UrlSigner } from '../downloads/signed-urls';
import { type FileService, requireComplete, type Viewer } from '../files/service';
import type { FileRecord, LinkRecord, MetadataStore, Page } from '../store/types';
import type { LinkPasswordThrottle } from './throttle';

/** How long an unlock key (POST …/unlock) lets plain GETs through: a film's length, never past the link's own expiry. */
export const UNLOCK_TTL_MS = 60 * 60 * 1000;
const UNLOCK_PURPOSE = 'link-unlock';

/** Link tokens are `newSecret()` (32 bytes, base64url); anything else cannot be one. */
const TOKEN = /^[A-Za-z0-9_-]{20,128}$/;

export interface LinkView {
  id: string;
  fileId: string;
  expiresAt: string;
  createdAt: string;
  revokedAt: string | null;
  passwordRequired: boolean;
  state: 'active' | 'expired' | 'revoked';
}

export interface PublicLinkView {
  name: string;
  size: number;
  mimeType: string;
  expiresAt: string;
  passwordRequired: boolean;
}

/** What a request to a protected link brings: the password (X-Link-Password) or an unlock key (?key=). */
export interface LinkCredentials {
  password?: string;
  key?: string;
}

export interface LinkServiceDeps {
  store: MetadataStore;
  files: FileService;
  clock: Clock;
  logger: Logger;
  signer: UrlSigner;
  throttle: LinkPasswordThrottle;
  publicUrl: string;
}

const linkNotFound = () => new NotFoundError('No such link', 'link_not_found');

/**
 * Share links (ARCHITECTURE.md, "Files and downloads"): a random token shown
 * once (only its SHA-256 is stored), an expiry, an optional argon2-hashed
 * password. A link is only as alive as its file: once the file is deleted
 * every link to it answers 404.
 */
export class LinkService {
  constructor(private readonly deps: LinkServiceDeps) {}

  async create(
    viewer: Viewer,
    fileId: string,
    input: { expiresInSeconds: number; password?: string | undefined },
    ip: string | null,
  ): Promise<{ id: string; token: string; url: string; expiresAt: string }> {
    const file = requireComplete(await this.deps.files.visible(viewer, fileId));
    const token = newSecret();
    const expiresAt = new Date(this.deps.clock.now().getTime() + input.expiresInSeconds * 1000);
    const link = await this.deps.store.links.create({
      fileId: file.id,
      createdBy: viewer.id,
      tokenHash: sha256Hex(token),
      passwordHash: input.password === undefined ? null : await hashPassword(input.password),
      expiresAt,
    });
    await this.audit(viewer.id, 'link.created', link.id, ip, { fileId: file.id, expiresAt: expiresAt.toISOString(), passwordProtected: link.passwordHash !== null });
    // The share page (`/s/<token>`): it shows the file, asks for the password if any, and downloads.
    return { id: link.id, token, url: `${this.deps.publicUrl}/s/${token}`, expiresAt: expiresAt.toISOString() };
  }

  async list(viewer: Viewer, fileId: string): Promise<Page<LinkView>> {
    const file = await this.deps.files.visible(viewer, fileId);
    const links = await this.deps.store.links.listByFile(file.id);
    return { items: links.map((l) => this.view(l)), total: links.length };
  }

  /** Revokes one of the file's links; revoking a revoked link again is fine. */
  async revoke(viewer: Viewer, fileId: string, linkId: string, ip: string | null): Promise<void> {
    const file = await this.deps.files.visible(viewer, fileId);
    const link = (await this.deps.store.links.listByFile(file.id)).find((l) => l.id === linkId);
    if (!link) throw linkNotFound();
    if (await this.deps.store.links.revoke(link.id, this.deps.clock.now())) {
      await this.audit(viewer.id, 'link.revoked', link.id, ip, { fileId: file.id });
    }
  }

  /** The live link behind a token and its file: 404 unknown (or file gone), 410 revoked or expired. */
  async resolve(token: string): Promise<{ link: LinkRecord; file: FileRecord }> {
    if (!TOKEN.test(token)) throw linkNotFound();
    const link = await this.deps.store.links.findByTokenHash(sha256Hex(token));
    if (!link) throw linkNotFound();
    const file = await this.deps.store.files.findById(link.fileId);
    if (!file || file.deletedAt !== null || file.state !== 'complete') throw linkNotFound();
    if (link.revokedAt !== null) throw new AppError(410, 'link_revoked', 'This link was revoked');
    if (link.expiresAt.getTime() <= this.deps.clock.now().getTime()) throw new AppError(410, 'link_expired', 'This link has expired');
    return { link, file };
  }

  publicView(link: LinkRecord, file: FileRecord): PublicLinkView {
    return { name: file.name, size: file.size, mimeType: file.mimeType, expiresAt: link.expiresAt.toISOString(), passwordRequired: link.passwordHash !== null };
  }

  /** Lets a request through to a password-protected link, or throws 401/429. */
  async authorize(link: LinkRecord, credentials: LinkCredentials): Promise<void> {
    if (link.passwordHash === null) return;
    if (credentials.key !== undefined && this.deps.signer.verify(UNLOCK_PURPOSE, link.id, credentials.key)) return;
    if (credentials.password === undefined) {
      throw new UnauthorizedError('password_required', 'This link needs a password (X-Link-Password, or POST …/unlock)');
    }
    await this.checkPassword(link, credentials.password);
  }

  /** Exchanges the password for a download URL with a signed key, for clients that cannot send headers. */
  async unlock(token: string, password: string): Promise<{ downloadUrl: string; expiresAt: string }> {
    const { link } = await this.resolve(token);
    if (link.passwordHash !== null) await this.checkPassword(link, password);
    const ttl = Math.min(UNLOCK_TTL_MS, link.expiresAt.getTime() - this.deps.clock.now().getTime());
    const signed = this.deps.signer.sign(UNLOCK_PURPOSE, link.id, ttl);
    return { downloadUrl: `/api/v1/links/${token}/download?key=${signed.value}`, expiresAt: signed.expiresAt.toISOString() };
  }

  private async checkPassword(link: LinkRecord, password: string): Promise<void> {
    const wait = this.deps.throttle.begin(link.id);
    if (wait > 0) throw new TooManyRequestsError(wait, 'Too many wrong passwords for this link; try again later');
    if (link.passwordHash === null || !(await verifyPassword(link.passwordHash, password))) {
      this.deps.logger.warn({ linkId: link.id }, 'wrong password for a share link');
      throw new UnauthorizedError('wrong_password', 'The password is wrong');
    }
    this.deps.throttle.succeeded(link.id);
  }

  private view(link: LinkRecord): LinkView {
    const now = this.deps.clock.now().getTime();
    return {
      id: link.id,
      fileId: link.fileId,
      expiresAt: link.expiresAt.toISOString(),
      createdAt: link.createdAt.toISOString(),
      revokedAt: link.revokedAt ? link.revokedAt.toISOString() : null,
      passwordRequired: link.passwordHash !== null,
      state: link.revokedAt !== null ? 'revoked' : link.expiresAt.getTime() <= now ? 'expired' : 'active',
    };
  }

  private async audit(actorId: string, action: string, linkId: string, ip: string | null, details: Record<string, unknown>): Promise<void> {
    await this.deps.store.audit.append({ actorId, action, targetType: 'link', targetId: linkId, ip, details });
  }
}
