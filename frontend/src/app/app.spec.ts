import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { Router } from '@angular/router';
import { App } from './app';
import { AuthService, REFRESH_TOKEN_KEY } from './core/auth/auth.service';
import { flushMicrotasks, signIn, setUpAuthTesting, USER } from './core/auth/testing';

describe('App shell', () => {
  let http: HttpTestingController;

  beforeEach(() => {
    http = setUpAuthTesting();
  });
  afterEach(() => http.verify());

  it('shows the product name, and the email and a logout button only when signed in', async () => {
    const fixture = TestBed.createComponent(App);
    await fixture.whenStable();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('header')?.textContent).toContain('DirectDriveX');
    expect(el.querySelector('[data-testid=logout]')).toBeNull();

    await signIn(TestBed.inject(AuthService), http);
    await fixture.whenStable();
    expect(el.querySelector('header')?.textContent).toContain('a@example.com');
    expect(el.querySelector('[data-testid=logout]')?.textContent?.trim()).toBe('Log out');
  });

  it('links to the storage accounts and backups only for admins', async () => {
    const fixture = TestBed.createComponent(App);
    const el = fixture.nativeElement as HTMLElement;
    await signIn(TestBed.inject(AuthService), http);
    await fixture.whenStable();
    expect(el.querySelector('nav a[href="/dashboard"]')).not.toBeNull();
    expect(el.querySelector('[data-testid=nav-admin-accounts]')).toBeNull();
    expect(el.querySelector('[data-testid=nav-admin-backups]')).toBeNull();

    await signIn(TestBed.inject(AuthService), http, { ...USER, role: 'admin' });
    await fixture.whenStable();
    const link = el.querySelector<HTMLAnchorElement>('[data-testid=nav-admin-accounts]');
    expect(link?.getAttribute('href')).toBe('/admin/accounts');
    expect(link?.textContent?.trim()).toBe('Storage accounts');
    const backups = el.querySelector<HTMLAnchorElement>('[data-testid=nav-admin-backups]');
    expect(backups?.getAttribute('href')).toBe('/admin/backups');
    expect(backups?.textContent?.trim()).toBe('Backups');
  });

  it('logs out from the header', async () => {
    const fixture = TestBed.createComponent(App);
    await signIn(TestBed.inject(AuthService), http);
    await fixture.whenStable();
    const navigate = vi.spyOn(TestBed.inject(Router), 'navigate').mockResolvedValue(true);
    const el = fixture.nativeElement as HTMLElement;
    el.querySelector<HTMLButtonElement>('[data-testid=logout]')!.click();
    http.expectOne('/api/v1/auth/logout').flush(null, { status: 204, statusText: 'No Content' });
    await flushMicrotasks();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=logout]')).toBeNull();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(navigate).toHaveBeenCalledWith(['/login']);
  });
});
