import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
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
import { accountRoutes } from '../admin/accounts-routes';
import { JOB, type JobQueue, openQueue } from '../backup/queue';
import { backupCompletedUploads, Reconciler } from '../backup/reconciler';
import { backupRoutes } from '../backup/routes';
import { BackupAdmin } from '../backup/service';
import { type BackupTarget, openBackupTarget } from '../backup/target';
import { BackupWorker } from '../backup/worker';
import { AccountsService } from '../pool/accounts-service';
import { Allocator } from '../pool/allocator';
import type { BreakerPolicy } from '../pool/circuit-breaker';
import { GoogleConnect } from '../pool/google-connect';
import { PoolHealth } from '../pool/health';
import { createProviderFactory } from '../pool/provider-factory';
import { AccountRegistry, type ProviderFactory } from '../pool/registry';
import type { RetryPolicy } from '../providers/retry';
import { type EventBus, InProcessEventBus } from '../realtime/event-bus';
import type { MetadataStore } from '../store/types';
import { uploadRoutes } from '../uploads/routes';
import { UploadService } from '../uploads/service';
import { UploadSocketServer } from '../uploads/ws-handler';
import { DownloadService } from '../downloads/service';
import { downloadRoutes } from '../downloads/routes';
import { UrlSigner } from '../downloads/signed-urls';
import { createDeleteFileJob } from '../files/delete-job';
import { fileRoutes } from '../files/routes';
import { FileService } from '../files/service';
import { fileLinkRoutes, publicLinkRoutes } from '../links/routes';
import { LinkService } from '../links/service';
import { LinkPasswordThrottle } from '../links/throttle';
import { declareDownloadMetrics, Metrics } from '../core/metrics';
import type { JobHandler } from '../backup/queue/types';
import { metricsRoutes } from './metrics';
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
  events?: EventBus;
  /** Tests shrink the waits between retries of pool members. */
  retryPolicy?: RetryPolicy;
  breaker?: BreakerPolicy;
  providerFactory?: ProviderFactory;
  /** Tests may hand in a queue (e.g. Bull with a per-run prefix); default from REDIS_URL. */
  queue?: JobQueue;
  /** How long `close` lets running jobs finish before it stops them (default WORKER_GRACE_MS). */
  workerGraceMs?: number;
  /**
   * Overrides RUN_WORKERS. Tests that run jobs by hand turn the workers off on
   * the in-process queue, which the configuration refuses (in production its
   * jobs would never run).
   */
  runWorkers?: boolean;
}

export interface App {
  express: Express;
  auth: AuthService;
  uploads: UploadService;
  accounts: AccountsService;
  health: PoolHealth;
  events: EventBus;
  queue: JobQueue;
  /** Null until BACKUP_WEBDAV_URL is set. */
  backupTarget: BackupTarget | null;
  /** The `file.delete` job handler (files/delete-job.ts), for whichever process runs the workers. */
  deleteFileJob: JobHandler<'file.delete'>;
  /** The admin backup API's logic. */
  backups: BackupAdmin;
  /** Compares the store with the queue (runs with the workers). */
  reconciler: Reconciler;
  /** WebSocket upgrades (`/ws_api/upload/<id>`); anything else is refused. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Background work of a serving process: pool health checks, the abandoned-upload sweep, and the workers when RUN_WORKERS. */
  startBackground(): void;
  /** The job workers and the reconciler (`npm run worker`, or the API process itself when RUN_WORKERS). */
  startWorkers(): void;
  /** Stops background work and the workers (running jobs get WORKER_GRACE_MS), closes open sockets and the queue. */
  close(): Promise<void>;
}

/** How often abandoned uploads are looked for (their expiry itself is UPLOAD_EXPIRY_SECONDS). */
const UPLOAD_SWEEP_MS = 60_000;
/**
 * How long a stopping process lets running jobs finish before it interrupts
 * them (an interrupted backup is handed back as pending; nothing is lost
 * either way). Within the usual 30 s a container gets between SIGTERM and SIGKILL.
 */
