import { HttpClient, provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import { firstValueFrom } from 'rxjs';
import { authInterceptor } from './auth.interceptor';
import { AuthService, REFRESH_TOKEN_KEY } from './auth.service';
import { pair, USER } from './testing';

describe('authInterceptor', () => {
  let client: HttpClient;
  let http: HttpTestingController;
  let auth: AuthService;

  const flushMicrotasks = () => new Promise((resolve) => setTimeout(resolve, 0));
  const unauthorized = { error: { code: 'invalid_token', message: 'expired' } };

  /** Signs in through the service so the interceptor has an access token. */
  async function signIn(): Promise<void> {
    const done = auth.login('a@example.com', 'password123');
    http.expectOne('/api/v1/auth/token').flush(pair(1));
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    await done;
  }

  beforeEach(() => {
    localStorage.clear();
    TestBed.configureTestingModule({
      providers: [provideRouter([]), provideHttpClient(withInterceptors([authInterceptor])), provideHttpClientTesting()],
    });
    client = TestBed.inject(HttpClient);
    http = TestBed.inject(HttpTestingController);
    auth = TestBed.inject(AuthService);
  });
  afterEach(() => http.verify());

  it('adds the bearer token to API calls but not to the token endpoint or other hosts', async () => {
    await signIn();
    void firstValueFrom(client.get('/api/v1/files'));
    expect(http.expectOne('/api/v1/files').request.headers.get('Authorization')).toBe('Bearer access-1');
    void firstValueFrom(client.post('/api/v1/auth/token', {}));
    expect(http.expectOne('/api/v1/auth/token').request.headers.has('Authorization')).toBe(false);
    void firstValueFrom(client.get('https://elsewhere.example/data'));
    expect(http.expectOne('https://elsewhere.example/data').request.headers.has('Authorization')).toBe(false);
  });

  it('on a 401 refreshes once and retries with the new token', async () => {
    await signIn();
    const result = firstValueFrom(client.get<{ ok: boolean }>('/api/v1/files'));
    http.expectOne('/api/v1/files').flush(unauthorized, { status: 401, statusText: 'Unauthorized' });
    const refresh = http.expectOne('/api/v1/auth/refresh');
    expect(refresh.request.body).toEqual({ refresh_token: 'refresh-1' });
    refresh.flush(pair(2));
    await flushMicrotasks();
    const retry = http.expectOne('/api/v1/files');
    expect(retry.request.headers.get('Authorization')).toBe('Bearer access-2');
    retry.flush({ ok: true });
    expect(await result).toEqual({ ok: true });
  });

  it('makes exactly one refresh call for two concurrent 401s', async () => {
    await signIn();
    const a = firstValueFrom(client.get('/api/v1/a'));
    const b = firstValueFrom(client.get('/api/v1/b'));
    http.expectOne('/api/v1/a').flush(unauthorized, { status: 401, statusText: 'Unauthorized' });
    http.expectOne('/api/v1/b').flush(unauthorized, { status: 401, statusText: 'Unauthorized' });
    http.expectOne('/api/v1/auth/refresh').flush(pair(2));
    await flushMicrotasks();
    http.expectOne('/api/v1/a').flush({ n: 'a' });
    http.expectOne('/api/v1/b').flush({ n: 'b' });
    expect(await Promise.all([a, b])).toEqual([{ n: 'a' }, { n: 'b' }]);
  });

  it('clears the session and goes to /login when the refresh fails', async () => {
    await signIn();
    const navigate = vi.spyOn(TestBed.inject(Router), 'navigate').mockResolvedValue(true);
    const result = firstValueFrom(client.get('/api/v1/files'));
    http.expectOne('/api/v1/files').flush(unauthorized, { status: 401, statusText: 'Unauthorized' });
    http.expectOne('/api/v1/auth/refresh').flush({ error: { code: 'invalid_refresh_token', message: 'x' } }, { status: 401, statusText: 'Unauthorized' });
    await expect(result).rejects.toMatchObject({ status: 401 });
    expect(auth.currentUser()).toBeNull();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(navigate).toHaveBeenCalledWith(['/login'], expect.objectContaining({ queryParams: expect.any(Object) }));
  });
});
