import { HttpErrorResponse, type HttpInterceptorFn, type HttpRequest } from '@angular/common/http';
import { inject } from '@angular/core';
import { Router } from '@angular/router';
import { catchError, from, switchMap, throwError } from 'rxjs';
import { AuthService, isRefusal } from './auth.service';

/**
 * Endpoints that authenticate by their body (or not at all), never by a bearer
 * token. Share links are public: a 401 there is a wrong link password, which
 * must reach the page (not trigger a refresh and a second, throttled attempt).
 */
const PUBLIC_AUTH =
  /^\/api\/v1\/(auth\/(token|register|refresh|providers|google\/exchange)(\?|$)|links\/)/;

/** Pages from which a failed session should not ask to come back to. */
const GUEST_PAGES = /^\/(login|register|auth\/callback)(\?|#|$)/;

const withToken = (req: HttpRequest<unknown>, token: string) =>
  req.clone({ setHeaders: { Authorization: `Bearer ${token}` } });

/**
 * Adds the access token to API calls. On a 401 it refreshes once (shared by
 * concurrent requests) and retries once; if the refresh fails the session is
 * over and the user goes to the login page.
 */
export const authInterceptor: HttpInterceptorFn = (req, next) => {
  if (!req.url.startsWith('/api/') || PUBLIC_AUTH.test(req.url)) return next(req);
  const auth = inject(AuthService);
  const router = inject(Router);

  const send = (token: string | null) => next(token ? withToken(req, token) : req);
  // A failed refresh ends the session; it is never retried (the server rotates refresh tokens).
  const refreshed = () =>
    from(auth.refresh()).pipe(
      catchError((refreshErr: unknown) => {
        // Offline, a restarting gateway or a 429 is not the end of the session.
        if (!isRefusal(refreshErr)) return throwError(() => refreshErr);
        auth.clear();
        const here = router.url;
        void router.navigate(
          ['/login'],
          GUEST_PAGES.test(here) || here === '/' ? {} : { queryParams: { returnUrl: here } },
        );
        return throwError(() => refreshErr);
      }),
    );

  // No valid access token but a stored session (e.g. after a reload or expiry): refresh first.
  if (auth.token === null && auth.hasRefreshToken)
    return refreshed().pipe(switchMap((token) => send(token)));

  const sentWith = auth.token;
  return send(sentWith).pipe(
    catchError((err: unknown) => {
      if (!(err instanceof HttpErrorResponse) || err.status !== 401 || !auth.hasRefreshToken)
        return throwError(() => err);
      // Another request already refreshed while this one was in flight: just retry with the new token.
      const current = auth.token;
      if (current !== null && current !== sentWith) return send(current);
      return refreshed().pipe(switchMap((token) => send(token)));
    }),
  );
};
