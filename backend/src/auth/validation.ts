import { z } from 'zod';

/** Emails are compared and stored trimmed and lower-cased. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

export const PASSWORD_MIN = 10;
/** argon2 hashes anything, but a multi-megabyte "password" is a DoS, not a password. */
export const PASSWORD_MAX = 256;

export const emailSchema = z
  .string({ error: 'email is required' })
  .trim()
  .max(254, 'email is too long')
  .pipe(z.email('email is not a valid address'))
  .transform(normaliseEmail);

export const passwordSchema = z
  .string({ error: 'password is required' })
  .min(PASSWORD_MIN, `password must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `password must be at most ${PASSWORD_MAX} characters`)
  .refine((p) => p.trim().length > 0, 'password must not be only whitespace');

/** `strict()` refuses unknown keys: registration never accepts a role or quota. */
export const registerBody = z.strictObject({ email: emailSchema, password: passwordSchema });

/**
 * Login checks only presence: the policy applies when a password is set, not
 * when it is tried. OAuth2-style form posts send `username`; we accept it as the email.
 */
export const loginBody = z.preprocess(
  (body) => {
    if (typeof body === 'object' && body !== null && !('email' in body) && 'username' in body) {
      return { ...body, email: (body as { username: unknown }).username };
    }
    return body;
  },
  z.object({
    email: z.string({ error: 'email is required' }).min(1, 'email is required').max(254).transform(normaliseEmail),
    password: z.string({ error: 'password is required' }).min(1, 'password is required').max(PASSWORD_MAX),
  }),
);

export const refreshBody = z.object({ refresh_token: z.string({ error: 'refresh_token is required' }).min(1).max(512) });
export const logoutBody = z.object({ refresh_token: z.string().min(1).max(512).optional() });
