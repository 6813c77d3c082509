import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seal, unseal } from '../../src/core/crypto';
import { redactUrl } from '../../src/core/logger';

describe('seal / unseal (AES-256-GCM)', () => {
  const key = randomBytes(32);

  it('round-trips and never produces the same ciphertext twice', () => {
    const a = seal('{"refreshToken":"1//secret"}', key);
    const b = seal('{"refreshToken":"1//secret"}', key);
    expect(a).not.toBe(b);
    expect(a).not.toContain('secret');
    expect(unseal(a, key)).toBe('{"refreshToken":"1//secret"}');
  });

  it('refuses a wrong key and tampered data', () => {
    const sealed = seal('hello', key);
    expect(() => unseal(sealed, randomBytes(32))).toThrow();
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0] = (ct[0] ?? 0) ^ 1;
    parts[3] = ct.toString('base64url');
    expect(() => unseal(parts.join('.'), key)).toThrow();
    expect(() => unseal('garbage', key)).toThrow('Not a sealed secret');
  });
});

describe('redactUrl', () => {
  it('masks credential query parameters and keeps the rest', () => {
    expect(redactUrl('/ws_api/upload/f1?token=abc&x=1')).toBe('/ws_api/upload/f1?token=[redacted]&x=1');
    expect(redactUrl('/cb?state=s&code=c')).toBe('/cb?state=[redacted]&code=[redacted]');
    expect(redactUrl('/plain/path')).toBe('/plain/path');
    expect(redactUrl('/api/v1/download/stream/f1?ticket=u.1.m')).toBe('/api/v1/download/stream/f1?ticket=[redacted]');
    expect(redactUrl('/api/v1/links/abcDEF_-1/download?key=1.m')).toBe('/api/v1/links/[redacted]/download?key=[redacted]');
    expect(redactUrl('/api/v1/links/abc')).toBe('/api/v1/links/[redacted]');
    expect(redactUrl('/s/abcDEF_-1?x=1')).toBe('/s/[redacted]?x=1');
    expect(redactUrl('/docs/s/page')).toBe('/docs/s/page');
  });
});
