import { z } from 'zod';
import { ValidationError } from '../core/errors';

/** Parses request input with a zod schema; failures become one 400 naming every bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const field = issue.path.join('.') || 'body';
    const message =
      issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message;
    return { field, message };
  });
  throw new ValidationError(issues.map((i) => (i.field === 'body' ? i.message : `${i.field}: ${i.message}`)).join('; '), issues);
}

/**
 * A whole number in a query string (which arrives as text), parsed strictly:
 * no "1e3", no "12abc", no " 7". Absent → `fallback`.
 */
export const queryWholeNumber = (what: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${what} must be a whole number`)
    .transform(Number)
    .pipe(z.number().min(min, `${what} must be at least ${min}`).max(max, `${what} must be at most ${max}`))
    .optional()
    .transform((v) => v ?? fallback);
