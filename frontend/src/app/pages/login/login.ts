import { HttpClient } from '@angular/common/http';
import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
import { ActivatedRoute, Router, RouterLink } from '@angular/router';
import { catchError, of } from 'rxjs';
import { AuthService } from '../../core/auth/auth.service';
import { FormSubmission } from '../../core/forms/form-submission';

/** Only same-app paths are followed after login (no open redirect). */
export function safeReturnUrl(value: string | null): string {
  return value && /^\/(?![/\\])/.test(value) ? value : '/dashboard';
}

@Component({
  selector: 'app-login',
  imports: [ReactiveFormsModule, RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card">
      <h1>Sign in</h1>
      <form [formGroup]="form" (ngSubmit)="submit()" novalidate>
        <label for="email">Email</label>
        <input id="email" type="email" formControlName="email" autocomplete="username" />
        @if (form.controls.email.touched && form.controls.email.invalid) {
          <p class="hint">Enter a valid email address.</p>
        }
        <label for="password">Password</label>
        <input
          id="password"
          type="password"
          formControlName="password"
          autocomplete="current-password"
        />
        @if (form.controls.password.touched && form.controls.password.invalid) {
          <p class="hint">Enter your password.</p>
        }
        @if (submission.error()) {
          <p class="error" role="alert">{{ submission.error() }}</p>
        }
        <button type="submit" [disabled]="submission.busy()">
          {{ submission.busy() ? 'Signing in…' : 'Sign in' }}
        </button>
      </form>
      @if (providers().google) {
        <a class="button secondary" href="/api/v1/auth/google">Sign in with Google</a>
      }
      <p>No account yet? <a routerLink="/register">Create one</a></p>
    </section>
  `,
})
export class LoginPage {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  private readonly route = inject(ActivatedRoute);

  protected readonly form = inject(FormBuilder).nonNullable.group({
    email: ['', [Validators.required, Validators.email]],
    password: ['', Validators.required],
  });
  protected readonly submission = new FormSubmission();
  protected readonly providers = toSignal(
    inject(HttpClient)
      .get<{ google: boolean }>('/api/v1/auth/providers')
      .pipe(catchError(() => of({ google: false }))),
    { initialValue: { google: false } },
  );

  protected async submit(): Promise<void> {
    await this.submission.run(this.form, async () => {
      const { email, password } = this.form.getRawValue();
      await this.auth.login(email, password);
      await this.router.navigateByUrl(
        safeReturnUrl(this.route.snapshot.queryParamMap.get('returnUrl')),
      );
    });
  }
}
