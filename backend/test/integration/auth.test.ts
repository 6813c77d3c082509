import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, registerAndLogin, STRONG_PASSWORD, type TestApp } from '../support/app';

let t: TestApp;
beforeEach(() => {
  t = buildTestApp();
});
afterEach(async () => {
  await t.close();
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('auth lifecycle', () => {
  it('registers, logs in, reads me, refreshes with rotation, and logs out', async () => {
    const reg = await t.http.post('/api/v1/auth/register').send({ email: '  Alice@Example.COM ', password: STRONG_PASSWORD });
    expect(reg.status).toBe(201);
    expect(reg.body).toEqual({
      user: { id: expect.any(String), email: 'alice@example.com', role: 'user', storageUsed: 0, storageQuota: 10 * 1024 ** 3 },
    });
    expect(JSON.stringify(reg.body)).not.toContain('password');

    const login = await t.http.post('/api/v1/auth/token').send({ email: 'ALICE@example.com', password: STRONG_PASSWORD });
    expect(login.status).toBe(200);
    expect(login.headers['cache-control']).toBe('no-store');
    expect(login.body).toMatchObject({ token_type: 'bearer', expires_in: 900 });

    const me = await t.http.get('/api/v1/auth/users/me').set(bearer(login.body.access_token));
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ id: reg.body.user.id, email: 'alice@example.com', role: 'user', storageUsed: 0, storageQuota: 10 * 1024 ** 3 });

    const refreshed = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: login.body.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(login.body.refresh_token);
    expect((await t.http.get('/api/v1/auth/users/me').set(bearer(refreshed.body.access_token))).status).toBe(200);

    const out = await t.http.post('/api/v1/auth/logout').set(bearer(refreshed.body.access_token)).send({ refresh_token: refreshed.body.refresh_token });
    expect(out.status).toBe(204);
    const afterLogout = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: refreshed.body.refresh_token });
    expect(afterLogout.status).toBe(401);
    expect(afterLogout.body.error.code).toBe('invalid_refresh_token');
  });

  it('accepts an OAuth2-style form login with username and password', async () => {
    await t.http.post('/api/v1/auth/register').send({ email: 'form@example.com', password: STRONG_PASSWORD });
    const res = await t.http.post('/api/v1/auth/token').type('form').send({ username: 'form@example.com', password: STRONG_PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.access_token).toEqual(expect.any(String));
  });

  it('revokes the whole family when a rotated refresh token is reused', async () => {
    const { refresh_token: first } = await registerAndLogin(t, 'reuse@example.com');
    const second = (await t.http.post('/api/v1/auth/refresh').send({ refresh_token: first })).body.refresh_token as string;

    const reuse = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: first });
    expect(reuse.status).toBe(401);
    // The legitimate newest token dies with the family: the thief and the owner both have to log in again.
    const afterReuse = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: second });
    expect(afterReuse.status).toBe(401);
    const events = await t.store.audit.list({ offset: 0, limit: 20, action: 'auth.refresh_reuse' });
    expect(events.total).toBe(1);
  });

  it('lets only one of two concurrent refreshes with the same token succeed, and revokes the family', async () => {
    const { refresh_token } = await registerAndLogin(t, 'concurrent@example.com');
    const [a, b] = await Promise.all([
      t.http.post('/api/v1/auth/refresh').send({ refresh_token }),
      t.http.post('/api/v1/auth/refresh').send({ refresh_token }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 401]);
    const winner = a.status === 200 ? a : b;
    expect((await t.http.post('/api/v1/auth/refresh').send({ refresh_token: winner.body.refresh_token })).status).toBe(401);
  });

  it('kills the new token when the family is revoked while a rotation is in flight', async () => {
    const { refresh_token } = await registerAndLogin(t, 'inflight@example.com');
    const tokens = t.store.refreshTokens;
    const originalCreate = tokens.create.bind(tokens);
    // Simulate a reuse detection (or logout) landing after this rotation consumed the old token
    // but before it inserted the new one: the revocation cannot see the new token.
    tokens.create = async (record) => {
      await tokens.revokeFamily(record.familyId, new Date());
      return originalCreate(record);
    };
    const res = await t.http.post('/api/v1/auth/refresh').send({ refresh_token });
    tokens.create = originalCreate;
    expect(res.status).toBe(401);
    const family = (await tokens.findById(refresh_token.split('.')[0]!))!.familyId;
    const live = await t.store.refreshTokens.revokeFamily(family, new Date());
    expect(live).toBe(0); // nothing in the family was left alive
  });

  it('keeps other sessions alive when one logs out, and ends all sessions without a refresh token', async () => {
    const s1 = await registerAndLogin(t, 'multi@example.com');
    const s2 = (await t.http.post('/api/v1/auth/token').send({ email: 'multi@example.com', password: STRONG_PASSWORD })).body;
    await t.http.post('/api/v1/auth/logout').set(bearer(s1.access_token)).send({ refresh_token: s1.refresh_token });
    expect((await t.http.post('/api/v1/auth/refresh').send({ refresh_token: s2.refresh_token })).status).toBe(200);

    const s3 = (await t.http.post('/api/v1/auth/token').send({ email: 'multi@example.com', password: STRONG_PASSWORD })).body;
    await t.http.post('/api/v1/auth/logout').set(bearer(s3.access_token)).send({});
    expect((await t.http.post('/api/v1/auth/refresh').send({ refresh_token: s3.refresh_token })).status).toBe(401);
  });

  it("cannot log out another user's session", async () => {
    const alice = await registerAndLogin(t, 'a@example.com');
    const bob = await registerAndLogin(t, 'b@example.com');
    await t.http.post('/api/v1/auth/logout').set(bearer(alice.access_token)).send({ refresh_token: bob.refresh_token });
    expect((await t.http.post('/api/v1/auth/refresh').send({ refresh_token: bob.refresh_token })).status).toBe(200);
  });
});

