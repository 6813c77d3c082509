import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { Component } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import { RouterTestingHarness } from '@angular/router/testing';
import { authInterceptor } from '../../core/auth/auth.interceptor';
import { AuthService, REFRESH_TOKEN_KEY } from '../../core/auth/auth.service';
import { flushMicrotasks, USER } from '../../core/auth/testing';
import { AuthCallbackPage } from './auth-callback';

@Component({ template: 'elsewhere' })
class Elsewhere {}

describe('AuthCallbackPage', () => {
  let http: HttpTestingController;

  async function open(
    fragment: string,
  ): Promise<{ harness: RouterTestingHarness; el: HTMLElement }> {
    localStorage.clear();
    // The gateway's redirect lands the browser here with the outcome in the fragment.
    history.replaceState(null, '', `/auth/callback#${fragment}`);
    TestBed.configureTestingModule({
      providers: [
        provideRouter([
          { path: 'auth/callback', component: AuthCallbackPage },
          { path: '**', component: Elsewhere },
        ]),
        provideHttpClient(withInterceptors([authInterceptor])),
        provideHttpClientTesting(),
      ],
    });
    http = TestBed.inject(HttpTestingController);
    const harness = await RouterTestingHarness.create();
    await harness.navigateByUrl('/auth/callback', AuthCallbackPage);
    return { harness, el: harness.routeNativeElement! };
  }
  afterEach(() => {
    history.replaceState(null, '', '/');
    http.verify();
  });

  it('trades the handover cookie for tokens, clears the fragment and opens the dashboard', async () => {
    const { harness } = await open('status=ok');
    expect(location.hash).toBe('');
    expect(location.pathname).toBe('/auth/callback');
    const exchange = http.expectOne('/api/v1/auth/google/exchange');
    expect(exchange.request.method).toBe('POST');
    expect(exchange.request.headers.has('Authorization')).toBe(false);
    exchange.flush({ access_token: 'acc-g', refresh_token: 'ref-g', token_type: 'bearer', expires_in: 900 });
    await flushMicrotasks();
    const me = http.expectOne('/api/v1/auth/users/me');
    expect(me.request.headers.get('Authorization')).toBe('Bearer acc-g');
    me.flush(USER);
    await flushMicrotasks();
    await harness.fixture.whenStable();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe('ref-g');
    expect(TestBed.inject(AuthService).currentUser()).toEqual(USER);
    expect(TestBed.inject(Router).url).toBe('/dashboard');
  });

  it('ignores tokens planted in the fragment (login CSRF)', async () => {
    const { harness, el } = await open('access_token=attacker&refresh_token=attacker&expires_in=900');
    harness.detectChanges();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(el.querySelector('[role=alert]')).not.toBeNull();
  });

  it('shows the gateway error when the exchange is refused', async () => {
    const { harness, el } = await open('status=ok');
    http
      .expectOne('/api/v1/auth/google/exchange')
      .flush({ error: { code: 'google_login_expired', message: 'The Google sign-in expired' } }, { status: 401, statusText: 'Unauthorized' });
    await flushMicrotasks();
    harness.detectChanges();
    expect(el.querySelector('[role=alert]')?.textContent).toContain('The Google sign-in expired');
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
  });

  it('shows the error the gateway reported, with a way back to the login page', async () => {
    const { harness, el } = await open(
      'error=google_email_unverified&message=Your%20Google%20account%20has%20no%20verified%20email%20address',
    );
    harness.detectChanges();
    expect(location.hash).toBe('');
    expect(el.querySelector('[role=alert]')?.textContent).toContain(
      'Your Google account has no verified email address',
    );
    expect(el.querySelector('a[href="/login"]')).not.toBeNull();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
  });
});
