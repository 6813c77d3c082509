import { ConfigError, loadConfig } from './config/env';
import { resolveSecrets } from './config/secrets';
import { createLogger, type Logger } from './core/logger';
import { exitGracefullyOnSignals } from './core/signals';
import { type App, type AppDeps, createApp } from './http/app';
import { openStore } from './store';
import type { MetadataStore } from './store/types';

/**
 * `npm run worker`: the job workers (backups, deletions) and the reconciler,
 * without HTTP — production runs M of these beside N API replicas that set
 * RUN_WORKERS=false. Jobs reach it through Redis, so it needs REDIS_URL; the
 * embedded default (no Redis) runs the workers inside the API process instead.
 */

export interface RunningWorker {
  app: App;
  store: MetadataStore;
  /** Stops taking jobs, lets running ones finish (up to the grace period), closes the store. */
  stop(): Promise<void>;
}

export type WorkerOptions = { logger?: Logger } & Partial<Pick<AppDeps, 'clock' | 'retryPolicy' | 'workerGraceMs'>>;

/** Thrown when the environment cannot run a separate worker; the message says what to set. */
export class WorkerConfigError extends Error {}

export async function startWorker(env: NodeJS.ProcessEnv, options: WorkerOptions = {}): Promise<RunningWorker> {
  const { logger, ...overrides } = options;
  const loaded = loadConfig(env);
  // Checked before anything touches DATA_DIR: a worker that cannot run must leave no trace.
  if (!loaded.redisUrl) {
    throw new WorkerConfigError(
      'npm run worker needs REDIS_URL: a separate worker receives its jobs through Redis. ' +
        'Without Redis, run only the gateway (npm start) with RUN_WORKERS=true, which runs the workers in-process.',
    );
  }
  const config = resolveSecrets(loaded);
  const log = logger ?? createLogger(config.logLevel);
  const store = await openStore(config);
  const app = createApp({ config, store, logger: log, ...overrides });
  app.startWorkers();
  if (!app.backupTarget) log.info('no backup target configured (BACKUP_WEBDAV_URL): this worker runs deletions only');
  log.info({ store: store.kind, queuePrefix: config.queuePrefix }, 'DirectDriveX worker running');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await app.close();
      await store.close();
      log.info('worker stopped');
    })();
    return stopping;
  };
  return { app, store, stop };
}

async function main(): Promise<void> {
  let running: RunningWorker;
  try {
    running = await startWorker(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee .env.template for every variable and its default.\n`);
    } else if (err instanceof WorkerConfigError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      process.stderr.write(`DirectDriveX worker failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exit(1);
  }
  // No server socket holds this process open, and Redis connections open lazily (none while no
  // worker has registered): stay up until told to stop.
  const keepAlive = setInterval(() => undefined, 60 * 60 * 1000);
  exitGracefullyOnSignals('finishing running jobs', () => running.stop(), () => clearInterval(keepAlive));
}

if (require.main === module) void main();
