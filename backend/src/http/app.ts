import fs from 'node:fs';
import path from 'node:path';
import cookieParser from 'cookie-parser';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { ResolvedConfig } from '../config/env';
import { createPassport } from '../auth/passport';
import { authRoutes } from '../auth/routes';
import { AuthService } from '../auth/service';
import { LoginThrottle, type ThrottlePolicy, DEFAULT_THROTTLE } from '../auth/throttle';
import { TokenService } from '../auth/tokens';
import { type Clock, systemClock } from '../core/clock';
import { NotFoundError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { MetadataStore } from '../store/types';
import { apiNotFound, errorHandler } from './error-handler';
import { healthRoutes } from './health';
import { requestContext } from './request-context';

/** JSON bodies on this API are small (credentials, file metadata); file bytes never come as JSON. */
export const JSON_BODY_LIMIT = '64kb';

export interface AppDeps {
  config: ResolvedConfig;
  store: MetadataStore;
  logger: Logger;
  clock?: Clock;
  throttlePolicy?: ThrottlePolicy;
  /** Set by the server during shutdown so /readyz turns 503 and load balancers drain us. */
  isShuttingDown?: () => boolean;
}

export interface App {
  express: Express;
  auth: AuthService;
}

/** Assembles the Express app from its parts. No listening, no process-level state: tests build many. */
export function createApp(deps: AppDeps): App {
  const { config, store, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const tokens = new TokenService(config.jwtSecret, store.refreshTokens, clock);
  const throttle = new LoginThrottle(clock, deps.throttlePolicy ?? DEFAULT_THROTTLE);
  const auth = new AuthService({ store, tokens, throttle, clock, logger, defaultQuota: config.defaultUserQuotaBytes });
  const passport = createPassport(config, config.jwtSecret, store.users);

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(requestContext(logger));
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // Angular inlines critical CSS with an onload handler; styles from self and inline are enough.
          'style-src': ["'self'", "'unsafe-inline'"],
          'script-src-attr': ["'none'"],
          'connect-src': ["'self'", 'ws:', 'wss:'],
        },
      },
    }),
  );
  app.use(passport.initialize());

  app.use(healthRoutes({ store, isShuttingDown: deps.isShuttingDown ?? (() => false) }));

  const api = express.Router();
  api.use(express.json({ limit: JSON_BODY_LIMIT }));
  api.use(express.urlencoded({ extended: false, limit: JSON_BODY_LIMIT, parameterLimit: 50 }));
  api.use(cookieParser());
  api.use('/v1/auth', authRoutes({ auth, passport, config, logger }));
  api.use(apiNotFound);
  app.use('/api', api);

  serveFrontend(app, config.frontendDistDir, logger);
  app.use(errorHandler);
  return { express: app, auth };
}

/**
 * The built Angular app, with index.html for client-side routes. Hashed assets
 * are cached for a year; index.html never, so a deploy is picked up at once.
 */
function serveFrontend(app: Express, dir: string, logger: Logger): void {
  const index = path.join(dir, 'index.html');
  if (!fs.existsSync(index)) {
    logger.warn({ dir }, 'frontend build not found; serving the API only (run `npm run build`)');
    app.use((req, _res, next) => next(apiNotFoundFor(req.method, req.path)));
    return;
  }
  app.use(
    express.static(dir, {
      index: false,
      setHeaders(res, file) {
        res.setHeader('Cache-Control', /\.[0-9a-z]{8,}\.(js|css|woff2?)$/i.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  app.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path.startsWith('/ws_')) return next(apiNotFoundFor(req.method, req.path));
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
}

const apiNotFoundFor = (method: string, p: string) => new NotFoundError(`No route for ${method} ${p}`, 'route_not_found');
