import type { Clock } from '../core/clock';
import { AppError, ConflictError, ForbiddenError, NotFoundError, TooManyRequestsError, UnauthorizedError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { MetadataStore, Role, UserRecord } from '../store/types';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords';
import type { LoginThrottle } from './throttle';
import type { TokenPair, TokenService } from './tokens';

/** What the API shows of a user (`users/me`, register). */
export interface PublicUser {
  id: string;
  email: string;
  role: Role;
  storageUsed: number;
  storageQuota: number;
}

export const toPublicUser = (u: UserRecord): PublicUser => ({
  id: u.id,
  email: u.email,
  role: u.role,
  storageUsed: u.storageUsed,
  storageQuota: u.storageQuota,
});

/** A Google identity as the OAuth callback reports it. */
export interface GoogleIdentity {
  googleId: string;
  email: string | undefined;
  emailVerified: boolean;
}

export interface AuthDeps {
  store: MetadataStore;
  tokens: TokenService;
  throttle: LoginThrottle;
  clock: Clock;
  logger: Logger;
  defaultQuota: number;
}

const invalidCredentials = () => new UnauthorizedError('invalid_credentials', 'Email or password is incorrect');
const disabled = () => new ForbiddenError('account_disabled', 'This account is disabled');
const invalidRefresh = () => new UnauthorizedError('invalid_refresh_token', 'The refresh token is invalid or expired');

/** Register, log in, rotate, log out. Every input here is already validated and normalised. */
export class AuthService {
  constructor(private readonly deps: AuthDeps) {}

  async register(email: string, password: string, ip: string | null): Promise<UserRecord> {
    const { store } = this.deps;
    if (await store.users.findByEmail(email)) throw new ConflictError('email_taken', 'An account with this email already exists');
    const user = await store.users.create({
      email,
      passwordHash: await hashPassword(password),
      role: 'user',
      storageQuota: this.deps.defaultQuota,
    });
    await this.audit(user.id, 'user.register', user.id, ip);
    return user;
  }

  async login(email: string, password: string, ip: string): Promise<TokenPair> {
    const { store, throttle } = this.deps;
    const wait = throttle.begin(ip, email);
    if (wait > 0) throw new TooManyRequestsError(wait);

    const user = await store.users.findByEmail(email);
    const ok = user?.passwordHash ? await verifyPassword(user.passwordHash, password) : (await burnPasswordCheck(password), false);
    if (!user || !ok) {
      await this.audit(user?.id ?? null, 'auth.login_failed', user?.id ?? null, ip, { email });
      throw invalidCredentials();
    }
    throttle.succeeded(ip, email);
    // Checked after the password, so a disabled account is not revealed to someone guessing.
    if (user.disabled) throw disabled();
    await this.audit(user.id, 'auth.login', user.id, ip);
    return this.deps.tokens.issuePair(user.id, user.role);
  }

  async refresh(refreshToken: string, ip: string): Promise<TokenPair> {
    const { store, throttle, tokens, logger } = this.deps;
    const wait = throttle.begin(ip);
    if (wait > 0) throw new TooManyRequestsError(wait);

    const check = await tokens.inspect(refreshToken);
    if (!check.ok) {
      if (check.reason === 'reused') await this.revokeReusedFamily(refreshToken, ip);
      throw invalidRefresh();
    }
    throttle.succeeded(ip);
    const { record } = check;
    // Two requests racing with the same token: exactly one wins; the loser is treated as reuse.
    if (!(await tokens.consume(record))) {
      await tokens.revokeFamily(record.familyId);
      logger.warn({ userId: record.userId, familyId: record.familyId }, 'refresh token presented twice concurrently; family revoked');
      await this.audit(record.userId, 'auth.refresh_reuse', record.userId, ip, { familyId: record.familyId });
      throw invalidRefresh();
    }
    const user = await store.users.findById(record.userId);
    if (!user) throw invalidRefresh();
    if (user.disabled) {
      await tokens.revokeFamily(record.familyId);
      throw disabled();
    }
    const pair = await tokens.issuePair(user.id, user.role, record.familyId);
    // A reuse detection or logout may have revoked the family between our consume and the
    // insert of the new token, which that revocation could not see. Revocation always stamps
    // the consumed token too, so re-reading it tells us; then the new token dies as well.
    if ((await store.refreshTokens.findById(record.id))?.revokedAt) {
      await tokens.revokeFamily(record.familyId);
      throw invalidRefresh();
    }
    return pair;
  }

  /** Revokes the family of the given refresh token, or every session of the user when none is given. */
  async logout(userId: string, refreshToken: string | undefined, ip: string): Promise<void> {
    const { tokens } = this.deps;
    if (refreshToken === undefined) {
      await tokens.revokeAllForUser(userId);
    } else {
      const [id] = refreshToken.split('.');
      const record = id ? await this.deps.store.refreshTokens.findById(id) : null;
      // Someone else's token is silently ignored: logout must not be a way to probe or revoke others' sessions.
      if (record && record.userId === userId) await tokens.revokeFamily(record.familyId);
    }
    await this.audit(userId, 'auth.logout', userId, ip);
  }

  async me(userId: string): Promise<UserRecord> {
    const user = await this.deps.store.users.findById(userId);
    if (!user) throw new NotFoundError('User not found', 'user_not_found');
    return user;
  }

  /**
   * Google sign-in: a known Google id logs in; otherwise a *verified* Google
   * email links to the existing account with that email or creates one. An
   * unverified email never links: that would let anyone claim an account.
   */
  async loginWithGoogle(identity: GoogleIdentity, ip: string): Promise<TokenPair> {
    const { store, tokens } = this.deps;
    let user = await store.users.findByGoogleId(identity.googleId);
    if (!user) {
      if (!identity.email || !identity.emailVerified) {
        throw new AppError(403, 'google_email_unverified', 'Your Google account has no verified email address');
      }
      const email = identity.email.trim().toLowerCase();
      const existing = await store.users.findByEmail(email);
      if (existing) {
        if (existing.googleId && existing.googleId !== identity.googleId) {
          throw new ConflictError('google_account_mismatch', 'This account is linked to a different Google account');
        }
        // Registration does not verify email addresses, so whoever registered this email
        // may not own it; Google has verified that this person does. Linking therefore hands
        // the account to them: the password and every existing session are dropped, so a
        // squatter who registered the address first loses access.
        await tokens.revokeAllForUser(existing.id);
        user = await store.users.update(existing.id, { googleId: identity.googleId, passwordHash: null });
        await this.audit(existing.id, 'auth.google_linked', existing.id, ip, { passwordCleared: existing.passwordHash !== null });
      } else {
        user = await store.users.create({ email, passwordHash: null, role: 'user', storageQuota: this.deps.defaultQuota, googleId: identity.googleId });
        await this.audit(user.id, 'user.register', user.id, ip, { via: 'google' });
      }
    }
    if (!user) throw new UnauthorizedError('invalid_credentials', 'Google sign-in failed');
    if (user.disabled) throw disabled();
    await this.audit(user.id, 'auth.login', user.id, ip, { via: 'google' });
    return tokens.issuePair(user.id, user.role);
  }

  /**
   * Creates the first admin from ADMIN_EMAIL/ADMIN_PASSWORD, once: when an admin
   * already exists nothing happens, so changing the password in the UI is not
   * undone by the next restart.
   */
  async ensureFirstAdmin(email: string, password: string): Promise<'created' | 'promoted' | 'exists'> {
    const { store, logger } = this.deps;
    if ((await store.users.countByRole('admin')) > 0) return 'exists';
    const normalised = email.trim().toLowerCase();
    const existing = await store.users.findByEmail(normalised);
    if (existing) {
      // Anyone can register, so the existing account may not be the operator's: it gets the
      // operator's ADMIN_PASSWORD and loses its sessions before it becomes admin.
      await this.deps.tokens.revokeAllForUser(existing.id);
      await store.users.update(existing.id, { role: 'admin', passwordHash: await hashPassword(password), disabled: false });
      logger.warn({ email: normalised }, 'ADMIN_EMAIL belongs to an existing user; promoted it to admin with ADMIN_PASSWORD');
      await this.audit(null, 'user.promoted_first_admin', existing.id, null);
      return 'promoted';
    }
    const user = await store.users.create({
      email: normalised,
      passwordHash: await hashPassword(password),
      role: 'admin',
      storageQuota: this.deps.defaultQuota,
    });
    await this.audit(null, 'user.created_first_admin', user.id, null);
    return 'created';
  }

  private async revokeReusedFamily(refreshToken: string, ip: string): Promise<void> {
    const [id] = refreshToken.split('.');
    const record = id ? await this.deps.store.refreshTokens.findById(id) : null;
    if (!record) return;
    await this.deps.tokens.revokeFamily(record.familyId);
    this.deps.logger.warn({ userId: record.userId, familyId: record.familyId }, 'rotated refresh token reused; family revoked');
    await this.audit(record.userId, 'auth.refresh_reuse', record.userId, ip, { familyId: record.familyId });
  }

  private async audit(actorId: string | null, action: string, userId: string | null, ip: string | null, details: Record<string, unknown> = {}) {
    await this.deps.store.audit.append({ actorId, action, targetType: userId ? 'user' : null, targetId: userId, ip, details });
  }
}
