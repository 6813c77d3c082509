import { HttpTestingController } from '@angular/common/http/testing';
import { Component } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { Router } from '@angular/router';
import { RouterTestingHarness } from '@angular/router/testing';
import { account } from '../../../core/admin/testing';
import { apiError, flushMicrotasks, setUpAuthTesting } from '../../../core/auth/testing';
import { BrowserLocation } from '../../../core/browser/browser-location';
import { AccountsPage, dailyText, spaceText } from './accounts';

@Component({ template: 'elsewhere' })
class Elsewhere {}

const GiB = 1024 ** 3;
const LOCAL = account();
const DRIVE = account({
  id: '22222222-2222-4222-8222-222222222222',
  provider: 'gdrive',
  name: 'Team drive',
  health: 'degraded',
  circuit: 'open',
  quota: { limit: null, used: 3 * GiB, reserved: 0 },
  dailyCap: 750 * 1000 ** 3,
  lastCheckAt: null,
  lastError: 'Rate limited by Google',
  details: { clientId: 'client-123.apps.googleusercontent.com' },
});

describe('AccountsPage', () => {
  let http: HttpTestingController;
  let harness: RouterTestingHarness;
  let el: HTMLElement;
  let assign: ReturnType<typeof vi.fn<(url: string) => void>>;

  async function open(url = '/admin/accounts', items = [LOCAL, DRIVE]): Promise<void> {
    assign = vi.fn<(url: string) => void>();
    TestBed.configureTestingModule({
      providers: [{ provide: BrowserLocation, useValue: { assign } }],
    });
    http = setUpAuthTesting([
      { path: 'admin/accounts', component: AccountsPage },
      { path: '**', component: Elsewhere },
    ]);
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl(url, AccountsPage);
    el = harness.routeNativeElement!;
    http.expectOne('/api/v1/admin/accounts').flush({ items, total: items.length });
    await settle();
  }

  async function settle(): Promise<void> {
    await flushMicrotasks();
    await harness.fixture.whenStable();
  }

  afterEach(() => http.verify());

  const row = (name: string) =>
    Array.from(el.querySelectorAll<HTMLElement>('[data-testid=account-row]')).find(
      (r) => r.querySelector('[data-testid=account-name]')?.textContent === name,
    );
  const cell = (name: string, id: string) =>
    row(name)?.querySelector(`[data-testid=${id}]`)?.textContent?.trim();
  const button = (label: string) => {
    const found = Array.from(el.querySelectorAll<HTMLButtonElement>('button')).find(
      (b) => (b.getAttribute('aria-label') ?? b.textContent?.trim()) === label,
    );
    if (!found) throw new Error(`no button "${label}"`);
    return found;
  };
  function fill(id: string, value: string): void {
    const input = el.querySelector<HTMLInputElement | HTMLSelectElement>(`#${id}`);
    if (!input) throw new Error(`no field #${id}`);
    input.value = value;
    input.dispatchEvent(new Event(input instanceof HTMLSelectElement ? 'change' : 'input'));
  }
  async function submit(formSelector: string): Promise<void> {
    el.querySelector<HTMLButtonElement>(`${formSelector} button[type=submit]`)!.click();
    await settle();
  }

  it('shows each account: provider, name, details, state, health and circuit, space, daily use, checks and errors', async () => {
    await open();
    expect(el.querySelector('h1')?.textContent).toContain('Storage accounts');
    expect(cell('Local disk', 'account-provider')).toBe('Local disk');
    expect(row('Local disk')?.textContent).toContain('/var/lib/directdrivex/storage');
    expect(cell('Local disk', 'account-state')).toBe('Enabled');
    expect(cell('Local disk', 'account-health')).toBe('healthy');
    expect(cell('Local disk', 'account-space')).toBe('10 GiB used + 1 GiB reserved of 100 GiB');
    const bar = row('Local disk')!.querySelector('[role=progressbar]')!;
    expect(bar.getAttribute('aria-valuenow')).toBe(String(10 * GiB));
    expect(bar.getAttribute('aria-valuemax')).toBe(String(100 * GiB));
    expect(row('Local disk')?.textContent).toContain('2 GiB (no cap)');
    expect(row('Local disk')?.querySelector('time')?.getAttribute('datetime')).toBe(
      LOCAL.lastCheckAt,
    );

    expect(cell('Team drive', 'account-provider')).toBe('Google Drive');
    expect(row('Team drive')?.textContent).toContain(
      'client client-123.apps.googleusercontent.com',
    );
    expect(cell('Team drive', 'account-space')).toBe('3 GiB used + 0 B reserved (unlimited)');
    expect(row('Team drive')!.querySelector('[role=progressbar]')).toBeNull();
    expect(row('Team drive')?.textContent).toContain('circuit open: paused after failures');
    expect(row('Team drive')?.textContent).toContain('2 GiB of 698.5 GiB cap');
    expect(row('Team drive')?.textContent).toContain('never');
    expect(row('Team drive')?.textContent).toContain('Rate limited by Google');
  });

  it('disables, drains and checks an account, showing what the server answers', async () => {
    await open();
    button('Disable Local disk').click();
    const disable = http.expectOne(`/api/v1/admin/accounts/${LOCAL.id}`);
    expect(disable.request.method).toBe('PATCH');
    expect(disable.request.body).toEqual({ enabled: false });
    await harness.fixture.whenStable();
    expect(button('Disable Local disk').disabled).toBe(true);
    disable.flush({ ...LOCAL, enabled: false });
    await settle();
    expect(cell('Local disk', 'account-state')).toBe('Disabled');
    expect(button('Enable Local disk').disabled).toBe(false);

    button('Drain Team drive').click();
    const drain = http.expectOne(`/api/v1/admin/accounts/${DRIVE.id}`);
    expect(drain.request.body).toEqual({ draining: true });
    drain.flush({ ...DRIVE, draining: true });
    await settle();
    expect(cell('Team drive', 'account-state')).toBe('Enabled, draining');
    expect(button('Undrain Team drive')).toBeTruthy();

    button('Check now Team drive').click();
    const check = http.expectOne(`/api/v1/admin/accounts/${DRIVE.id}/check`);
    expect(check.request.method).toBe('POST');
    check.flush({ ...DRIVE, health: 'down', lastError: 'invalid_grant' });
    await settle();
    expect(cell('Team drive', 'account-health')).toBe('down');
    expect(row('Team drive')?.textContent).toContain('invalid_grant');
  });

  it('shows a failed action as an alert', async () => {
    await open();
    button('Check now Local disk').click();
    http
      .expectOne(`/api/v1/admin/accounts/${LOCAL.id}/check`)
      .flush(apiError('account_unreachable', 'The account could not be reached: EACCES'), {
        status: 502,
        statusText: 'Bad Gateway',
      });
    await settle();
    expect(el.querySelector('[role=alert]')?.textContent).toContain(
      'Could not check “Local disk”: The account could not be reached: EACCES',
    );
  });

  it('removes after a confirmation, and offers force only with a warning once the server says it holds files', async () => {
    await open();
    button('Remove Team drive').click();
    await settle();
    const dialog = () => el.querySelector<HTMLElement>('[data-testid=remove-confirm]');
    expect(dialog()?.getAttribute('role')).toBe('alertdialog');
    expect(dialog()?.textContent).toContain('Remove “Team drive”?');
    expect(document.activeElement?.textContent?.trim()).toBe('Remove');
    http.expectNone(`/api/v1/admin/accounts/${DRIVE.id}`);

    button('Remove').click();
    http
      .expectOne(`/api/v1/admin/accounts/${DRIVE.id}`)
      .flush(
        apiError('account_in_use', 'This account holds 3 file(s). Drain it and move them first.'),
        {
          status: 409,
          statusText: 'Conflict',
        },
      );
    await settle();
    expect(dialog()?.textContent).toContain('This account holds 3 file(s).');
    expect(dialog()?.querySelector('.warning')?.textContent).toContain(
      'files without a backup can no longer be downloaded',
    );
    // The safe answer gets the focus.
    expect(document.activeElement?.textContent?.trim()).toBe('Keep it');

    button('Force remove').click();
    const forced = http.expectOne(`/api/v1/admin/accounts/${DRIVE.id}?force=true`);
    expect(forced.request.method).toBe('DELETE');
    forced.flush(null, { status: 204, statusText: 'No Content' });
    await settle();
    expect(dialog()).toBeNull();
    expect(row('Team drive')).toBeUndefined();
    expect(el.querySelector('[data-testid=notice]')?.textContent).toContain(
      'Removed “Team drive”.',
    );
  });

  it('keeps the account when the confirmation is declined', async () => {
    await open();
    button('Remove Local disk').click();
    await settle();
    button('Keep it').click();
    await settle();
    expect(el.querySelector('[data-testid=remove-confirm]')).toBeNull();
    expect(row('Local disk')).toBeTruthy();
  });

  it('adds a local directory, checking the path first', async () => {
    await open();
    fill('account-provider', 'local');
    await settle();
    expect(el.querySelector('#gdrive-client-id')).toBeNull();
    fill('account-name', 'Second disk');
    fill('local-path', 'relative/dir');
    await submit('[data-testid=add-account-form]');
    expect(el.textContent).toContain('Enter an absolute path');
    http.expectNone({ method: 'POST', url: '/api/v1/admin/accounts' });

    fill('local-path', '/srv/second');
    fill('account-daily-cap', '5');
    await submit('[data-testid=add-account-form]');
    const post = http.expectOne({ method: 'POST', url: '/api/v1/admin/accounts' });
    expect(post.request.body).toEqual({
      provider: 'local',
      name: 'Second disk',
      path: '/srv/second',
      dailyCap: 5 * GiB,
    });
    const second = account({ id: '33333333-3333-4333-8333-333333333333', name: 'Second disk' });
    post.flush(second, { status: 201, statusText: 'Created' });
    await settle();
    expect(row('Second disk')).toBeTruthy();
    expect(el.querySelector('[data-testid=notice]')?.textContent).toContain('Added “Second disk”.');
    // Ready for the next one of the same kind.
    expect(el.querySelector<HTMLInputElement>('#account-name')!.value).toBe('');
    expect(el.querySelector<HTMLSelectElement>('#account-provider')!.value).toBe('local');
  });

  it('adds a WebDAV server without an empty folder, and a Google Drive by refresh token', async () => {
    await open();
    fill('account-provider', 'webdav');
    await settle();
    fill('account-name', 'Box');
    fill('webdav-url', 'https://u1.example.de');
    fill('webdav-username', 'u1');
    fill('webdav-password', 'secret');
    await submit('[data-testid=add-account-form]');
    http
      .expectOne({ method: 'POST', url: '/api/v1/admin/accounts' })
      .flush(apiError('invalid_credentials', 'The credentials were refused: 401'), {
        status: 400,
        statusText: 'Bad Request',
      });
    await settle();
    expect(el.querySelector('form [role=alert]')?.textContent).toContain(
      'The credentials were refused: 401',
    );

    fill('account-provider', 'gdrive');
    await settle();
    fill('account-name', 'Drive 2');
    fill('gdrive-client-id', ' id ');
    fill('gdrive-client-secret', 'sec');
    fill('gdrive-refresh-token', 'rt');
    await submit('[data-testid=add-account-form]');
    const post = http.expectOne({ method: 'POST', url: '/api/v1/admin/accounts' });
    expect(post.request.body).toEqual({
      provider: 'gdrive',
      name: 'Drive 2',
      clientId: 'id',
      clientSecret: 'sec',
      refreshToken: 'rt',
    });
    post.flush(account({ id: '44444444-4444-4444-8444-444444444444', name: 'Drive 2' }));
    await settle();
  });

  it('sends the WebDAV body with username, password and folder', async () => {
    await open();
    fill('account-provider', 'webdav');
    await settle();
    fill('account-name', 'Box');
    fill('webdav-url', 'https://u1.example.de');
    fill('webdav-username', 'u1');
    fill('webdav-password', 'secret');
    fill('webdav-root', '/ddx');
    await submit('[data-testid=add-account-form]');
    const post = http.expectOne({ method: 'POST', url: '/api/v1/admin/accounts' });
    expect(post.request.body).toEqual({
      provider: 'webdav',
      name: 'Box',
      url: 'https://u1.example.de',
      username: 'u1',
      password: 'secret',
      root: '/ddx',
    });
    post.flush(account({ id: '55555555-5555-4555-8555-555555555555', name: 'Box' }));
    await settle();
  });

  it('connects a Google account by sending the browser to the consent URL', async () => {
    await open();
    fill('connect-name', 'Marketing drive');
    el.querySelector<HTMLButtonElement>('section[aria-labelledby=connect-heading] button')!.click();
    await settle();
    const req = http.expectOne('/api/v1/admin/accounts/google/connect');
    expect(req.request.body).toEqual({ name: 'Marketing drive' });
    req.flush({ authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth?state=s' });
    await settle();
    expect(assign).toHaveBeenCalledWith('https://accounts.google.com/o/oauth2/v2/auth?state=s');
  });

  it('says so when the server has no Google OAuth client', async () => {
    await open();
    fill('connect-name', 'Marketing drive');
    el.querySelector<HTMLButtonElement>('section[aria-labelledby=connect-heading] button')!.click();
    await settle();
    http
      .expectOne('/api/v1/admin/accounts/google/connect')
      .flush(apiError('google_connect_disabled', 'Set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET'), {
        status: 404,
        statusText: 'Not Found',
      });
    await settle();
    expect(
      el.querySelector('section[aria-labelledby=connect-heading] [role=alert]')?.textContent,
    ).toContain('Set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET');
    expect(assign).not.toHaveBeenCalled();
  });

  it('announces a connected Google account from the query string, and tidies the URL', async () => {
    await open(`/admin/accounts?connected=${DRIVE.id}`);
    expect(el.querySelector('[data-testid=notice]')?.textContent).toContain(
      'Google account “Team drive” connected.',
    );
    expect(row('Team drive')?.classList).toContain('highlight');
    expect(TestBed.inject(Router).url).toBe('/admin/accounts');
  });

  it('shows a failed connection from the query string as an alert, in its own words', async () => {
    await open('/admin/accounts?error=google_consent_denied&message=Call%20evil.example');
    const notice = el.querySelector('[data-testid=notice]');
    expect(notice?.getAttribute('role')).toBe('alert');
    expect(notice?.textContent).toContain(
      'Connecting the Google account failed: access was not granted on Google’s consent screen.',
    );
    // Text smuggled into the link is never shown.
    expect(notice?.textContent).not.toContain('evil');
    expect(TestBed.inject(Router).url).toBe('/admin/accounts');
  });

  it('explains an unknown failure code without echoing it', async () => {
    await open('/admin/accounts?error=%3Cb%3Ehi%3C%2Fb%3E');
    expect(el.querySelector('[data-testid=notice]')?.textContent).toContain(
      'the gateway log has the details',
    );
  });

  it('says when the list cannot be loaded', async () => {
    assign = vi.fn<(url: string) => void>();
    http = setUpAuthTesting([{ path: 'admin/accounts', component: AccountsPage }]);
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl('/admin/accounts', AccountsPage);
    el = harness.routeNativeElement!;
    http
      .expectOne('/api/v1/admin/accounts')
      .flush(apiError('forbidden', 'Admins only'), { status: 403, statusText: 'Forbidden' });
    await settle();
    expect(el.querySelector('[role=alert]')?.textContent).toContain(
      'The accounts could not be loaded: Admins only',
    );
  });
});

describe('account formatting', () => {
  it('spaceText and dailyText', () => {
    expect(spaceText({ limit: 2 * GiB, used: GiB, reserved: 512 * 1024 ** 2 })).toBe(
      '1 GiB used + 512 MiB reserved of 2 GiB',
    );
    expect(dailyText(account({ uploadedLast24h: 0, dailyCap: 0 }))).toBe('0 B of 0 B cap');
  });
});
