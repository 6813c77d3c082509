import { describe, expect, it } from 'vitest';
import { loginBody, registerBody } from '../../src/auth/validation';

describe('registerBody', () => {
  it('normalises the email and keeps the password as typed', () => {
    expect(registerBody.parse({ email: '  Bob@Example.ORG ', password: ' padded pass ' })).toEqual({ email: 'bob@example.org', password: ' padded pass ' });
  });

  it('refuses unknown fields such as role', () => {
    const result = registerBody.safeParse({ email: 'a@b.co', password: '0123456789', role: 'admin' });
    expect(result.success).toBe(false);
  });

  it('enforces the password policy bounds', () => {
    expect(registerBody.safeParse({ email: 'a@b.co', password: '123456789' }).success).toBe(false);
    expect(registerBody.safeParse({ email: 'a@b.co', password: '1234567890' }).success).toBe(true);
    expect(registerBody.safeParse({ email: 'a@b.co', password: 'x'.repeat(257) }).success).toBe(false);
  });
});

describe('loginBody', () => {
  it('accepts email or the OAuth2 form field username', () => {
    expect(loginBody.parse({ email: 'A@B.co', password: 'p' })).toEqual({ email: 'a@b.co', password: 'p' });
    expect(loginBody.parse({ username: 'A@B.co', password: 'p' })).toEqual({ email: 'a@b.co', password: 'p' });
    expect(loginBody.safeParse({ password: 'p' }).success).toBe(false);
  });
});