describe('disabled users', () => {
  it('cannot log in, refresh, or use an access token issued before they were disabled', async () => {
    const s = await registerAndLogin(t, 'off@example.com');
    await t.store.users.update(s.userId, { disabled: true });

    const login = await t.http.post('/api/v1/auth/token').send({ email: 'off@example.com', password: STRONG_PASSWORD });
    expect(login.status).toBe(403);
    expect(login.body.error.code).toBe('account_disabled');

    const refresh = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: s.refresh_token });
    expect(refresh.status).toBe(403);
    expect(refresh.body.error.code).toBe('account_disabled');

    const me = await t.http.get('/api/v1/auth/users/me').set(bearer(s.access_token));
    expect(me.status).toBe(403);
    expect(me.body.error.code).toBe('account_disabled');
  });

  it('does not reveal that an account is disabled to someone with the wrong password', async () => {
    const s = await registerAndLogin(t, 'off2@example.com');
    await t.store.users.update(s.userId, { disabled: true });
    const res = await t.http.post('/api/v1/auth/token').send({ email: 'off2@example.com', password: 'wrong password!' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_credentials');
  });
});

describe('roles', () => {
  it('refuses a role (or any unknown field) at registration', async () => {
    const res = await t.http.post('/api/v1/auth/register').send({ email: 'sneaky@example.com', password: STRONG_PASSWORD, role: 'admin' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.message).toContain('role');
    expect(await t.store.users.findByEmail('sneaky@example.com')).toBeNull();
  });

  it('creates the first admin from ADMIN_EMAIL/ADMIN_PASSWORD once, and never again', async () => {
    expect(await t.app.auth.ensureFirstAdmin('Root@Example.com', 'admin password 1')).toBe('created');
    const login = await t.http.post('/api/v1/auth/token').send({ email: 'root@example.com', password: 'admin password 1' });
    const me = await t.http.get('/api/v1/auth/users/me').set(bearer(login.body.access_token));
    expect(me.body.role).toBe('admin');
    // A restart with another password must not reset the admin's password.
    expect(await t.app.auth.ensureFirstAdmin('root@example.com', 'another password 2')).toBe('exists');
    expect((await t.http.post('/api/v1/auth/token').send({ email: 'root@example.com', password: 'another password 2' })).status).toBe(401);
    expect(await t.store.users.countByRole('admin')).toBe(1);
  });

  it('promotes an existing user named by ADMIN_EMAIL only with ADMIN_PASSWORD, ending its sessions', async () => {
    // Registration is open, so whoever registered the address first may be a squatter.
    const squatter = await registerAndLogin(t, 'boss@example.com', 'squatter password');
    expect(await t.app.auth.ensureFirstAdmin('boss@example.com', 'operator password')).toBe('promoted');
    expect((await t.store.users.findByEmail('boss@example.com'))?.role).toBe('admin');
    expect((await t.http.post('/api/v1/auth/token').send({ email: 'boss@example.com', password: 'squatter password' })).status).toBe(401);
    expect((await t.http.post('/api/v1/auth/refresh').send({ refresh_token: squatter.refresh_token })).status).toBe(401);
    expect((await t.http.post('/api/v1/auth/token').send({ email: 'boss@example.com', password: 'operator password' })).status).toBe(200);
  });
});

describe('bad input', () => {
  const cases: Array<[string, unknown, string]> = [
    ['missing fields', {}, 'email'],
    ['missing password', { email: 'x@example.com' }, 'password'],
    ['wrong types', { email: 42, password: ['x'] }, 'email'],
    ['invalid email', { email: 'not-an-email', password: STRONG_PASSWORD }, 'email'],
    ['short password', { email: 'short@example.com', password: 'short' }, 'at least 10'],
    ['whitespace password', { email: 'ws@example.com', password: '            ' }, 'whitespace'],
    ['overlong password', { email: 'long@example.com', password: 'x'.repeat(300) }, 'at most 256'],
    ['a JSON array', [1, 2], 'body'],
  ];
  it.each(cases)('register with %s → 400 validation_failed', async (_name, body, mentions) => {
    const res = await t.http.post('/api/v1/auth/register').send(body as object);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(JSON.stringify(res.body.error)).toContain(mentions);
  });

  it('refuses a duplicate email with 409, whatever its case', async () => {
    await t.http.post('/api/v1/auth/register').send({ email: 'dup@example.com', password: STRONG_PASSWORD });
    const res = await t.http.post('/api/v1/auth/register').send({ email: 'DUP@example.com', password: STRONG_PASSWORD });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('email_taken');
  });

  it('answers malformed JSON with 400 malformed_json and no stack trace', async () => {
    const res = await t.http.post('/api/v1/auth/token').set('Content-Type', 'application/json').send('{"email": ');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('malformed_json');
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.js|SyntaxError/);
  });

  it('answers a body that claims gzip but is not with a 4xx, not a 500', async () => {
    const res = await t.http
      .post('/api/v1/auth/token')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('{"email":"a@b.co","password":"x"}');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.error.code).toEqual(expect.any(String));
  });

  it('answers a malformed URL escape with 400, not a 500', async () => {
    const res = await t.http.get('/api/v1/auth/%E0%A4%A');
    expect(res.status).toBeLessThan(500);
  });

  it('answers a huge body with 413 payload_too_large', async () => {
    const res = await t.http.post('/api/v1/auth/register').send({ email: 'big@example.com', password: 'x'.repeat(200_000) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('answers login with missing or wrongly typed fields with 400, and a wrong password with 401', async () => {
    expect((await t.http.post('/api/v1/auth/token').send({ email: 'x@example.com' })).body.error.code).toBe('validation_failed');
    expect((await t.http.post('/api/v1/auth/token').send({ email: 1, password: 2 })).status).toBe(400);
    const wrong = await t.http.post('/api/v1/auth/token').send({ email: 'nobody@example.com', password: 'whatever123' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
  });

  it('refuses missing, malformed and forged access tokens with 401', async () => {
    expect((await t.http.get('/api/v1/auth/users/me')).body.error.code).toBe('unauthorized');
    expect((await t.http.get('/api/v1/auth/users/me').set(bearer('nonsense'))).body.error.code).toBe('invalid_token');
    const { access_token } = await registerAndLogin(t, 'forge@example.com');
    const [h, p] = access_token.split('.');
    const forged = `${h}.${p}.${'A'.repeat(43)}`;
    const res = await t.http.get('/api/v1/auth/users/me').set(bearer(forged));
    expect(res.status).toBe(401);
  });

  it('refuses a refresh with a missing or malformed token', async () => {
    expect((await t.http.post('/api/v1/auth/refresh').send({})).status).toBe(400);
    expect((await t.http.post('/api/v1/auth/refresh').send({ refresh_token: 'garbage' })).status).toBe(401);
    expect((await t.http.post('/api/v1/auth/refresh').send({ refresh_token: 'a.b.c' })).status).toBe(401);
  });
});

describe('HTTP basics', () => {
  it('answers unknown /api routes with 404 JSON, logged in or not', async () => {
    const anon = await t.http.get('/api/v1/nothing-here');
    expect(anon.status).toBe(404);
    expect(anon.body.error.code).toBe('route_not_found');
    const { access_token } = await registerAndLogin(t, 'lost@example.com');
    const authed = await t.http.delete('/api/v2/whatever').set(bearer(access_token));
    expect(authed.status).toBe(404);
    expect(authed.headers['content-type']).toMatch(/application\/json/);
  });

  it('sets request ids and security headers, and reports health and readiness', async () => {
    const health = await t.http.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    expect(health.headers['x-request-id']).toEqual(expect.any(String));
    expect(health.headers['x-content-type-options']).toBe('nosniff');
    expect(health.headers['x-powered-by']).toBeUndefined();
    const given = await t.http.get('/healthz').set('X-Request-Id', 'from-nginx-123');
    expect(given.headers['x-request-id']).toBe('from-nginx-123');

    expect((await t.http.get('/readyz')).body).toEqual({ status: 'ok', checks: { store: 'ok', queue: 'ok' } });
    await t.store.close();
    const down = await t.http.get('/readyz');
    expect(down.status).toBe(503);
    expect(down.body.checks.store).toBe('fail');
  });

  it('asks browsers for https only when PUBLIC_URL is https (a plain-http LAN address must keep working)', async () => {
    const plain = await t.http.get('/healthz');
    expect(plain.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(plain.headers['strict-transport-security']).toBeUndefined();
    const secure = buildTestApp({ env: { PUBLIC_URL: 'https://files.example.com' } });
    try {
      const res = await secure.http.get('/healthz');
      expect(res.headers['content-security-policy']).toContain('upgrade-insecure-requests');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    } finally {
      await secure.close();
    }
  });

  it('puts the request id in error bodies', async () => {
    const res = await t.http.get('/api/v1/missing').set('X-Request-Id', 'trace-me');
    expect(res.body.error.requestId).toBe('trace-me');
  });

  it('never writes passwords or tokens to the logs', async () => {
    const secretPassword = 'very secret password 42';
    await t.http.post('/api/v1/auth/register').send({ email: 'log@example.com', password: secretPassword });
    const login = await t.http.post('/api/v1/auth/token').send({ email: 'log@example.com', password: secretPassword });
    await t.http.post('/api/v1/auth/token').send({ email: 'log@example.com', password: 'wrong password 9' });
    await t.http.post('/api/v1/auth/refresh').send({ refresh_token: login.body.refresh_token });
    await t.http.get('/api/v1/auth/users/me').set(bearer(login.body.access_token));
    await t.http.get(`/api/v1/auth/google/callback?code=oauthcode123&state=st4te`);
    const all = t.logs.join('\n');
    expect(t.logs.length).toBeGreaterThan(4);
    for (const secret of [secretPassword, 'wrong password 9', login.body.refresh_token, login.body.access_token, 'oauthcode123', 'st4te']) {
      expect(all).not.toContain(secret);
    }
  });
});
