import http from 'node:http';
import { ConfigError, loadConfig } from './config/env';
import { resolveSecrets } from './config/secrets';
import { createLogger, type Logger } from './core/logger';
import { exitGracefullyOnSignals } from './core/signals';
import { type App, type AppDeps, createApp } from './http/app';
import { openStore } from './store';
import type { MetadataStore } from './store/types';

/** How long in-flight requests get to finish after SIGTERM before we exit anyway. */
const SHUTDOWN_GRACE_MS = 10_000;
/** Expired refresh tokens are useless (even for reuse detection); sweep them hourly. */
const TOKEN_SWEEP_MS = 60 * 60 * 1000;

export interface RunningServer {
  server: http.Server;
  store: MetadataStore;
  app: App;
  url: string;
  stop(): Promise<void>;
}

/** What tests may swap in; production uses the defaults. */
export type ServerOptions = { logger?: Logger } & Partial<Pick<AppDeps, 'clock' | 'retryPolicy' | 'breaker' | 'events' | 'workerGraceMs' | 'runWorkers'>>;

/** Starts the gateway: config → secrets → store → first admin → pool → HTTP. Used by main and by tests. */
export async function startServer(env: NodeJS.ProcessEnv, options: ServerOptions = {}): Promise<RunningServer> {
  const { logger, ...overrides } = options;
  const config = resolveSecrets(loadConfig(env));
  const log = logger ?? createLogger(config.logLevel);
  const store = await openStore(config);
  let shuttingDown = false;
  const app = createApp({ config, store, logger: log, isShuttingDown: () => shuttingDown, ...overrides });

  if (config.admin) {
    const outcome = await app.auth.ensureFirstAdmin(config.admin.email, config.admin.password);
    if (outcome !== 'exists') log.info({ email: config.admin.email, outcome }, 'first admin ready');
  }
  await app.accounts.ensureEmbeddedMember(config.localStorageDir);

  const server = http.createServer(app.express);
  server.on('upgrade', (req, socket, head) => {
    // An upgrade listener that throws would take the whole process down: no request may do that.
    try {
      app.handleUpgrade(req, socket, head);
    } catch (err) {
      log.error({ err }, 'WebSocket upgrade failed');
      socket.destroy();
    }
  });
  server.headersTimeout = 60_000;
  server.requestTimeout = 0; // uploads and downloads may legitimately take hours
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  log.info({ url, store: store.kind, dataDir: config.dataDir }, 'DirectDriveX gateway listening');
  app.startBackground();

  const sweep = setInterval(() => {
    store.refreshTokens.deleteExpired(new Date()).then(
      (removed) => removed > 0 && log.debug({ removed }, 'expired refresh tokens removed'),
      (err: unknown) => log.warn({ err }, 'refresh token sweep failed'),
    );
  }, TOKEN_SWEEP_MS);
  sweep.unref();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      shuttingDown = true;
      clearInterval(sweep);
      await app.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(timer);
      await store.close();
      log.info('gateway stopped');
    })();
    return stopping;
  };
  return { server, store, app, url, stop };
}

async function main(): Promise<void> {
  let running: RunningServer;
  try {
    running = await startServer(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee .env.template for every variable and its default.\n`);
    } else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' || (err as NodeJS.ErrnoException).code === 'EACCES') {
      const { address, port } = err as { address?: string; port?: number };
      const why = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'is already in use' : 'may not be used by this user';
      process.stderr.write(`DirectDriveX cannot listen on ${address ?? 'HOST'}:${port ?? 'PORT'}: the port ${why}. Stop the other process or set PORT (and HOST).\n`);
    } else {
      process.stderr.write(`DirectDriveX failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    }
    process.exit(1);
  }
  exitGracefullyOnSignals('shutting down gracefully', () => running.stop());
}

if (require.main === module) void main();
