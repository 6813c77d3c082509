import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import {
  type ActivatedRouteSnapshot,
  type RouterStateSnapshot,
  UrlTree,
} from '@angular/router';
import { authGuard, guestGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { signIn, setUpAuthTesting } from './testing';

describe('guards', () => {
  beforeEach(() => {
    setUpAuthTesting();
  });
  afterEach(() => TestBed.inject(HttpTestingController).verify());

  const run = (guard: typeof authGuard, url: string) =>
    TestBed.runInInjectionContext(() =>
      guard({} as ActivatedRouteSnapshot, { url } as RouterStateSnapshot),
    );

  it('sends a logged-out visitor to /login with the returnUrl', () => {
    const result = run(authGuard, '/dashboard?tab=files');
    expect(result).toBeInstanceOf(UrlTree);
    expect((result as UrlTree).toString()).toBe('/login?returnUrl=%2Fdashboard%3Ftab%3Dfiles');
    expect(run(guestGuard, '/login')).toBe(true);
  });

  it('lets a signed-in user through, and keeps them off the login and register pages', async () => {
    await signIn(TestBed.inject(AuthService), TestBed.inject(HttpTestingController));
    expect(run(authGuard, '/dashboard')).toBe(true);
    expect((run(guestGuard, '/login') as UrlTree).toString()).toBe('/dashboard');
    expect((run(guestGuard, '/register') as UrlTree).toString()).toBe('/dashboard');
  });
});
