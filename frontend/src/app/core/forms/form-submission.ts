import { signal } from '@angular/core';
import type { AbstractControl } from '@angular/forms';
import { apiErrorMessage } from '../http/api-error';

/**
 * The busy flag and error message every form has, and the one way to submit:
 * refuse (and reveal the hints) while invalid, disable the button while the
 * request runs, show the server's message when it fails.
 */
export class FormSubmission {
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);

  async run(form: AbstractControl, action: () => Promise<unknown>): Promise<void> {
    if (form.invalid) {
      form.markAllAsTouched();
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    try {
      await action();
    } catch (err) {
      this.error.set(apiErrorMessage(err));
    } finally {
      this.busy.set(false);
    }
  }
}