const WORKER_GRACE_MS = 20_000;
/** Connections to the backup target beyond one per running backup: deletions and the odd retry of a stat. */
const BACKUP_JOB_SPARE_CONNECTIONS = 2;
/** Downloads served from the backup at once (fallback, ZIP entries); more are refused with 503 rather than queued. */
const BACKUP_DOWNLOAD_CONNECTIONS = 4;

/** Assembles the Express app from its parts. No listening, no process-level state: tests build many. */
export function createApp(deps: AppDeps): App {
  const { config, store, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const tokens = new TokenService(config.jwtSecret, store.refreshTokens, clock);
  const throttle = new LoginThrottle(clock, deps.throttlePolicy ?? DEFAULT_THROTTLE);
  const auth = new AuthService({ store, tokens, throttle, clock, logger, defaultQuota: config.defaultUserQuotaBytes });
  const passport = createPassport(config, config.jwtSecret, store.users);

  const events = deps.events ?? new InProcessEventBus((err) => logger.error({ err }, 'event listener failed'));
  const registry = new AccountRegistry({
    store,
    masterKey: config.masterKey,
    factory:
      deps.providerFactory ??
      createProviderFactory({
        googleEndpoints: config.googleEndpoints,
        spoolDir: path.join(config.dataDir, 'spool'),
        logger,
        ...(deps.retryPolicy ? { retry: deps.retryPolicy } : {}),
      }),
  });
  const health = new PoolHealth({ store, registry, clock, logger, events, ...(deps.breaker ? { breaker: deps.breaker } : {}) });
  const allocator = new Allocator({ store, registry, health, clock, logger });
  const accounts = new AccountsService({
    store,
    registry,
    health,
    clock,
    logger,
    masterKey: config.masterKey,
    googleDailyCapBytes: config.googleDailyCapBytes,
  });
  const googleConnect = new GoogleConnect({
    config: config.google && {
      clientId: config.google.clientId,
      clientSecret: config.google.clientSecret,
      tokenUrl: config.google.tokenUrl,
      authUrl: config.google.authUrl,
      redirectUri: `${config.publicUrl}/api/v1/admin/accounts/google/callback`,
    },
    jwtSecret: config.jwtSecret,
    accounts,
    clock,
  });
  const uploads = new UploadService({
    store,
    allocator,
    registry,
    health,
    events,
    clock,
    logger,
    uploadExpiryMs: config.uploadExpiryMs,
    initialBackupState: () => (config.backup ? 'pending' : 'disabled'),
  });
  const sockets = new UploadSocketServer({ uploads, logger });

  const queue = deps.queue ?? openQueue(config, logger);
  const backupTarget = config.backup
    ? openBackupTarget(config.backup, {
        spoolDir: path.join(config.dataDir, 'spool', 'backup'),
        // One connection per running backup (each holds its PUT open) and two for deletions; downloads
        // reading from the backup get their own few. Default 6 + 4, within a Storage Box's ~10.
        jobConnections: config.backupConcurrency + BACKUP_JOB_SPARE_CONNECTIONS,
        downloadConnections: BACKUP_DOWNLOAD_CONNECTIONS,
        ...(deps.retryPolicy ? { retry: deps.retryPolicy } : {}),
      })
    : null;
  const backupWorker = backupTarget
    ? new BackupWorker({
        store,
        registry,
        target: backupTarget,
        queue,
        clock,
        logger,
        retry: config.backupRetry,
        leaseMs: config.backupLeaseMs,
      })
    : null;
  const reconciler = new Reconciler({ store, queue, clock, logger, backups: backupTarget !== null });
  const backups = new BackupAdmin({ store, queue, target: backupTarget, reconciler, clock, logger });
  // Every process where uploads complete queues their backups; the jobs run wherever workers do.
  const unsubscribeBackups = backupTarget ? backupCompletedUploads({ events, queue, logger }) : () => undefined;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(requestContext(logger));
  // Only a gateway published over https may tell browsers to use https: on plain http (a LAN
  // address, http://myserver:8080) those would turn every asset request into a failing https one.
  const servedOverHttps = config.publicUrl.startsWith('https:');
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // Angular inlines critical CSS with an onload handler; styles from self and inline are enough.
          'style-src': ["'self'", "'unsafe-inline'"],
          'script-src-attr': ["'none'"],
          'connect-src': ["'self'", 'ws:', 'wss:'],
          'upgrade-insecure-requests': servedOverHttps ? [] : null,
        },
      },
      strictTransportSecurity: servedOverHttps,
    }),
  );
  app.use(passport.initialize());

  app.use(healthRoutes({ store, queue, isShuttingDown: deps.isShuttingDown ?? (() => false) }));

  const api = express.Router();
  // Before the body parsers: upload bodies are file bytes and must stream.
  api.use('/v1/upload', uploadRoutes({ uploads, passport, logger }));
  api.use(express.json({ limit: JSON_BODY_LIMIT }));
  api.use(express.urlencoded({ extended: false, limit: JSON_BODY_LIMIT, parameterLimit: 50 }));
  api.use(cookieParser());
  api.use('/v1/auth', authRoutes({ auth, passport, config, logger }));
  api.use('/v1/admin/accounts', accountRoutes({ accounts, google: googleConnect, passport, logger }));
  // Files, downloads (with fallback to the backup), share links and ZIPs.
  const metrics = declareDownloadMetrics(new Metrics());
  const signer = new UrlSigner(config.jwtSecret, clock);
  const files = new FileService({ store, queue, clock, logger });
  const downloads = new DownloadService({ store, registry, backupTarget, logger, metrics });
  const links = new LinkService({ store, files, clock, logger, signer, throttle: new LinkPasswordThrottle(clock), publicUrl: config.publicUrl });
  const deleteFileJob = createDeleteFileJob({ store, registry, backupTarget, logger, clock });
  api.use('/v1/files', fileRoutes({ files, passport }));
  api.use('/v1/files', fileLinkRoutes({ links, passport }));
  api.use('/v1/download', downloadRoutes({ files, downloads, signer, users: store.users, passport, logger, metrics }));
  api.use('/v1/links', publicLinkRoutes({ links, downloads }));
  app.use(metricsRoutes({ metrics, passport }));
  api.use('/v1/admin/backups', backupRoutes({ backups, passport }));
  api.use(apiNotFound);
  app.use('/api', api);

  serveFrontend(app, config.frontendDistDir, logger);
  app.use(errorHandler);

  let sweep: NodeJS.Timeout | undefined;
  let workersStarted = false;
  const startWorkers = () => {
    if (workersStarted) return;
    workersStarted = true;
    if (backupWorker) queue.process(JOB.backupFile, config.backupConcurrency, ({ fileId }) => backupWorker.run(fileId));
    // Deletions talk to the same servers (pool members, the backup target): the same limit.
    queue.process(JOB.deleteFile, config.backupConcurrency, deleteFileJob);
    reconciler.start(config.reconcileIntervalMs);
    logger.info(
      { queue: queue.kind, backupConcurrency: config.backupConcurrency, backupTarget: backupTarget?.description ?? null },
      'job workers started',
    );
  };
  return {
    express: app,
    auth,
    uploads,
    accounts,
    health,
    events,
    queue,
    backupTarget,
    deleteFileJob,
    backups,
    reconciler,
    handleUpgrade(req, socket, head) {
      if (sockets.handles(req.url)) return sockets.handleUpgrade(req, socket, head);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    },
    startBackground() {
      health.start(config.healthCheckIntervalMs);
      sweep ??= setInterval(() => {
        uploads.expireAbandoned().catch((err: unknown) => logger.error({ err }, 'abandoned-upload sweep failed'));
      }, UPLOAD_SWEEP_MS);
      sweep.unref();
      if (deps.runWorkers ?? config.runWorkers) startWorkers();
    },
    startWorkers,
    async close() {
      if (sweep) clearInterval(sweep);
      unsubscribeBackups();
      await reconciler.stop();
      await health.stop();
      await sockets.close();
      // The queue stops taking jobs at once and waits for running ones; past the grace period they are interrupted.
      const grace = setTimeout(() => backupWorker?.abortAll(), deps.workerGraceMs ?? WORKER_GRACE_MS);
      try {
        await queue.close();
      } finally {
        clearTimeout(grace);
      }
    },
  };
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
