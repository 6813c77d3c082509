import { HttpClient } from '@angular/common/http';
import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { Router } from '@angular/router';
import { firstValueFrom } from 'rxjs';
import { authInterceptor } from './auth.interceptor';
import { AuthService, REFRESH_TOKEN_KEY } from './auth.service';
import { apiError, flushMicrotasks, pair, signIn, setUpAuthTesting } from './testing';

describe('authInterceptor', () => {
  let client: HttpClient;
  let http: HttpTestingController;
  let auth: AuthService;

  const unauthorized = [
    apiError('invalid_token', 'The access token is invalid or expired'),
    { status: 401, statusText: 'Unauthorized' },
  ] as const;

  beforeEach(() => {
    http = setUpAuthTesting();
    client = TestBed.inject(HttpClient);
    auth = TestBed.inject(AuthService);
  });
  afterEach(() => http.verify());

  it('adds the bearer token to API calls', async () => {
    await signIn(auth, http);
    void firstValueFrom(client.get('/api/v1/files'));
    const req = http.expectOne('/api/v1/files');
    expect(req.request.headers.get('Authorization')).toBe('Bearer access-1');
    req.flush({ items: [], total: 0 });
  });

  it('does not add it to the token, register and refresh endpoints, nor to other hosts', async () => {
    await signIn(auth, http);
    for (const url of [
      '/api/v1/auth/token',
      '/api/v1/auth/register',
      '/api/v1/auth/refresh',
      'https://elsewhere.example/api/v1/files',
    ]) {
      void firstValueFrom(client.post(url, {}));
      const req = http.expectOne(url);
      expect(req.request.headers.has('Authorization'), url).toBe(false);
      req.flush({});
    }
  });

  it('sends public share-link calls without the token, and passes their 401 (wrong password) through', async () => {
    await signIn(auth, http);
    void firstValueFrom(client.get('/api/v1/links/abc'));
    const info = http.expectOne('/api/v1/links/abc');
    expect(info.request.headers.has('Authorization')).toBe(false);
    info.flush({});
    const result = firstValueFrom(client.post('/api/v1/links/abc/unlock', { password: 'x' }));
    http.expectOne('/api/v1/links/abc/unlock').flush(...unauthorized);
    await expect(result).rejects.toMatchObject({ status: 401 });
    // Exactly one attempt: no refresh, no retry that would count as a second wrong password.
    http.expectNone('/api/v1/auth/refresh');
    http.expectNone('/api/v1/links/abc/unlock');
    expect(auth.isLoggedIn()).toBe(true);
    // The owner's side of links still carries the token.
    void firstValueFrom(client.get('/api/v1/files/f1/links'));
    const own = http.expectOne('/api/v1/files/f1/links');
    expect(own.request.headers.get('Authorization')).toBe('Bearer access-1');
    own.flush({ items: [], total: 0 });
  });

  it('passes a 401 of the token endpoint through without refreshing', async () => {
    await signIn(auth, http);
    const result = firstValueFrom(client.post('/api/v1/auth/token', {}));
    http.expectOne('/api/v1/auth/token').flush(...unauthorized);
    await expect(result).rejects.toMatchObject({ status: 401 });
    http.expectNone('/api/v1/auth/refresh');
    expect(auth.isLoggedIn()).toBe(true);
  });

  it('on a 401 refreshes once and retries with the new token', async () => {
    await signIn(auth, http);
    const result = firstValueFrom(client.get<{ ok: boolean }>('/api/v1/files'));
    http.expectOne('/api/v1/files').flush(...unauthorized);
    const refresh = http.expectOne('/api/v1/auth/refresh');
    expect(refresh.request.body).toEqual({ refresh_token: 'refresh-1' });
    refresh.flush(pair(2));
    await flushMicrotasks();
    const retry = http.expectOne('/api/v1/files');
    expect(retry.request.headers.get('Authorization')).toBe('Bearer access-2');
    retry.flush({ ok: true });
    expect(await result).toEqual({ ok: true });
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-2');
  });

  it('retries only once: a second 401 reaches the caller', async () => {
    await signIn(auth, http);
    const result = firstValueFrom(client.get('/api/v1/admin/accounts'));
    http.expectOne('/api/v1/admin/accounts').flush(...unauthorized);
    http.expectOne('/api/v1/auth/refresh').flush(pair(2));
    await flushMicrotasks();
    http.expectOne('/api/v1/admin/accounts').flush(...unauthorized);
    await expect(result).rejects.toMatchObject({ status: 401 });
    await flushMicrotasks();
    http.expectNone('/api/v1/auth/refresh');
    http.expectNone('/api/v1/admin/accounts');
  });

  it('makes exactly one refresh call for two concurrent 401s', async () => {
    await signIn(auth, http);
    const a = firstValueFrom(client.get('/api/v1/a'));
    const b = firstValueFrom(client.get('/api/v1/b'));
    http.expectOne('/api/v1/a').flush(...unauthorized);
    http.expectOne('/api/v1/b').flush(...unauthorized);
    const refreshes = http.match('/api/v1/auth/refresh');
    expect(refreshes).toHaveLength(1);
    refreshes[0]!.flush(pair(2));
    await flushMicrotasks();
    const retryA = http.expectOne('/api/v1/a');
    const retryB = http.expectOne('/api/v1/b');
    expect(retryA.request.headers.get('Authorization')).toBe('Bearer access-2');
    expect(retryB.request.headers.get('Authorization')).toBe('Bearer access-2');
    retryA.flush({ n: 'a' });
    retryB.flush({ n: 'b' });
    expect(await Promise.all([a, b])).toEqual([{ n: 'a' }, { n: 'b' }]);
  });

  it('does not refresh again for a 401 that arrives after another request already refreshed', async () => {
    await signIn(auth, http);
    const a = firstValueFrom(client.get('/api/v1/a'));
    const b = firstValueFrom(client.get('/api/v1/b'));
    http.expectOne('/api/v1/a').flush(...unauthorized);
    http.expectOne('/api/v1/auth/refresh').flush(pair(2));
    await flushMicrotasks();
    http.expectOne('/api/v1/a').flush({ n: 'a' });
    // b was sent with the old token; its 401 comes late.
    http.expectOne('/api/v1/b').flush(...unauthorized);
    http.expectNone('/api/v1/auth/refresh');
    const retryB = http.expectOne('/api/v1/b');
    expect(retryB.request.headers.get('Authorization')).toBe('Bearer access-2');
    retryB.flush({ n: 'b' });
    expect(await Promise.all([a, b])).toEqual([{ n: 'a' }, { n: 'b' }]);
  });

  it('clears the session and goes to /login when the refresh fails', async () => {
    await signIn(auth, http);
    const router = TestBed.inject(Router);
    vi.spyOn(router, 'url', 'get').mockReturnValue('/dashboard');
    const navigate = vi.spyOn(router, 'navigate').mockResolvedValue(true);
    const result = firstValueFrom(client.get('/api/v1/files'));
    http.expectOne('/api/v1/files').flush(...unauthorized);
    http
      .expectOne('/api/v1/auth/refresh')
      .flush(apiError('invalid_refresh_token'), { status: 401, statusText: 'Unauthorized' });
    await expect(result).rejects.toMatchObject({ status: 401 });
    expect(auth.currentUser()).toBeNull();
    expect(auth.token).toBeNull();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(navigate).toHaveBeenCalledWith(['/login'], { queryParams: { returnUrl: '/dashboard' } });
    http.expectNone('/api/v1/files');
  });

  it.each([
    [503, 'Service Unavailable'],
    [429, 'Too Many Requests'],
    [0, 'Unknown Error'],
  ])('keeps the session when the refresh fails with %d (not a refusal)', async (status, statusText) => {
    await signIn(auth, http);
    const navigate = vi.spyOn(TestBed.inject(Router), 'navigate').mockResolvedValue(true);
    const result = firstValueFrom(client.get('/api/v1/files'));
    http.expectOne('/api/v1/files').flush(...unauthorized);
    const refresh = http.expectOne('/api/v1/auth/refresh');
    if (status === 0) refresh.error(new ProgressEvent('error'), { status, statusText });
    else refresh.flush(apiError('unavailable'), { status, statusText });
    await expect(result).rejects.toMatchObject({ status });
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-1');
    expect(auth.currentUser()).not.toBeNull();
    expect(navigate).not.toHaveBeenCalled();
  });

  it('refreshes first when the access token is missing but a session is stored (after a reload)', async () => {
    localStorage.setItem(REFRESH_TOKEN_KEY, 'refresh-1');
    const result = firstValueFrom(client.get('/api/v1/files'));
    http.expectOne('/api/v1/auth/refresh').flush(pair(2));
    await flushMicrotasks();
    const req = http.expectOne('/api/v1/files');
    expect(req.request.headers.get('Authorization')).toBe('Bearer access-2');
    req.flush({ items: [], total: 0 });
    expect(await result).toEqual({ items: [], total: 0 });
  });
});
