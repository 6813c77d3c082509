import { Algorithm, hash, verify } from '@node-rs/argon2';

/** argon2id with the library's OWASP-aligned defaults (19 MiB, 2 passes). */
export async function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: Algorithm.Argon2id });
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    // A malformed stored hash is a failed login, not a crash.
    return false;
  }
}

/**
 * Checked against when the email is unknown, so a failed login takes the same
 * time whether or not the account exists (no user enumeration by timing).
 */
let dummyHash: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('directdrivex-timing-equaliser');
  await verifyPassword(await dummyHash, password);
}
