import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { AuthService } from '../auth/auth.service';
import { apiError, setUpAuthTesting, signIn } from '../auth/testing';
import { apiErrorCode } from '../http/api-error';
import { StorageAccountsService } from './storage-accounts.service';
import { account } from './testing';

describe('StorageAccountsService', () => {
  let http: HttpTestingController;
  let api: StorageAccountsService;
  const id = account().id;

  beforeEach(async () => {
    http = setUpAuthTesting();
    await signIn(TestBed.inject(AuthService), http);
    api = TestBed.inject(StorageAccountsService);
  });
  afterEach(() => http.verify());

  it('lists the accounts with the bearer token', async () => {
    const done = api.list();
    const req = http.expectOne('/api/v1/admin/accounts');
    expect(req.request.method).toBe('GET');
    expect(req.request.headers.get('Authorization')).toBe('Bearer access-1');
    req.flush({ items: [account()], total: 1 });
    expect(await done).toEqual([account()]);
  });

  it('adds, updates and checks, returning the server view', async () => {
    const added = api.add({ provider: 'local', name: 'Second', path: '/srv/second' });
    const post = http.expectOne({ method: 'POST', url: '/api/v1/admin/accounts' });
    expect(post.request.body).toEqual({ provider: 'local', name: 'Second', path: '/srv/second' });
    post.flush(account({ name: 'Second' }), { status: 201, statusText: 'Created' });
    expect((await added).name).toBe('Second');

    const updated = api.update(id, { enabled: false });
    const patch = http.expectOne({ method: 'PATCH', url: `/api/v1/admin/accounts/${id}` });
    expect(patch.request.body).toEqual({ enabled: false });
    patch.flush(account({ enabled: false }));
    expect((await updated).enabled).toBe(false);

    const checked = api.check(id);
    http
      .expectOne({ method: 'POST', url: `/api/v1/admin/accounts/${id}/check` })
      .flush(account({ health: 'down', lastError: 'disk gone' }));
    expect((await checked).health).toBe('down');
  });

  it('removes, with ?force=true only when asked, and passes 409 account_in_use on', async () => {
    const plain = api.remove(id);
    http
      .expectOne(`/api/v1/admin/accounts/${id}`)
      .flush(apiError('account_in_use', 'This account holds 3 file(s).'), {
        status: 409,
        statusText: 'Conflict',
      });
    expect(apiErrorCode(await plain.catch((e: unknown) => e))).toBe('account_in_use');

    const forced = api.remove(id, true);
    const req = http.expectOne(`/api/v1/admin/accounts/${id}?force=true`);
    expect(req.request.method).toBe('DELETE');
    req.flush(null, { status: 204, statusText: 'No Content' });
    await expect(forced).resolves.toBeUndefined();
  });

  it('starts the Google connect flow and returns the consent URL', async () => {
    const url = api.connectGoogle('Team drive');
    const req = http.expectOne('/api/v1/admin/accounts/google/connect');
    expect(req.request.body).toEqual({ name: 'Team drive' });
    req.flush({ authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth?x=1' });
    expect(await url).toBe('https://accounts.google.com/o/oauth2/v2/auth?x=1');
  });
});
