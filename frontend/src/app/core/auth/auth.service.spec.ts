import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import { authInterceptor } from './auth.interceptor';
import { AuthService, REFRESH_TOKEN_KEY } from './auth.service';
import { pair, USER } from './testing';

describe('AuthService', () => {
  let auth: AuthService;
  let http: HttpTestingController;

  beforeEach(() => {
    localStorage.clear();
    TestBed.configureTestingModule({
      providers: [provideRouter([]), provideHttpClient(withInterceptors([authInterceptor])), provideHttpClientTesting()],
    });
    auth = TestBed.inject(AuthService);
    http = TestBed.inject(HttpTestingController);
  });
  afterEach(() => http.verify());

  /** Lets pending promise continuations run so the next request is issued. */
  const flushMicrotasks = () => new Promise((resolve) => setTimeout(resolve, 0));

  it('logs in: stores the refresh token, then loads me with the access token', async () => {
    const done = auth.login('a@example.com', 'password123');
    const token = http.expectOne('/api/v1/auth/token');
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
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-1');
  });

  it('refresh rotates the stored refresh token', async () => {
    localStorage.setItem(REFRESH_TOKEN_KEY, 'refresh-1');
    const done = auth.refresh();
    const req = http.expectOne('/api/v1/auth/refresh');
    expect(req.request.body).toEqual({ refresh_token: 'refresh-1' });
    req.flush(pair(2));
    expect(await done).toBe('access-2');
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-2');
    expect(auth.token).toBe('access-2');
  });

  it('shares one refresh between concurrent callers', async () => {
    localStorage.setItem(REFRESH_TOKEN_KEY, 'refresh-1');
    const a = auth.refresh();
    const b = auth.refresh();
    http.expectOne('/api/v1/auth/refresh').flush(pair(2));
    expect(await Promise.all([a, b])).toEqual(['access-2', 'access-2']);
  });

  it('logout clears the session and goes to /login even when the API call fails', async () => {
    const router = TestBed.inject(Router);
    const navigate = vi.spyOn(router, 'navigate').mockResolvedValue(true);
    localStorage.setItem(REFRESH_TOKEN_KEY, 'refresh-1');
    const done = auth.logout();
    await flushMicrotasks();
    // No access token yet: the interceptor refreshes first; make that fail too.
    http.expectOne('/api/v1/auth/refresh').flush({ error: { code: 'invalid_refresh_token', message: 'x' } }, { status: 401, statusText: 'Unauthorized' });
    await done;
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(auth.currentUser()).toBeNull();
    expect(navigate).toHaveBeenCalledWith(['/login']);
  });

  it('propagates the server error of a failed registration', async () => {
    const done = auth.register('a@example.com', 'password123');
    http.expectOne('/api/v1/auth/register').flush({ error: { code: 'email_taken', message: 'An account with this email already exists' } }, { status: 409, statusText: 'Conflict' });
    await expect(done).rejects.toMatchObject({ status: 409, error: { error: { code: 'email_taken' } } });
  });

  it('restores a stored session on start, and forgets it when the refresh is refused', async () => {
    localStorage.setItem(REFRESH_TOKEN_KEY, 'refresh-1');
    const ok = auth.restore();
    http.expectOne('/api/v1/auth/refresh').flush(pair(2));
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    await ok;
    expect(auth.currentUser()).toEqual(USER);

    auth.clear();
    localStorage.setItem(REFRESH_TOKEN_KEY, 'stale');
    const failed = auth.restore();
    http.expectOne('/api/v1/auth/refresh').flush({ error: { code: 'invalid_refresh_token', message: 'x' } }, { status: 401, statusText: 'Unauthorized' });
    await failed;
    expect(auth.currentUser()).toBeNull();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
  });
});
