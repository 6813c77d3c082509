import { HttpErrorResponse, HttpHeaders } from '@angular/common/http';
import { apiErrorCode, apiErrorMessage } from './api-error';

describe('apiErrorMessage', () => {
  it('uses the server message from the error contract', () => {
    const err = new HttpErrorResponse({
      status: 409,
      error: {
        error: { code: 'email_taken', message: 'An account with this email already exists' },
      },
    });
    expect(apiErrorMessage(err)).toBe('An account with this email already exists');
    expect(apiErrorCode(err)).toBe('email_taken');
  });

  it('turns 429 into a retry hint using Retry-After', () => {
    const err = new HttpErrorResponse({
      status: 429,
      headers: new HttpHeaders({ 'Retry-After': '42' }),
      error: { error: { code: 'too_many_attempts', message: 'x' } },
    });
    expect(apiErrorMessage(err)).toBe('Too many attempts — try again in 42 seconds.');
    expect(apiErrorMessage(new HttpErrorResponse({ status: 429 }))).toBe(
      'Too many attempts — try again later.',
    );
  });

  it('explains network failures and unexpected bodies', () => {
    expect(apiErrorMessage(new HttpErrorResponse({ status: 0 }))).toMatch(
      /Cannot reach the server/,
    );
    expect(
      apiErrorMessage(new HttpErrorResponse({ status: 502, error: '<html>bad gateway</html>' })),
    ).toBe('The server answered 502. Please try again.');
    expect(apiErrorMessage(new Error('boom'))).toBe('Something went wrong. Please try again.');
    expect(apiErrorCode(new Error('boom'))).toBeUndefined();
  });
});
