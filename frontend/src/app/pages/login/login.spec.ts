import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { Component } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import { RouterTestingHarness } from '@angular/router/testing';
import { authInterceptor } from '../../core/auth/auth.interceptor';
import { AuthService, REFRESH_TOKEN_KEY } from '../../core/auth/auth.service';
import { apiError, flushMicrotasks, pair, USER } from '../../core/auth/testing';
import { LoginPage, safeReturnUrl } from './login';

@Component({ template: 'elsewhere' })
class Elsewhere {}

describe('LoginPage', () => {
  let http: HttpTestingController;
  let harness: RouterTestingHarness;

  async function open(url = '/login', providers = { google: false }): Promise<HTMLElement> {
    TestBed.configureTestingModule({
      providers: [
        provideRouter([
          { path: 'login', component: LoginPage },
          { path: '**', component: Elsewhere },
        ]),
        provideHttpClient(withInterceptors([authInterceptor])),
        provideHttpClientTesting(),
      ],
    });
    http = TestBed.inject(HttpTestingController);
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl(url, LoginPage);
    http.expectOne('/api/v1/auth/providers').flush(providers);
    await harness.fixture.whenStable();
    return harness.routeNativeElement!;
  }

  async function fill(el: HTMLElement, email: string, password: string): Promise<void> {
    for (const [id, value] of [
      ['email', email],
      ['password', password],
    ] as const) {
      const input = el.querySelector<HTMLInputElement>(`#${id}`)!;
      input.value = value;
      input.dispatchEvent(new Event('input'));
    }
    el.querySelector<HTMLButtonElement>('button[type=submit]')!.click();
    await harness.fixture.whenStable();
  }

  /** Lets the settled login promise run on, then renders. */
  async function settle(): Promise<void> {
    await flushMicrotasks();
    await harness.fixture.whenStable();
    harness.detectChanges();
  }

  beforeEach(() => localStorage.clear());
  afterEach(() => http.verify());

  it('has labelled email and password inputs and links to the register page', async () => {
    const el = await open();
    expect(el.querySelector('label[for=email]')).not.toBeNull();
    expect(el.querySelector('label[for=password]')).not.toBeNull();
    expect(el.querySelector('a[href="/register"]')).not.toBeNull();
  });

  it('validates before sending anything', async () => {
    const el = await open();
    await fill(el, 'not-an-email', '');
    harness.detectChanges();
    http.expectNone('/api/v1/auth/token');
    expect(el.textContent).toContain('Enter a valid email address.');
    expect(el.textContent).toContain('Enter your password.');
  });

  it('shows the server error message in an alert, and re-enables the button', async () => {
    const el = await open();
    await fill(el, 'a@example.com', 'password123');
    harness.detectChanges();
    const button = el.querySelector<HTMLButtonElement>('button[type=submit]')!;
    expect(button.disabled).toBe(true);
    http
      .expectOne('/api/v1/auth/token')
      .flush(apiError('invalid_credentials', 'Email or password is incorrect'), {
        status: 401,
        statusText: 'Unauthorized',
      });
    await settle();
    expect(el.querySelector('[role=alert]')?.textContent).toContain(
      'Email or password is incorrect',
    );
    expect(button.disabled).toBe(false);
  });

  it('shows the retry delay when throttled', async () => {
    const el = await open();
    await fill(el, 'a@example.com', 'password123');
    http
      .expectOne('/api/v1/auth/token')
      .flush(apiError('too_many_attempts', 'Too many failed sign-in attempts'), {
        status: 429,
        statusText: 'Too Many Requests',
        headers: { 'Retry-After': '120' },
      });
    await settle();
    expect(el.querySelector('[role=alert]')?.textContent).toContain(
      'Too many attempts — try again in 120 seconds',
    );
  });

  it('signs in and goes back to the returnUrl', async () => {
    const el = await open('/login?returnUrl=%2Ffiles%3Fq%3Dx');
    await fill(el, 'a@example.com', 'password123');
    http.expectOne('/api/v1/auth/token').flush(pair(1));
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    await settle();
    expect(TestBed.inject(Router).url).toBe('/files?q=x');
    expect(TestBed.inject(AuthService).currentUser()).toEqual(USER);
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-1');
  });

  it('goes to the dashboard without a returnUrl', async () => {
    const el = await open();
    await fill(el, 'a@example.com', 'password123');
    http.expectOne('/api/v1/auth/token').flush(pair(1));
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    await settle();
    expect(TestBed.inject(Router).url).toBe('/dashboard');
  });

  it('offers Google sign-in only when the server has it', async () => {
    let el = await open('/login', { google: false });
    expect(el.querySelector('a[href="/api/v1/auth/google"]')).toBeNull();
    TestBed.resetTestingModule();
    el = await open('/login', { google: true });
    expect(el.querySelector('a[href="/api/v1/auth/google"]')?.textContent).toContain(
      'Sign in with Google',
    );
  });

  it('follows only same-app return URLs', () => {
    expect(safeReturnUrl('/dashboard?x=1')).toBe('/dashboard?x=1');
    expect(safeReturnUrl('//evil.example')).toBe('/dashboard');
    expect(safeReturnUrl('/\\evil.example')).toBe('/dashboard');
    expect(safeReturnUrl('https://evil.example')).toBe('/dashboard');
    expect(safeReturnUrl(null)).toBe('/dashboard');
  });
});
