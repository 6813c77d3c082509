import { Router, type Request, type Response } from 'express';
import type { Config } from '../config/env';
import { AppError, NotFoundError, UnauthorizedError } from '../core/errors';
import type { Logger } from '../core/logger';
import { parse } from '../http/validate';
import { type Authenticator, requireAuth } from './passport';
import { toPublicUser, type AuthService, type GoogleIdentity } from './service';
import type { TokenPair } from './tokens';
import { loginBody, logoutBody, refreshBody, registerBody } from './validation';

const clientIp = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/** Tokens must never be cached by browsers or proxies. */
function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

const GOOGLE_HANDOVER_COOKIE = 'ddx_google_login';
const GOOGLE_HANDOVER_PATH = '/api/v1/auth/google/exchange';

function parseHandover(raw: string): TokenPair | null {
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<TokenPair>;
    return typeof value.access_token === 'string' && typeof value.refresh_token === 'string' && typeof value.expires_in === 'number'
      ? { access_token: value.access_token, refresh_token: value.refresh_token, token_type: 'bearer', expires_in: value.expires_in }
      : null;
  } catch {
    return null;
  }
}

function isGoogleIdentity(value: unknown): value is GoogleIdentity {
  const v = value as Partial<GoogleIdentity> | null;
  return typeof v === 'object' && v !== null && typeof v.googleId === 'string' && typeof v.emailVerified === 'boolean';
}

export function authRoutes(deps: { auth: AuthService; passport: Authenticator; config: Pick<Config, 'google'>; logger: Logger }): Router {
  const { auth, passport } = deps;
  const router = Router();
  const authenticated = requireAuth(passport);

  router.post('/register', async (req, res) => {
    const body = parse(registerBody, req.body);
    const user = await auth.register(body.email, body.password, clientIp(req));
    res.status(201).json({ user: toPublicUser(user) });
  });

  router.post('/token', async (req, res) => {
    const body = parse(loginBody, req.body);
    const pair = await auth.login(body.email, body.password, clientIp(req));
    noStore(res);
    res.json(pair);
  });

  router.post('/refresh', async (req, res) => {
    const body = parse(refreshBody, req.body);
    const pair = await auth.refresh(body.refresh_token, clientIp(req));
    noStore(res);
    res.json(pair);
  });

  router.post('/logout', authenticated, async (req, res) => {
    const body = parse(logoutBody, req.body);
    await auth.logout(req.user!.id, body.refresh_token, clientIp(req));
    res.status(204).end();
  });

  router.get('/users/me', authenticated, async (req, res) => {
    res.json(toPublicUser(await auth.me(req.user!.id)));
  });

  router.get('/providers', (_req, res) => {
    res.json({ google: deps.config.google !== undefined });
  });

  const googleEnabled = (_req: Request, _res: Response, next: (err?: unknown) => void) => {
    if (!deps.config.google) return next(new NotFoundError('Google sign-in is not configured', 'google_login_disabled'));
    next();
  };

  router.get('/google', googleEnabled, passport.authenticate('google', { session: false }));

  /*
   * Handing the tokens to the app. They never go into a URL: a link carrying
   * tokens in its fragment would let anyone sign a victim into the attacker's
   * account. Instead the callback parks them in a short-lived httpOnly cookie
   * that only this origin can set and only the exchange endpoint receives; the
   * app's /auth/callback page POSTs to it. The fragment only says how it went.
   */
  router.get('/google/callback', googleEnabled, (req, res, next) => {
    const finish = (fragment: Record<string, string>) => {
      noStore(res);
      res.redirect(302, `/auth/callback#${new URLSearchParams(fragment).toString()}`);
    };
    const fail = (code: string, message: string) => finish({ error: code, message });
    passport.authenticate('google', { session: false }, (err: unknown, identity: unknown) => {
      if (err) {
        deps.logger.warn({ err }, 'Google sign-in failed at the provider');
        return fail('google_login_failed', 'Google sign-in failed; please try again');
      }
      // Passport's own reason text may echo the provider's error_description: not shown.
      if (!isGoogleIdentity(identity)) return fail('google_login_failed', 'Google sign-in was cancelled or could not be verified');
      auth.loginWithGoogle(identity, clientIp(req)).then(
        (pair) => {
          res.cookie(GOOGLE_HANDOVER_COOKIE, Buffer.from(JSON.stringify(pair)).toString('base64url'), {
            httpOnly: true,
            sameSite: 'strict',
            secure: req.secure,
            path: GOOGLE_HANDOVER_PATH,
            maxAge: 60_000,
          });
          finish({ status: 'ok' });
        },
        (error: unknown) => {
          if (error instanceof AppError) fail(error.code, error.message);
          else next(error);
        },
      );
    })(req, res, next);
  });

  router.post('/google/exchange', googleEnabled, (req, res) => {
    const raw = (req.cookies as Record<string, unknown> | undefined)?.[GOOGLE_HANDOVER_COOKIE];
    res.clearCookie(GOOGLE_HANDOVER_COOKIE, { path: GOOGLE_HANDOVER_PATH });
    const pair = typeof raw === 'string' ? parseHandover(raw) : null;
    if (!pair) throw new UnauthorizedError('google_login_expired', 'The Google sign-in expired or was already used; please sign in again');
    noStore(res);
    res.json(pair);
  });

  return router;
}
