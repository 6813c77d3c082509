import { DOCUMENT } from '@angular/common';
import { ChangeDetectionStrategy, Component, inject, type OnInit, signal } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { AuthService } from '../../core/auth/auth.service';
import { apiErrorMessage } from '../../core/http/api-error';

/**
 * Where Google sign-in returns. The fragment says how it went: `#status=ok`,
 * or `#error=<code>&message=<text>`. Tokens never come in the URL (a link with
 * tokens could sign a victim into someone else's account); on success the
 * gateway holds them in an httpOnly cookie that `exchangeGoogleLogin` trades
 * for the token pair.
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
    if (params.get('status') !== 'ok') {
      this.error.set(params.get('message') || 'Sign-in did not complete. Please try again.');
      return;
    }
    try {
      await this.auth.exchangeGoogleLogin();
      await this.router.navigateByUrl('/dashboard');
    } catch (err) {
      this.auth.clear();
      this.error.set(apiErrorMessage(err));
    }
  }
}
