import { HttpErrorResponse } from '@angular/common/http';
import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { Router } from '@angular/router';
import { apiErrorMessage } from '../http/api-error';
import { AuthService, REFRESH_TOKEN_KEY } from './auth.service';
import { apiError, flushMicrotasks, pair, signIn, USER, setUpAuthTesting } from './testing';

describe('AuthService', () => {
  let auth: AuthService;
  let http: HttpTestingController;

  beforeEach(() => {
    http = setUpAuthTesting();
    auth = TestBed.inject(AuthService);
  });
  afterEach(() => http.verify());

  it('logs in: stores the refresh token, then loads me with the access token', async () => {
    expect(auth.isLoggedIn()).toBe(false);
    const done = auth.login('a@example.com', 'password123');
    const token = http.expectOne('/api/v1/auth/token');
    expect(token.request.method).toBe('POST');
    expect(token.request.body).toEqual({ email: 'a@example.com', password: 'password123' });
    expect(token.request.headers.has('Authorization')).toBe(false);
    token.flush(pair(1));
    await flushMicrotasks();
    const me = http.expectOne('/api/v1/auth/users/me');
    expect(me.request.headers.get('Authorization')).toBe('Bearer access-1');
    me.flush(USER);
    expect(await done).toEqual(USER);
    expect(auth.currentUser()).toEqual(USER);
    expect(auth.isLoggedIn()).toBe(true);
    expect(auth.token).toBe('access-1');
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-1');
  });

  it('a refused login stores nothing', async () => {
    const done = auth.login('a@example.com', 'wrong password');
    http
      .expectOne('/api/v1/auth/token')
      .flush(apiError('invalid_credentials', 'Email or password is incorrect'), {
        status: 401,
        statusText: 'Unauthorized',
      });
    await expect(done).rejects.toBeInstanceOf(HttpErrorResponse);
    expect(auth.isLoggedIn()).toBe(false);
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
  });

  it('refresh rotates the stored refresh token', async () => {
    await signIn(auth, http);
    const done = auth.refresh();
    const req = http.expectOne('/api/v1/auth/refresh');
    expect(req.request.body).toEqual({ refresh_token: 'refresh-1' });
    expect(req.request.headers.has('Authorization')).toBe(false);
    req.flush(pair(2));
    expect(await done).toBe('access-2');
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-2');
    expect(auth.token).toBe('access-2');

    // The next refresh presents the rotated token, never the used one.
    const next = auth.refresh();
    const again = http.expectOne('/api/v1/auth/refresh');
    expect(again.request.body).toEqual({ refresh_token: 'refresh-2' });
    again.flush(pair(3));
    expect(await next).toBe('access-3');
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-3');
  });

  it('shares one refresh between concurrent callers', async () => {
    localStorage.setItem(REFRESH_TOKEN_KEY, 'refresh-1');
    const a = auth.refresh();
    const b = auth.refresh();
    http.expectOne('/api/v1/auth/refresh').flush(pair(2));
    expect(await Promise.all([a, b])).toEqual(['access-2', 'access-2']);
  });

  it('logout revokes the session on the server, clears it locally and goes to /login', async () => {
    await signIn(auth, http);
    const navigate = vi.spyOn(TestBed.inject(Router), 'navigate').mockResolvedValue(true);
    const done = auth.logout();
    const req = http.expectOne('/api/v1/auth/logout');
    expect(req.request.method).toBe('POST');
    expect(req.request.headers.get('Authorization')).toBe('Bearer access-1');
    expect(req.request.body).toEqual({ refresh_token: 'refresh-1' });
    req.flush(null, { status: 204, statusText: 'No Content' });
    await done;
    expect(auth.currentUser()).toBeNull();
    expect(auth.token).toBeNull();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(navigate).toHaveBeenCalledWith(['/login']);
  });

  it('logout clears the session and goes to /login even when the API call fails', async () => {
    await signIn(auth, http);
    const navigate = vi.spyOn(TestBed.inject(Router), 'navigate').mockResolvedValue(true);
    const done = auth.logout();
    http
      .expectOne('/api/v1/auth/logout')
      .flush(apiError('internal_error'), { status: 500, statusText: 'Server Error' });
    await expect(done).resolves.toBeUndefined();
    expect(auth.isLoggedIn()).toBe(false);
    expect(auth.token).toBeNull();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(navigate).toHaveBeenCalledWith(['/login']);
  });

  it('logout also ends a session whose tokens are no longer accepted', async () => {
    const navigate = vi.spyOn(TestBed.inject(Router), 'navigate').mockResolvedValue(true);
    localStorage.setItem(REFRESH_TOKEN_KEY, 'refresh-1');
    const done = auth.logout();
    await flushMicrotasks();
    // No access token: the interceptor refreshes first; the server refuses.
    http
      .expectOne('/api/v1/auth/refresh')
      .flush(apiError('invalid_refresh_token'), { status: 401, statusText: 'Unauthorized' });
    await done;
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(navigate).toHaveBeenLastCalledWith(['/login']);
  });

  it('propagates the server error of a failed registration', async () => {
    const done = auth.register('a@example.com', 'password123');
    const req = http.expectOne('/api/v1/auth/register');
    expect(req.request.body).toEqual({ email: 'a@example.com', password: 'password123' });
    req.flush(apiError('email_taken', 'An account with this email already exists'), {
      status: 409,
      statusText: 'Conflict',
    });
    const err: unknown = await done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpErrorResponse);
    expect(apiErrorMessage(err)).toBe('An account with this email already exists');
    expect(auth.isLoggedIn()).toBe(false);
  });

  it('register returns the created user without signing in', async () => {
    const done = auth.register('a@example.com', 'password123');
    http
      .expectOne('/api/v1/auth/register')
      .flush({ user: USER }, { status: 201, statusText: 'Created' });
    expect(await done).toEqual(USER);
    expect(auth.isLoggedIn()).toBe(false);
  });

  it('restores a stored session on start', async () => {
    localStorage.setItem(REFRESH_TOKEN_KEY, 'refresh-1');
    const done = auth.restore();
    const refresh = http.expectOne('/api/v1/auth/refresh');
    expect(refresh.request.body).toEqual({ refresh_token: 'refresh-1' });
    refresh.flush(pair(2));
    await flushMicrotasks();
    const me = http.expectOne('/api/v1/auth/users/me');
    expect(me.request.headers.get('Authorization')).toBe('Bearer access-2');
    me.flush(USER);
    await done;
    expect(auth.currentUser()).toEqual(USER);
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-2');
  });

  it('forgets a stored session the server refuses on start, and does nothing without one', async () => {
    localStorage.setItem(REFRESH_TOKEN_KEY, 'stale');
    const failed = auth.restore();
    http
      .expectOne('/api/v1/auth/refresh')
      .flush(apiError('invalid_refresh_token'), { status: 401, statusText: 'Unauthorized' });
    await expect(failed).resolves.toBeUndefined();
    expect(auth.currentUser()).toBeNull();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();

    await auth.restore();
    http.expectNone('/api/v1/auth/refresh');
  });

  it('keeps a stored session when the server cannot be reached on start', async () => {
    localStorage.setItem(REFRESH_TOKEN_KEY, 'refresh-1');
    const done = auth.restore();
    http
      .expectOne('/api/v1/auth/refresh')
      .error(new ProgressEvent('error'), { status: 0, statusText: 'Unknown Error' });
    await expect(done).resolves.toBeUndefined();
    expect(auth.isLoggedIn()).toBe(false);
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-1');
  });

  it('completes Google sign-in by exchanging the handover cookie for tokens', async () => {
    const done = auth.exchangeGoogleLogin();
    http.expectOne('/api/v1/auth/google/exchange').flush(pair(5));
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    await done;
    expect(auth.currentUser()).toEqual(USER);
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-5');
  });
});
