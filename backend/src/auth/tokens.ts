import jwt from 'jsonwebtoken';
import type { Clock } from '../core/clock';
import { digestsEqual, sha256Hex } from '../core/crypto';
import { newId, newSecret } from '../core/ids';
import type { RefreshTokenRecord, RefreshTokensRepo, Role } from '../store/types';

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;
export const JWT_ISSUER = 'directdrivex';
export const JWT_AUDIENCE = 'directdrivex-api';

export interface AccessClaims {
  sub: string;
  role: Role;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
}

/** Why a presented refresh token was refused; the service maps these to errors. */
export type RefreshCheck =
  | { ok: true; record: RefreshTokenRecord }
  | { ok: false; reason: 'malformed' | 'unknown' | 'expired' | 'revoked' | 'reused' };

/**
 * Access tokens are short-lived HS256 JWTs. Refresh tokens are opaque
 * `<id>.<secret>` strings: the id finds the record, the secret is compared to
 * its stored SHA-256 (the secret has 256 bits of entropy, so a fast hash is
 * enough), and rotation is a single atomic `markUsed`.
 */
export class TokenService {
  constructor(
    private readonly secret: string,
    private readonly refreshTokens: RefreshTokensRepo,
    private readonly clock: Clock,
  ) {}

  signAccess(claims: AccessClaims): string {
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    return jwt.sign({ role: claims.role, iat, exp: iat + ACCESS_TOKEN_TTL_SECONDS }, this.secret, {
      algorithm: 'HS256',
      subject: claims.sub,
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      jwtid: newId(),
    });
  }

  /** Starts a new family (login) or continues one (rotation). */
  async issuePair(userId: string, role: Role, familyId: string = newId()): Promise<TokenPair> {
    const id = newId();
    const secret = newSecret();
    const now = this.clock.now();
    await this.refreshTokens.create({
      id,
      familyId,
      userId,
      tokenHash: sha256Hex(secret),
      createdAt: now,
      expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_SECONDS * 1000),
    });
    return {
      access_token: this.signAccess({ sub: userId, role }),
      refresh_token: `${id}.${secret}`,
      token_type: 'bearer',
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
    };
  }

  /** Looks a presented refresh token up and checks it, without consuming it. */
  async inspect(token: string): Promise<RefreshCheck> {
    const [id, secret, ...extra] = token.split('.');
    if (!id || !secret || extra.length > 0) return { ok: false, reason: 'malformed' };
    const record = await this.refreshTokens.findById(id);
    if (!record || !digestsEqual(record.tokenHash, sha256Hex(secret))) return { ok: false, reason: 'unknown' };
    if (record.usedAt) return { ok: false, reason: 'reused' };
    if (record.revokedAt) return { ok: false, reason: 'revoked' };
    if (record.expiresAt.getTime() <= this.clock.now().getTime()) return { ok: false, reason: 'expired' };
    return { ok: true, record };
  }

  /** Atomic: true for exactly one of several concurrent rotations of the same token. */
  async consume(record: RefreshTokenRecord): Promise<boolean> {
    return this.refreshTokens.markUsed(record.id, this.clock.now());
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.refreshTokens.revokeFamily(familyId, this.clock.now());
  }

  async revokeAllForUser(userId: string): Promise<void> {
    await this.refreshTokens.revokeAllForUser(userId, this.clock.now());
  }
}
