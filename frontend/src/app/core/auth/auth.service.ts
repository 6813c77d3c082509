import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { computed, inject, Injectable, signal } from '@angular/core';
import { Router } from '@angular/router';
import { firstValueFrom } from 'rxjs';
import type { TokenPair, User } from './auth.types';

export const REFRESH_TOKEN_KEY = 'ddx.refresh_token';
const API = '/api/v1/auth';

/**
 * Holds the session. The access token lives only in memory (short-lived);
 * the refresh token is kept in localStorage so a reload stays signed in. The
 * server rotates refresh tokens, so every refresh stores the new one.
 */
@Injectable({ providedIn: 'root' })
export class AuthService {
  private readonly http = inject(HttpClient);
  private readonly router = inject(Router);

  private accessToken: string | null = null;
  private accessExpiresAt = 0;
  private refreshing: Promise<string> | null = null;

  private readonly user = signal<User | null>(null);
  readonly currentUser = this.user.asReadonly();
  readonly isLoggedIn = computed(() => this.user() !== null);

  /** The current access token, if one is held and not about to expire. */
  get token(): string | null {
    return this.accessToken && Date.now() < this.accessExpiresAt - 10_000 ? this.accessToken : null;
  }

  get hasRefreshToken(): boolean {
    return localStorage.getItem(REFRESH_TOKEN_KEY) !== null;
  }

  async register(email: string, password: string): Promise<User> {
    const res = await firstValueFrom(
      this.http.post<{ user: User }>(`${API}/register`, { email, password }),
    );
    return res.user;
  }

  async login(email: string, password: string): Promise<User> {
    const pair = await firstValueFrom(
      this.http.post<TokenPair>(`${API}/token`, { email, password }),
    );
    return this.startSession(pair);
  }

  /** Completes Google sign-in: trades the gateway's one-minute httpOnly handover cookie for tokens. */
  async exchangeGoogleLogin(): Promise<User> {
    const pair = await firstValueFrom(this.http.post<TokenPair>(`${API}/google/exchange`, {}));
    return this.startSession(pair);
  }

  /**
   * Gets a new access token with the stored refresh token. Concurrent callers
   * share one request: the server rotates the token, so a second parallel
   * refresh with the same token would be treated as theft.
   */
  refresh(): Promise<string> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /**
   * On app start: resume a stored session, if any. Never throws. A session the
   * server refuses is forgotten; one it could not be asked about (offline,
   * gateway restarting) is kept for the next attempt, but nobody is signed in.
   */
  async restore(): Promise<void> {
    if (!this.hasRefreshToken) return;
    try {
      await this.refresh();
      await this.loadMe();
    } catch (err) {
      if (isRefusal(err)) {
        this.clear();
      } else {
        this.accessToken = null;
        this.user.set(null);
      }
    }
  }

  async loadMe(): Promise<User> {
    const me = await firstValueFrom(this.http.get<User>(`${API}/users/me`));
    this.user.set(me);
    return me;
  }

  /** Ends the session on the server (best effort) and always locally. */
  async logout(): Promise<void> {
    try {
      if (this.token !== null || this.hasRefreshToken) {
        // The call needs a valid access token; get one first so the body carries the current refresh token.
        if (this.token === null) await this.refresh();
        const refresh_token = localStorage.getItem(REFRESH_TOKEN_KEY) ?? undefined;
        await firstValueFrom(this.http.post(`${API}/logout`, { refresh_token }));
      }
    } catch {
      // The local session ends regardless; the server-side token expires on its own.
    } finally {
      this.clear();
      await this.router.navigate(['/login']);
    }
  }

  clear(): void {
    this.accessToken = null;
    this.accessExpiresAt = 0;
    localStorage.removeItem(REFRESH_TOKEN_KEY);
    this.user.set(null);
  }

  private async startSession(pair: TokenPair): Promise<User> {
    this.store(pair);
    return this.loadMe();
  }

  /**
   * Tabs share the stored refresh token, and the server treats a second use of
   * a rotated token as theft. A Web Lock makes tabs refresh one at a time, each
   * reading the token only once it holds the lock, so it always has the newest.
   */
  private async doRefresh(): Promise<string> {
    const run = async (): Promise<string> => {
      const refresh_token = localStorage.getItem(REFRESH_TOKEN_KEY);
      if (!refresh_token) throw new Error('No refresh token');
      const pair = await firstValueFrom(this.http.post<TokenPair>(`${API}/refresh`, { refresh_token }));
      this.store(pair);
      return pair.access_token;
    };
    const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
    return locks ? locks.request('ddx-refresh', run) : run();
  }

  private store(pair: TokenPair): void {
    this.accessToken = pair.access_token;
    // A missing or nonsensical lifetime makes the token count as expired: the next request refreshes first.
    const lifetime = Number.isFinite(pair.expires_in) && pair.expires_in > 0 ? pair.expires_in : 0;
    this.accessExpiresAt = Date.now() + lifetime * 1000;
    localStorage.setItem(REFRESH_TOKEN_KEY, pair.refresh_token);
  }
}

/**
 * The server has refused the session (as opposed to being unreachable, restarting
 * or throttling us): only then is the stored session forgotten.
 */
export function isRefusal(err: unknown): boolean {
  return err instanceof HttpErrorResponse && err.status >= 400 && err.status < 500 && err.status !== 429;
}
