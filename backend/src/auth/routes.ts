import { Router, type Request, type Response } from 'express';
import type { Config } from '../config/env';
import { AppError, NotFoundError } from '../core/errors';
import type { Logger } from '../core/logger';
import { parse } from '../http/validate';
import { type Authenticator, requireAuth } from './passport';
import { toPublicUser, type AuthService, type GoogleIdentity } from './service';
import { loginBody, logoutBody, refreshBody, registerBody } from './validation';

const clientIp = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/** Tokens must never be cached by browsers or proxies. */
function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
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

  // Tokens go back in the URL fragment: it is not sent to servers or written to access logs.
  router.get('/google/callback', googleEnabled, (req, res, next) => {
    const finish = (fragment: Record<string, string>) => {
      noStore(res);
      res.redirect(302, `/auth/callback#${new URLSearchParams(fragment).toString()}`);
    };
    passport.authenticate('google', { session: false }, (err: unknown, identity: unknown, info?: { message?: string }) => {
      if (err) {
        deps.logger.warn({ err }, 'Google sign-in failed at the provider');
        return finish({ error: 'google_login_failed', message: 'Google sign-in failed; please try again' });
      }
      if (!isGoogleIdentity(identity)) {
        return finish({ error: 'google_login_failed', message: info?.message ?? 'Google sign-in was cancelled' });
      }
      auth.loginWithGoogle(identity, clientIp(req)).then(
        (pair) =>
          finish({ access_token: pair.access_token, refresh_token: pair.refresh_token, token_type: pair.token_type, expires_in: String(pair.expires_in) }),
        (error: unknown) => {
          if (error instanceof AppError) finish({ error: error.code, message: error.message });
          else next(error);
        },
      );
    })(req, res, next);
  });

  return router;
}
