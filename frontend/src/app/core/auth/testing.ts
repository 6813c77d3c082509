import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, type Routes } from '@angular/router';
import { authInterceptor } from './auth.interceptor';
import type { AuthService } from './auth.service';
import type { TokenPair, User } from './auth.types';

/** Test fixtures for the auth API (used by specs only). */
export const USER: User = {
  id: 'u1',
  email: 'a@example.com',
  role: 'user',
  storageUsed: 0,
  storageQuota: 10 * 1024 ** 3,
};

export function pair(n: number): TokenPair {
  return {
    access_token: `access-${n}`,
    refresh_token: `refresh-${n}`,
    token_type: 'bearer',
    expires_in: 900,
  };
}

/** Lets pending promise continuations run, so the next request is issued. */
export const flushMicrotasks = (): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, 0));

/** Signs in through the real service against the testing backend: access-1 / refresh-1. */
export async function signIn(
  auth: AuthService,
  http: HttpTestingController,
  user: User = USER,
): Promise<void> {
  const done = auth.login(user.email, 'password123');
  http.expectOne('/api/v1/auth/token').flush(pair(1));
  await flushMicrotasks();
  http.expectOne('/api/v1/auth/users/me').flush(user);
  await done;
}

/** The error body every API failure carries. */
export const apiError = (code: string, message = code) => ({ error: { code, message } });

/**
 * A fresh TestBed with the app's real HTTP stack (auth interceptor included)
 * backed by HttpTestingController, and empty storage. Returns the controller.
 */
export function setUpAuthTesting(routes: Routes = []): HttpTestingController {
  localStorage.clear();
  TestBed.configureTestingModule({
    providers: [provideRouter(routes), provideHttpClient(withInterceptors([authInterceptor])), provideHttpClientTesting()],
  });
  return TestBed.inject(HttpTestingController);
}
