import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import passportLib from 'passport';
import { Strategy as GoogleStrategy, type Profile, type VerifyCallback } from 'passport-google-oauth20';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import type { Config } from '../config/env';
import { ForbiddenError, UnauthorizedError } from '../core/errors';
import { newSecret } from '../core/ids';
import type { Role, UsersRepo } from '../store/types';
import type { GoogleIdentity } from './service';
import { JWT_AUDIENCE, JWT_ISSUER } from './tokens';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    /** What `requireAuth` puts on `req.user`. */
    interface User {
      id: string;
      email: string;
      role: Role;
    }
  }
}

export type Authenticator = InstanceType<typeof passportLib.Passport>;

/** Reasons a bearer token was refused, carried from the strategy to `requireAuth`. */
type JwtFailure = { code: 'account_disabled' | 'invalid_token' };

/**
 * One Passport instance per app (not the module-global one), so several apps
 * in one test process never share strategies.
 */
export function createPassport(config: Pick<Config, 'google' | 'publicUrl'>, jwtSecret: string, users: UsersRepo): Authenticator {
  const passport = new passportLib.Passport();

  passport.use(
    'jwt',
    new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        secretOrKey: jwtSecret,
        algorithms: ['HS256'],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
      },
      (payload: { sub?: unknown }, done: (err: unknown, user?: Express.User | false, info?: JwtFailure) => void) => {
        if (typeof payload.sub !== 'string') {
          done(null, false, { code: 'invalid_token' });
          return;
        }
        // Looked up on every request so that disabling a user or changing a role takes effect at once.
        users.findById(payload.sub).then(
          (user) => {
            if (!user) done(null, false, { code: 'invalid_token' });
            else if (user.disabled) done(null, false, { code: 'account_disabled' });
            else done(null, { id: user.id, email: user.email, role: user.role });
          },
          (err: unknown) => done(err),
        );
      },
    ),
  );

  if (config.google) {
    passport.use(
      'google',
      new GoogleStrategy(
        {
          clientID: config.google.clientId,
          clientSecret: config.google.clientSecret,
          callbackURL: `${config.publicUrl}/api/v1/auth/google/callback`,
          authorizationURL: config.google.authUrl,
          tokenURL: config.google.tokenUrl,
          userProfileURL: new URL('oauth2/v3/userinfo', config.google.apiRootUrl).toString(),
          scope: ['openid', 'email', 'profile'],
          // Cast: passport-oauth2 picks the call shape by arity at run time; ours is (req, meta, cb).
          store: cookieStateStore as unknown as import('passport-oauth2').StateStore,
        },
        (_accessToken: string, _refreshToken: string, profile: Profile, done: VerifyCallback) => {
          const email = profile.emails?.[0];
          const verified = (email as { verified?: unknown } | undefined)?.verified;
          const identity: GoogleIdentity = {
            googleId: profile.id,
            email: email?.value,
            emailVerified: verified === true || verified === 'true',
          };
          // Passport's types insist on an Express.User here; the Google callback route reads it back as a GoogleIdentity.
          done(null, identity as unknown as Express.User);
        },
      ),
    );
  }
  return passport;
}

/** Requires a valid bearer access token of an enabled user; sets `req.user`. */
export function requireAuth(passport: Authenticator): RequestHandler {
  return (req, res, next) => {
    passport.authenticate('jwt', { session: false }, (err: unknown, user: Express.User | false, info?: JwtFailure | Error) => {
      if (err) return next(err);
      if (!user) {
        if (info && 'code' in info && info.code === 'account_disabled') {
          return next(new ForbiddenError('account_disabled', 'This account is disabled'));
        }
        const missing = !req.headers.authorization;
        return next(
          missing
            ? new UnauthorizedError('unauthorized', 'Authentication is required')
            : new UnauthorizedError('invalid_token', 'The access token is invalid or expired'),
        );
      }
      req.user = user;
      next();
    })(req, res, next);
  };
}

export function requireRole(role: Role): RequestHandler {
  return (req, _res, next) => {
    if (req.user?.role !== role) return next(new ForbiddenError('forbidden', 'This needs the admin role'));
    next();
  };
}

/**
 * OAuth `state` bound to the browser: a random nonce goes both into the
 * redirect to Google and into a short-lived httpOnly cookie; the callback must
 * bring back the same value. This stops login CSRF without server sessions.
 */
export const OAUTH_STATE_COOKIE = 'ddx_oauth_state';
const STATE_COOKIE_PATH = '/api/v1/auth/google';

const cookieStateStore = {
  store(req: Request, _meta: unknown, callback: (err: unknown, state?: string) => void) {
    const state = newSecret(24);
    req.res?.cookie(OAUTH_STATE_COOKIE, state, {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
      path: STATE_COOKIE_PATH,
      maxAge: 10 * 60 * 1000,
    });
    callback(null, state);
  },
  verify(req: Request, provided: unknown, callback: (err: unknown, ok?: boolean, info?: { message: string }) => void) {
    const expected = (req.cookies as Record<string, unknown> | undefined)?.[OAUTH_STATE_COOKIE];
    req.res?.clearCookie(OAUTH_STATE_COOKIE, { path: STATE_COOKIE_PATH });
    const ok =
      typeof expected === 'string' &&
      typeof provided === 'string' &&
      expected.length === provided.length &&
      timingSafeEqual(Buffer.from(expected), Buffer.from(provided));
    callback(null, ok, ok ? undefined : { message: 'The sign-in state did not match; please try again' });
  },
};
