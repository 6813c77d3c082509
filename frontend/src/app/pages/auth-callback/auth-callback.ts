import { DOCUMENT } from '@angular/common';
import { ChangeDetectionStrategy, Component, inject, type OnInit, signal } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { AuthService } from '../../core/auth/auth.service';
import { apiErrorMessage } from '../../core/http/api-error';

/**
 * Where Google sign-in returns. The gateway puts the outcome in the URL
 * fragment (never sent to servers): `#access_token=…&refresh_token=…&expires_in=…`
 * or `#error=<code>&message=<text>`.
 */
@Component({
  selector: 'app-auth-callback',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card">
      @if (error(); as message) {
        <h1>Sign-in failed</h1>
        <p class="error" role="alert">{{ message }}</p>
        <p><a routerLink="/login">Back to sign in</a></p>
      } @else {
        <p>Signing you in…</p>
      }
    </section>
  `,
})
export class AuthCallbackPage implements OnInit {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  private readonly location = inject(DOCUMENT).defaultView?.location;
  private readonly history = inject(DOCUMENT).defaultView?.history;
  protected readonly error = signal<string | null>(null);

  async ngOnInit(): Promise<void> {
    const params = new URLSearchParams((this.location?.hash ?? '').replace(/^#/, ''));
    // The tokens must not linger in the address bar or in the history.
    if (this.location) this.history?.replaceState(null, '', this.location.pathname);
    const access_token = params.get('access_token');
    const refresh_token = params.get('refresh_token');
    if (!access_token || !refresh_token) {
      this.error.set(params.get('message') || 'Sign-in did not complete. Please try again.');
      return;
    }
    try {
      await this.auth.acceptTokens({
        access_token,
        refresh_token,
        token_type: 'bearer',
        expires_in: Number(params.get('expires_in')),
      });
      await this.router.navigateByUrl('/dashboard');
    } catch (err) {
      this.auth.clear();
      this.error.set(apiErrorMessage(err));
    }
  }
}
