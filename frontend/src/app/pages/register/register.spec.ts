import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { Component } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import { RouterTestingHarness } from '@angular/router/testing';
import { authInterceptor } from '../../core/auth/auth.interceptor';
import { AuthService } from '../../core/auth/auth.service';
import { apiError, flushMicrotasks, pair, USER } from '../../core/auth/testing';
import { RegisterPage } from './register';

@Component({ template: 'elsewhere' })
class Elsewhere {}

describe('RegisterPage', () => {
  let http: HttpTestingController;
  let harness: RouterTestingHarness;
  let el: HTMLElement;

  beforeEach(async () => {
    localStorage.clear();
    TestBed.configureTestingModule({
      providers: [
        provideRouter([
          { path: 'register', component: RegisterPage },
          { path: '**', component: Elsewhere },
        ]),
        provideHttpClient(withInterceptors([authInterceptor])),
        provideHttpClientTesting(),
      ],
    });
    http = TestBed.inject(HttpTestingController);
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl('/register', RegisterPage);
    el = harness.routeNativeElement!;
  });
  afterEach(() => http.verify());

  async function submit(values: {
    email: string;
    password: string;
    confirmPassword: string;
  }): Promise<void> {
    for (const [id, value] of Object.entries(values)) {
      const input = el.querySelector<HTMLInputElement>(`#${id}`)!;
      input.value = value;
      input.dispatchEvent(new Event('input'));
    }
    el.querySelector<HTMLButtonElement>('button[type=submit]')!.click();
    await flushMicrotasks();
    await harness.fixture.whenStable();
    harness.detectChanges();
  }

  it('links to the login page', () => {
    expect(el.querySelector('a[href="/login"]')).not.toBeNull();
  });

  it('refuses a short password and a mismatched confirmation without calling the API', async () => {
    await submit({ email: 'a@example.com', password: 'short', confirmPassword: 'different' });
    http.expectNone('/api/v1/auth/register');
    expect(el.textContent).toContain('Use at least 10 characters.');
    expect(el.textContent).toContain('The passwords do not match.');
  });

  it('registers, signs in with the same credentials and opens the dashboard', async () => {
    await submit({
      email: 'new@example.com',
      password: 'long enough pw',
      confirmPassword: 'long enough pw',
    });
    const register = http.expectOne('/api/v1/auth/register');
    expect(register.request.body).toEqual({ email: 'new@example.com', password: 'long enough pw' });
    register.flush({ user: USER }, { status: 201, statusText: 'Created' });
    await flushMicrotasks();
    const token = http.expectOne('/api/v1/auth/token');
    expect(token.request.body).toEqual({ email: 'new@example.com', password: 'long enough pw' });
    token.flush(pair(1));
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    await flushMicrotasks();
    await harness.fixture.whenStable();
    expect(TestBed.inject(Router).url).toBe('/dashboard');
    expect(TestBed.inject(AuthService).isLoggedIn()).toBe(true);
  });

  it('shows the server message when the email is taken', async () => {
    await submit({
      email: 'a@example.com',
      password: 'long enough pw',
      confirmPassword: 'long enough pw',
    });
    http
      .expectOne('/api/v1/auth/register')
      .flush(apiError('email_taken', 'An account with this email already exists'), {
        status: 409,
        statusText: 'Conflict',
      });
    await flushMicrotasks();
    harness.detectChanges();
    expect(el.querySelector('[role=alert]')?.textContent).toContain(
      'An account with this email already exists',
    );
    http.expectNone('/api/v1/auth/token');
    expect(el.querySelector<HTMLButtonElement>('button[type=submit]')!.disabled).toBe(false);
  });

  it('says the account exists when only the automatic sign-in fails', async () => {
    await submit({
      email: 'a@example.com',
      password: 'long enough pw',
      confirmPassword: 'long enough pw',
    });
    http
      .expectOne('/api/v1/auth/register')
      .flush({ user: USER }, { status: 201, statusText: 'Created' });
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/token').flush(apiError('too_many_attempts', 'x'), {
      status: 429,
      statusText: 'Too Many Requests',
      headers: { 'Retry-After': '30' },
    });
    await flushMicrotasks();
    harness.detectChanges();
    const alert = el.querySelector('[role=alert]')?.textContent ?? '';
    expect(alert).toContain('Your account was created');
    expect(alert).toContain('try again in 30 seconds');
  });
});
