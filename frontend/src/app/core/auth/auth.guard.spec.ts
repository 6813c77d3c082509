import { provideHttpClient } from '@angular/common/http';
import { provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { type ActivatedRouteSnapshot, provideRouter, type RouterStateSnapshot, UrlTree } from '@angular/router';
import { authGuard, guestGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { USER } from './testing';

describe('guards', () => {
  beforeEach(() => {
    localStorage.clear();
    TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
  });

  const run = (guard: typeof authGuard, url: string) =>
    TestBed.runInInjectionContext(() => guard({} as ActivatedRouteSnapshot, { url } as RouterStateSnapshot));

  it('sends a logged-out visitor to /login with the returnUrl', () => {
    const result = run(authGuard, '/dashboard');
    expect(result).toBeInstanceOf(UrlTree);
    expect((result as UrlTree).toString()).toBe('/login?returnUrl=%2Fdashboard');
  });

  it('lets a signed-in user through, and keeps them off the login page', () => {
    const auth = TestBed.inject(AuthService);
    (auth as unknown as { user: { set(u: typeof USER): void } }).user.set(USER);
    expect(run(authGuard, '/dashboard')).toBe(true);
    expect((run(guestGuard, '/login') as UrlTree).toString()).toBe('/dashboard');
  });
});
