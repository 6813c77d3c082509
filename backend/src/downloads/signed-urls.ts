import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock';

/**
 * Short-lived signed URL parameters, for clients that cannot send headers:
 * `<a href download>`, `<video src>`, `<img src>`. A value is
 * `<expiry seconds>.<HMAC-SHA256>` over a purpose, a subject (what it grants
 * access to) and the expiry; the key is derived from JWT_SECRET, so every
 * replica can check what any other signed and nothing needs storing.
 */
export class UrlSigner {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly clock: Clock,
  ) {
    // A key of its own: a signed URL can never double as (or be forged from) an access token.
    this.key = createHmac('sha256', secret).update('directdrivex signed urls v1').digest();
  }

  sign(purpose: string, subject: string, ttlMs: number): { value: string; expiresAt: Date } {
    const expires = Math.floor((this.clock.now().getTime() + ttlMs) / 1000);
    return { value: `${expires}.${this.mac(purpose, subject, expires)}`, expiresAt: new Date(expires * 1000) };
  }

  /** True while `value` was signed for this purpose and subject and has not expired. */
  verify(purpose: string, subject: string, value: string): boolean {
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!match) return false;
    const expires = Number(match[1]);
    if (expires * 1000 <= this.clock.now().getTime()) return false;
    const expected = Buffer.from(this.mac(purpose, subject, expires));
    const given = Buffer.from(match[2] ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(purpose: string, subject: string, expires: number): string {
    // Newline-separated: none of the parts (purposes, UUIDs, digits) can contain one.
    return createHmac('sha256', this.key).update(`${purpose}\n${subject}\n${expires}`).digest('base64url');
  }
}
