import { signal } from '@angular/core';
import type { AbstractControl } from '@angular/forms';
import { apiErrorMessage } from '../http/api-error';

/** A failure whose message is already written for the person at the keyboard. */
export class UserFacingError extends Error {}

/**
 * The busy flag and error message every form has, and the one way to submit:
 * refuse (and reveal the hints) while invalid or already busy, disable the
 * button while the request runs, show the server's message when it fails.
 */
export class FormSubmission {
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);

  async run(form: AbstractControl, action: () => Promise<unknown>): Promise<void> {
    if (this.busy()) return;
    if (form.invalid) {
      form.markAllAsTouched();
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    try {
      await action();
    } catch (err) {
      this.error.set(err instanceof UserFacingError ? err.message : apiErrorMessage(err));
    } finally {
      this.busy.set(false);
    }
  }
}
