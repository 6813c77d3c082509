import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, registerAndLogin, type TestApp } from '../support/app';
import { startFakeGoogle } from '../support/fake-google';

let google: Awaited<ReturnType<typeof startFakeGoogle>>;
let t: TestApp;

beforeAll(async () => {
  google = await startFakeGoogle();
});
afterAll(async () => {
  await google.close();
});
beforeEach(() => {
  t = buildTestApp({ env: google.env });
});
afterEach(async () => {
  await t.close();
});

/** Starts the flow like a browser: follows our redirect, keeps the state cookie. */
async function begin() {
  const res = await t.http.get('/api/v1/auth/google');
  expect(res.status).toBe(302);
  const location = new URL(res.headers.location as string);
  const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('ddx_oauth_state='));
  return { location, state: location.searchParams.get('state') ?? '', cookie: cookie?.split(';')[0] ?? '' };
}

function fragment(res: { status: number; headers: Record<string, unknown> }) {
  expect(res.status).toBe(302);
  const location = res.headers.location as string;
  expect(location.startsWith('/auth/callback#')).toBe(true);
  // Tokens never travel in a URL.
  expect(location).not.toMatch(/access_token|refresh_token/);
  return new URLSearchParams(location.split('#')[1]);
}

/** What the app's callback page does: POST to the exchange endpoint with the handover cookie. */
async function exchange(res: { headers: Record<string, unknown> }) {
  expect(fragment(res as { status: number; headers: Record<string, unknown> }).get('status')).toBe('ok');
  const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('ddx_google_login='));
  expect(cookie).toMatch(/HttpOnly/i);
  expect(cookie).toMatch(/SameSite=Strict/i);
  const pair = await t.http.post('/api/v1/auth/google/exchange').set('Cookie', cookie!.split(';')[0]!);
  expect(pair.status).toBe(200);
  return { pair: pair.body as { access_token: string; refresh_token: string }, cookie: cookie!.split(';')[0]! };
}

describe('Google sign-in', () => {
  it('is advertised and redirects to Google with client id, scopes and a state bound to a cookie', async () => {
    expect((await t.http.get('/api/v1/auth/providers')).body).toEqual({ google: true });
    const { location, state, cookie } = await begin();
    expect(location.origin + location.pathname).toBe(google.env.GOOGLE_OAUTH_AUTH_URL);
    expect(location.searchParams.get('client_id')).toBe('test-client');
    expect(location.searchParams.get('scope')).toBe('openid email profile');
    expect(location.searchParams.get('redirect_uri')).toBe(`${t.config.publicUrl}/api/v1/auth/google/callback`);
    expect(state.length).toBeGreaterThan(20);
    expect(cookie).toBe(`ddx_oauth_state=${state}`);
  });

  it('creates a user for a verified Google email and hands tokens to the app in the fragment', async () => {
    const { state, cookie } = await begin();
    const code = google.codeFor({ sub: 'g-100', email: 'New.Person@Gmail.com', email_verified: true });
    const res = await t.http.get(`/api/v1/auth/google/callback?code=${code}&state=${state}`).set('Cookie', cookie);
    const { pair, cookie: handover } = await exchange(res);
    const me = await t.http.get('/api/v1/auth/users/me').set('Authorization', `Bearer ${pair.access_token}`);
    expect(me.body).toMatchObject({ email: 'new.person@gmail.com', role: 'user' });
    expect((await t.http.post('/api/v1/auth/refresh').send({ refresh_token: pair.refresh_token })).status).toBe(200);
    expect((await t.store.users.findByEmail('new.person@gmail.com'))?.googleId).toBe('g-100');
    // Without the cookie (a link someone sent) there is nothing to exchange.
    const noCookie = await t.http.post('/api/v1/auth/google/exchange');
    expect(noCookie.status).toBe(401);
    expect(noCookie.body.error.code).toBe('google_login_expired');
    expect(handover).toMatch(/^ddx_google_login=/);
  });

  it('links a verified Google email to the existing account, dropping its password and sessions', async () => {
    // Registration does not verify emails: the account may belong to a squatter.
    const existing = await registerAndLogin(t, 'owner@example.com');
    const { state, cookie } = await begin();
    const code = google.codeFor({ sub: 'g-200', email: 'owner@example.com', email_verified: true });
    const { pair } = await exchange(await t.http.get(`/api/v1/auth/google/callback?code=${code}&state=${state}`).set('Cookie', cookie));
    const me = await t.http.get('/api/v1/auth/users/me').set('Authorization', `Bearer ${pair.access_token}`);
    expect(me.body.id).toBe(existing.userId);
    expect((await t.http.post('/api/v1/auth/refresh').send({ refresh_token: existing.refresh_token })).status).toBe(401);
    expect((await t.http.post('/api/v1/auth/token').send({ email: 'owner@example.com', password: 'correct horse battery' })).status).toBe(401);
  });

  it('never links or creates from an unverified Google email', async () => {
    await registerAndLogin(t, 'victim@example.com');
    const { state, cookie } = await begin();
    const code = google.codeFor({ sub: 'g-evil', email: 'victim@example.com', email_verified: false });
    const res = await t.http.get(`/api/v1/auth/google/callback?code=${code}&state=${state}`).set('Cookie', cookie);
    expect(fragment(res).get('error')).toBe('google_email_unverified');
    const setCookies = (res.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
    expect(setCookies.some((c) => c.startsWith('ddx_google_login='))).toBe(false);
    expect((await t.store.users.findByEmail('victim@example.com'))?.googleId).toBeNull();
  });

  it('refuses a callback whose state does not match the cookie (login CSRF)', async () => {
    const { cookie } = await begin();
    const code = google.codeFor({ sub: 'g-300', email: 'csrf@example.com', email_verified: true });
    const params = fragment(await t.http.get(`/api/v1/auth/google/callback?code=${code}&state=forged`).set('Cookie', cookie));
    expect(params.get('error')).toBe('google_login_failed');
    const noCookie = fragment(await t.http.get(`/api/v1/auth/google/callback?code=${code}&state=whatever`));
    expect(noCookie.get('error')).toBe('google_login_failed');
    expect(await t.store.users.findByEmail('csrf@example.com')).toBeNull();
  });

  it('reports a code Google refuses as a failed sign-in', async () => {
    const { state, cookie } = await begin();
    const params = fragment(await t.http.get(`/api/v1/auth/google/callback?code=never-issued&state=${state}`).set('Cookie', cookie));
    expect(params.get('error')).toBe('google_login_failed');
  });

  it('refuses a disabled user', async () => {
    const { state, cookie } = await begin();
    const code = google.codeFor({ sub: 'g-400', email: 'dis@example.com', email_verified: true });
    await exchange(await t.http.get(`/api/v1/auth/google/callback?code=${code}&state=${state}`).set('Cookie', cookie));
    const user = await t.store.users.findByEmail('dis@example.com');
    await t.store.users.update(user!.id, { disabled: true });
    const again = await begin();
    const code2 = google.codeFor({ sub: 'g-400', email: 'dis@example.com', email_verified: true });
    const params = fragment(await t.http.get(`/api/v1/auth/google/callback?code=${code2}&state=${again.state}`).set('Cookie', again.cookie));
    expect(params.get('error')).toBe('account_disabled');
  });
});

describe('Google sign-in when not configured', () => {
  it('is not advertised and its routes answer 404', async () => {
    const plain = buildTestApp();
    try {
      expect((await plain.http.get('/api/v1/auth/providers')).body).toEqual({ google: false });
      const res = await plain.http.get('/api/v1/auth/google');
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('google_login_disabled');
    } finally {
      await plain.close();
    }
  });
});
