import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { AuthService } from '../../core/auth/auth.service';
import { flushMicrotasks, signIn, USER, setUpAuthTesting } from '../../core/auth/testing';
import { DashboardPage } from './dashboard';

describe('DashboardPage', () => {
  let http: HttpTestingController;

  beforeEach(async () => {
    http = setUpAuthTesting();
    await signIn(TestBed.inject(AuthService), http);
  });
  afterEach(() => http.verify());

  it('shows who is signed in and their storage, refreshed from the server', async () => {
    const fixture = TestBed.createComponent(DashboardPage);
    fixture.detectChanges();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('[data-testid=user-email]')?.textContent).toBe('a@example.com');
    expect(el.querySelector('[data-testid=user-role]')?.textContent).toBe('user');
    expect(el.querySelector('[data-testid=storage]')?.textContent).toBe('0 B of 10 GiB used (0%)');

    http
      .expectOne('/api/v1/auth/users/me')
      .flush({ ...USER, role: 'admin', storageUsed: 2.5 * 1024 ** 3 });
    await flushMicrotasks();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=user-role]')?.textContent).toBe('admin');
    expect(el.querySelector('[data-testid=storage]')?.textContent).toBe(
      '2.5 GiB of 10 GiB used (25%)',
    );
    expect(el.querySelector('progress')?.value).toBe(2.5 * 1024 ** 3);
  });
});
