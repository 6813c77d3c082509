import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock';
import { buildTestApp, STRONG_PASSWORD, type TestApp } from '../support/app';

let t: TestApp;
let clock: ManualClock;
beforeEach(async () => {
  clock = new ManualClock(new Date());
  t = buildTestApp({ clock });
  await t.http.post('/api/v1/auth/register').send({ email: 'victim@example.com', password: STRONG_PASSWORD });
});
afterEach(async () => {
  await t.close();
});

const login = (password: string, email = 'victim@example.com') => t.http.post('/api/v1/auth/token').send({ email, password });

describe('login throttling', () => {
  it('answers 429 with Retry-After after 5 failed logins for one account within 15 minutes, even with the right password', async () => {
    for (let i = 0; i < 5; i++) expect((await login('wrong password x')).status).toBe(401);
    const blocked = await login(STRONG_PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('too_many_attempts');
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);

    clock.advance(15 * 60 * 1000 + 1000);
    expect((await login(STRONG_PASSWORD)).status).toBe(200);
  });

  it('does not count successful logins, and a success clears the account’s failures', async () => {
    for (let i = 0; i < 4; i++) await login('wrong password x');
    expect((await login(STRONG_PASSWORD)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login('wrong password x')).status).toBe(401);
    for (let i = 0; i < 10; i++) expect((await login(STRONG_PASSWORD)).status).toBe(200);
  });

  it('limits a burst of parallel guesses to 5, though each password check takes a while', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => login('wrong password x')));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it('throttles one account without affecting another', async () => {
    await t.http.post('/api/v1/auth/register').send({ email: 'other@example.com', password: STRONG_PASSWORD });
    for (let i = 0; i < 5; i++) await login('wrong password x');
    expect((await login(STRONG_PASSWORD)).status).toBe(429);
    expect((await login(STRONG_PASSWORD, 'other@example.com')).status).toBe(200);
  });

  it('throttles an IP after 50 failed auth requests, logins and refreshes alike', async () => {
    for (let i = 0; i < 50; i++) {
      const res = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: `bogus.${i}` });
      expect(res.status).toBe(401);
    }
    const refresh = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: 'bogus.x' });
    expect(refresh.status).toBe(429);
    expect(Number(refresh.headers['retry-after'])).toBeGreaterThan(0);
    const blockedLogin = await login(STRONG_PASSWORD);
    expect(blockedLogin.status).toBe(429);
  });
});
