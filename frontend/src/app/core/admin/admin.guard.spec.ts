import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import type { ActivatedRouteSnapshot, RouterStateSnapshot, UrlTree } from '@angular/router';
import { AuthService } from '../auth/auth.service';
import { setUpAuthTesting, signIn, USER } from '../auth/testing';
import { adminGuard } from './admin.guard';

describe('adminGuard', () => {
  let http: HttpTestingController;
  beforeEach(() => {
    http = setUpAuthTesting();
  });
  afterEach(() => http.verify());

  const run = () =>
    TestBed.runInInjectionContext(() =>
      adminGuard({} as ActivatedRouteSnapshot, { url: '/admin/accounts' } as RouterStateSnapshot),
    );

  it('lets an admin in', async () => {
    await signIn(TestBed.inject(AuthService), http, { ...USER, role: 'admin' });
    expect(run()).toBe(true);
  });

  it('sends anyone else to the dashboard', async () => {
    expect((run() as UrlTree).toString()).toBe('/dashboard');
    await signIn(TestBed.inject(AuthService), http);
    expect((run() as UrlTree).toString()).toBe('/dashboard');
  });
});
