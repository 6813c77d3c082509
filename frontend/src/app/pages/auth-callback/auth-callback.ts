import { ChangeDetectionStrategy, Component, inject, type OnInit, signal } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { AuthService } from '../../core/auth/auth.service';
import { apiErrorMessage } from '../../core/http/api-error';

/** Where Google sign-in returns: tokens (or an error) arrive in the URL fragment. */
@Component({
  selector: 'app-auth-callback',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card">
      @if (error()) {
        <h1>Sign-in failed</h1>
        <p class="error" role="alert">{{ error() }}</p>
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
  protected readonly error = signal<string | null>(null);

  async ngOnInit(): Promise<void> {
    const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    // The tokens must not linger in the address bar or history.
    history.replaceState(null, '', window.location.pathname);
    const access_token = params.get('access_token');
    const refresh_token = params.get('refresh_token');
    if (!access_token || !refresh_token) {
      this.error.set(params.get('message') ?? 'Sign-in did not complete. Please try again.');
      return;
    }
    try {
      await this.auth.acceptTokens({ access_token, refresh_token, token_type: 'bearer', expires_in: Number(params.get('expires_in') ?? 900) });
      await this.router.navigateByUrl('/dashboard');
    } catch (err) {
      this.error.set(apiErrorMessage(err));
    }
  }
}
