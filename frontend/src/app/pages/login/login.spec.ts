import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { LoginPage, safeReturnUrl } from './login';

describe('LoginPage', () => {
  let http: HttpTestingController;

  async function render() {
    TestBed.configureTestingModule({ imports: [LoginPage], providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
    http = TestBed.inject(HttpTestingController);
    const fixture = TestBed.createComponent(LoginPage);
    fixture.detectChanges();
    http.expectOne('/api/v1/auth/providers').flush({ google: true });
    await fixture.whenStable();
    return fixture;
  }

  async function submit(fixture: Awaited<ReturnType<typeof render>>) {
    const el = fixture.nativeElement as HTMLElement;
    const email = el.querySelector<HTMLInputElement>('#email')!;
    const password = el.querySelector<HTMLInputElement>('#password')!;
    email.value = 'a@example.com';
    email.dispatchEvent(new Event('input'));
    password.value = 'password123';
    password.dispatchEvent(new Event('input'));
    el.querySelector<HTMLButtonElement>('button[type=submit]')!.click();
    await fixture.whenStable();
  }

  /** Lets the rejected login promise settle before the view is checked. */
  const settle = async (fixture: Awaited<ReturnType<typeof render>>) => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    await fixture.whenStable();
    fixture.detectChanges();
  };

  beforeEach(() => localStorage.clear());

  it('shows the server error message in an alert', async () => {
    const fixture = await render();
    await submit(fixture);
    http.expectOne('/api/v1/auth/token').flush({ error: { code: 'invalid_credentials', message: 'Email or password is incorrect' } }, { status: 401, statusText: 'Unauthorized' });
    await settle(fixture);
    expect((fixture.nativeElement as HTMLElement).querySelector('[role=alert]')?.textContent).toContain('Email or password is incorrect');
  });

  it('shows the retry delay when throttled', async () => {
    const fixture = await render();
    await submit(fixture);
    http.expectOne('/api/v1/auth/token').flush({ error: { code: 'too_many_attempts', message: 'x' } }, { status: 429, statusText: 'Too Many Requests', headers: { 'Retry-After': '120' } });
    await settle(fixture);
    expect((fixture.nativeElement as HTMLElement).querySelector('[role=alert]')?.textContent).toContain('try again in 120 seconds');
  });

  it('offers Google sign-in only when the server has it', async () => {
    const fixture = await render();
    fixture.detectChanges();
    expect((fixture.nativeElement as HTMLElement).querySelector('a[href="/api/v1/auth/google"]')).not.toBeNull();
  });

  it('follows only same-app return URLs', () => {
    expect(safeReturnUrl('/dashboard?x=1')).toBe('/dashboard?x=1');
    expect(safeReturnUrl('//evil.example')).toBe('/dashboard');
    expect(safeReturnUrl('https://evil.example')).toBe('/dashboard');
    expect(safeReturnUrl(null)).toBe('/dashboard');
  });
});
