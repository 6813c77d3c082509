import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import {
  type AbstractControl,
  FormBuilder,
  ReactiveFormsModule,
  type ValidationErrors,
  Validators,
} from '@angular/forms';
import { Router, RouterLink } from '@angular/router';
import { AuthService } from '../../core/auth/auth.service';
import { FormSubmission, UserFacingError } from '../../core/forms/form-submission';
import { apiErrorMessage } from '../../core/http/api-error';

/** The server's password policy (POST /api/v1/auth/register answers 400 validation_failed otherwise). */
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;

function passwordsMatch(group: AbstractControl): ValidationErrors | null {
  const password = group.get('password')?.value as string | undefined;
  const confirm = group.get('confirmPassword')?.value as string | undefined;
  return password === confirm ? null : { mismatch: true };
}

@Component({
  selector: 'app-register',
  imports: [ReactiveFormsModule, RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card">
      <h1>Create your account</h1>
      <form [formGroup]="form" (ngSubmit)="submit()" novalidate>
        <label for="email">Email</label>
        <input id="email" type="email" formControlName="email" autocomplete="email" />
        @if (form.controls.email.touched && form.controls.email.invalid) {
          <p class="hint">Enter a valid email address.</p>
        }
        <label for="password">Password</label>
        <input
          id="password"
          type="password"
          formControlName="password"
          autocomplete="new-password"
        />
        @if (form.controls.password.touched && form.controls.password.invalid) {
          <p class="hint">
            @if (form.controls.password.hasError('maxlength')) {
              Use at most {{ passwordMax }} characters.
            } @else {
              Use at least {{ passwordMin }} characters.
            }
          </p>
        }
        <label for="confirmPassword">Confirm password</label>
        <input
          id="confirmPassword"
          type="password"
          formControlName="confirmPassword"
          autocomplete="new-password"
        />
        @if (form.controls.confirmPassword.touched && form.hasError('mismatch')) {
          <p class="hint">The passwords do not match.</p>
        }
        @if (submission.error()) {
          <p class="error" role="alert">{{ submission.error() }}</p>
        }
        <button type="submit" [disabled]="submission.busy()">
          {{ submission.busy() ? 'Creating account…' : 'Create account' }}
        </button>
      </form>
      <p>Already registered? <a routerLink="/login">Sign in</a></p>
    </section>
  `,
})
export class RegisterPage {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);

  protected readonly passwordMin = PASSWORD_MIN;
  protected readonly passwordMax = PASSWORD_MAX;
  protected readonly form = inject(FormBuilder).nonNullable.group(
    {
      email: ['', [Validators.required, Validators.email]],
      password: [
        '',
        [
          Validators.required,
          Validators.minLength(PASSWORD_MIN),
          Validators.maxLength(PASSWORD_MAX),
        ],
      ],
      confirmPassword: ['', Validators.required],
    },
    { validators: passwordsMatch },
  );
  protected readonly submission = new FormSubmission();

  protected async submit(): Promise<void> {
    await this.submission.run(this.form, async () => {
      const { email, password } = this.form.getRawValue();
      await this.auth.register(email, password);
      try {
        await this.auth.login(email, password);
      } catch (err) {
        // Submitting again would only answer "email taken": say what happened instead.
        throw new UserFacingError(
          `Your account was created, but signing in failed: ${apiErrorMessage(err)} Please sign in.`,
        );
      }
      await this.router.navigateByUrl('/dashboard');
    });
  }
}
