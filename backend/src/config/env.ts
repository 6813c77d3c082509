import path from 'node:path';
import { z } from 'zod';

/**
 * The one place the process environment is read and validated. Everything else
 * receives the typed `Config` object. Bad values stop the process with a message
 * that names every offending variable (see `ConfigError`).
 */

const GiB = 1024 ** 3;

/** Empty strings (as in `FOO=` lines of a .env file) mean "unset". */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
}

function withDefault<T extends z.ZodType>(schema: T, fallback: z.input<T>) {
  return z.preprocess((v) => (v === '' || v === undefined ? fallback : v), schema);
}

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * Which proxies' X-Forwarded-For to believe, in Express's terms: `false`, a hop
 * count, or addresses/subnets (`loopback`, `10.0.0.0/8`, …). Plain `true` is
 * refused: it would take the left-most X-Forwarded-For entry, which the client
 * writes itself, and make per-IP login throttling trivial to dodge.
 */
const trustProxy = z.string().transform((value, ctx): false | number | string[] => {
  const v = value.trim();
  if (v === 'false' || v === '0') return false;
  if (/^[1-9]\d{0,1}$/.test(v)) return Number(v);
  if (v === 'true') {
    ctx.addIssue({ code: 'custom', message: 'must name the proxies to trust: a hop count such as 1, or addresses such as loopback or 10.0.0.0/8 (not true)' });
    return z.NEVER;
  }
  const list = v.split(',').map((x) => x.trim()).filter(Boolean);
  if (list.length === 0 || !list.every((x) => /^(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)$/.test(x))) {
    ctx.addIssue({ code: 'custom', message: 'must be false, a hop count, or a comma-separated list of addresses/subnets' });
    return z.NEVER;
  }
  return list;
});

/** A 32-byte key given as 64 hex characters or as base64. */
const masterKey = z.string().transform((value, ctx) => {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) {
    ctx.addIssue({ code: 'custom', message: 'must be 32 bytes, as 64 hex characters or base64' });
    return z.NEVER;
  }
  return key;
});

export const envSchema = z
  .object({
    NODE_ENV: withDefault(z.enum(['development', 'production', 'test']), 'development'),
    HOST: withDefault(z.string().min(1), '0.0.0.0'),
    PORT: withDefault(integer(0, 65535), '8080'),
    DATA_DIR: withDefault(z.string().min(1), './data'),
    PUBLIC_URL: optional(z.url()),
    LOG_LEVEL: withDefault(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
    TRUST_PROXY: withDefault(trustProxy, 'false'),
    DEFAULT_USER_QUOTA_BYTES: withDefault(integer(0, Number.MAX_SAFE_INTEGER), String(10 * GiB)),
    JWT_SECRET: optional(z.string().min(32, 'must be at least 32 characters')),
    MASTER_KEY: optional(masterKey),
    MONGODB_URI: optional(z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')),
    ADMIN_EMAIL: optional(z.email()),
    ADMIN_PASSWORD: optional(z.string().min(10, 'must be at least 10 characters')),
    GOOGLE_CLIENT_ID: optional(z.string().min(1)),
    GOOGLE_CLIENT_SECRET: optional(z.string().min(1)),
    GOOGLE_API_ROOT_URL: withDefault(z.url(), 'https://www.googleapis.com/'),
    GOOGLE_OAUTH_TOKEN_URL: withDefault(z.url(), 'https://oauth2.googleapis.com/token'),
    GOOGLE_OAUTH_AUTH_URL: withDefault(z.url(), 'https://accounts.google.com/o/oauth2/v2/auth'),
    FRONTEND_DIST_DIR: optional(z.string().min(1)),
    // Unlike the others, an empty value here means something: no local pool member.
    LOCAL_STORAGE_DIR: z.string().optional(),
    UPLOAD_EXPIRY_SECONDS: withDefault(integer(60, 30 * 24 * 3600), String(24 * 3600)),
    GOOGLE_DAILY_CAP_BYTES: withDefault(integer(0, Number.MAX_SAFE_INTEGER), String(750 * 1000 ** 3)),
    HEALTH_CHECK_INTERVAL_SECONDS: withDefault(integer(0, 24 * 3600), '300'),
    REDIS_URL: optional(z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')),
    QUEUE_PREFIX: withDefault(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _ . : - only'), 'ddx'),
    RUN_WORKERS: withDefault(z.enum(['true', 'false']), 'true'),
    BACKUP_WEBDAV_URL: optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
    BACKUP_WEBDAV_USERNAME: optional(z.string()),
    BACKUP_WEBDAV_PASSWORD: optional(z.string()),
    BACKUP_WEBDAV_ROOT: withDefault(z.string().min(1), '/directdrivex-backup'),
    BACKUP_CONCURRENCY: withDefault(integer(1, 64), '4'),
    BACKUP_MAX_ATTEMPTS: withDefault(integer(1, 100), '8'),
    BACKUP_RETRY_BASE_SECONDS: withDefault(z.coerce.number().min(0.001).max(3600), '30'),
    BACKUP_RETRY_MAX_SECONDS: withDefault(z.coerce.number().min(0.001).max(7 * 24 * 3600), '3600'),
    BACKUP_LEASE_SECONDS: withDefault(z.coerce.number().min(0.1).max(3600), '60'),
    RECONCILE_INTERVAL_SECONDS: withDefault(z.coerce.number().min(0).max(24 * 3600), '60'),
  })
  .superRefine((env, ctx) => {
    const pairs: Array<[keyof typeof env, keyof typeof env]> = [
      ['ADMIN_EMAIL', 'ADMIN_PASSWORD'],
      ['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET'],
    ];
    for (const [a, b] of pairs) {
      if ((env[a] === undefined) !== (env[b] === undefined)) {
        const missing = env[a] === undefined ? a : b;
        ctx.addIssue({ code: 'custom', path: [missing], message: `is required when ${missing === a ? b : a} is set` });
      }
    }
    if (env.RUN_WORKERS === 'false' && env.REDIS_URL === undefined) {
      // The in-process queue is only worked by this process: without workers, backups and deletions would never run.
      ctx.addIssue({ code: 'custom', path: ['RUN_WORKERS'], message: 'may be false only with REDIS_URL set (workers in another process get their jobs through Redis)' });
    }
    if (env.NODE_ENV === 'production') {
      for (const name of ['JWT_SECRET', 'MASTER_KEY'] as const) {
        if (env[name] === undefined) {
          ctx.addIssue({ code: 'custom', path: [name], message: 'is required when NODE_ENV=production' });
        }
      }
    }
  });

export type Env = z.output<typeof envSchema>;

export interface Config {
  nodeEnv: Env['NODE_ENV'];
  host: string;
  port: number;
  dataDir: string;
  publicUrl: string;
  logLevel: Env['LOG_LEVEL'];
  trustProxy: false | number | string[];
  defaultUserQuotaBytes: number;
  /** Undefined until `resolveSecrets` has generated or loaded them. */
  jwtSecret: string | undefined;
  masterKey: Buffer | undefined;
  mongodbUri: string | undefined;
  admin: { email: string; password: string } | undefined;
  google: {
    clientId: string;
    clientSecret: string;
    apiRootUrl: string;
    tokenUrl: string;
    authUrl: string;
  } | undefined;
  googleEndpoints: { apiRootUrl: string; tokenUrl: string; authUrl: string };
  frontendDistDir: string;
  /** Directory of the embedded local pool member; null when LOCAL_STORAGE_DIR is set to empty (no local member). */
  localStorageDir: string | null;
  /** An upload with no activity for this long is abandoned and its reservations freed. */
  uploadExpiryMs: number;
  /** Default daily upload cap of a new Google Drive account. */
  googleDailyCapBytes: number;
  /** How often every pool member's health and quota are checked; 0 turns the periodic check off. */
  healthCheckIntervalMs: number;
  /** Bull on Redis when set; the in-process queue otherwise. */
  redisUrl: string | undefined;
  /** Prefix of every queue key in Redis (several deployments, or test runs, can share one server). */
  queuePrefix: string;
  /** Whether this process runs the job workers (the embedded default does; an API replica beside `npm run worker` need not). */
  runWorkers: boolean;
  /** The second copy of every file; none until configured. */
  backup: { url: string; username: string; password: string; root: string } | undefined;
  backupConcurrency: number;
  backupRetry: { maxAttempts: number; baseMs: number; maxMs: number };
  /**
   * How long a worker's claim on a backup lasts; the worker renews it while it
   * copies, so only a worker that died lets it lapse — and then another takes over.
   */
  backupLeaseMs: number;
  /** How often the store is compared with the queue (pending, due and stuck work re-enqueued); 0: only at startup. */
  reconcileIntervalMs: number;
}

export interface ResolvedConfig extends Config {
  jwtSecret: string;
  masterKey: Buffer;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Where `npm run build` puts the Angular app, relative to the backend package. */
const DEFAULT_FRONTEND_DIST = path.resolve(__dirname, '..', '..', '..', 'frontend', 'dist', 'frontend', 'browser');

export function loadConfig(source: NodeJS.ProcessEnv, cwd = process.cwd()): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const given = typeof issue.path[0] === 'string' ? source[issue.path[0]] : undefined;
      // Never echo secret values back, only what was wrong with them.
      const secret = /SECRET|PASSWORD|KEY|URI|REDIS_URL/.test(name);
      const shown = given === undefined || secret ? '' : ` (got "${given}")`;
      return `${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(problems);
  }
  const env = parsed.data;
  const endpoints = {
    apiRootUrl: env.GOOGLE_API_ROOT_URL,
    tokenUrl: env.GOOGLE_OAUTH_TOKEN_URL,
    authUrl: env.GOOGLE_OAUTH_AUTH_URL,
  };
  return {
    nodeEnv: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    dataDir: path.resolve(cwd, env.DATA_DIR),
    publicUrl: (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    logLevel: env.LOG_LEVEL,
    trustProxy: env.TRUST_PROXY,
    defaultUserQuotaBytes: env.DEFAULT_USER_QUOTA_BYTES,
    jwtSecret: env.JWT_SECRET,
    masterKey: env.MASTER_KEY,
    mongodbUri: env.MONGODB_URI,
    admin:
      env.ADMIN_EMAIL !== undefined && env.ADMIN_PASSWORD !== undefined
        ? { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }
        : undefined,
    google:
      env.GOOGLE_CLIENT_ID !== undefined && env.GOOGLE_CLIENT_SECRET !== undefined
        ? { clientId: env.GOOGLE_CLIENT_ID, clientSecret: env.GOOGLE_CLIENT_SECRET, ...endpoints }
        : undefined,
    googleEndpoints: endpoints,
    frontendDistDir: env.FRONTEND_DIST_DIR !== undefined ? path.resolve(cwd, env.FRONTEND_DIST_DIR) : DEFAULT_FRONTEND_DIST,
    localStorageDir:
      env.LOCAL_STORAGE_DIR === undefined
        ? path.join(path.resolve(cwd, env.DATA_DIR), 'storage')
        : env.LOCAL_STORAGE_DIR.trim() === ''
          ? null
          : path.resolve(cwd, env.LOCAL_STORAGE_DIR),
    uploadExpiryMs: env.UPLOAD_EXPIRY_SECONDS * 1000,
    googleDailyCapBytes: env.GOOGLE_DAILY_CAP_BYTES,
    healthCheckIntervalMs: env.HEALTH_CHECK_INTERVAL_SECONDS * 1000,
    redisUrl: env.REDIS_URL,
    queuePrefix: env.QUEUE_PREFIX,
    runWorkers: env.RUN_WORKERS === 'true',
    backup:
      env.BACKUP_WEBDAV_URL !== undefined
        ? {
            url: env.BACKUP_WEBDAV_URL,
            username: env.BACKUP_WEBDAV_USERNAME ?? '',
            password: env.BACKUP_WEBDAV_PASSWORD ?? '',
            root: env.BACKUP_WEBDAV_ROOT,
          }
        : undefined,
    backupConcurrency: env.BACKUP_CONCURRENCY,
    backupRetry: {
      maxAttempts: env.BACKUP_MAX_ATTEMPTS,
      baseMs: Math.round(env.BACKUP_RETRY_BASE_SECONDS * 1000),
      maxMs: Math.round(env.BACKUP_RETRY_MAX_SECONDS * 1000),
    },
    backupLeaseMs: Math.round(env.BACKUP_LEASE_SECONDS * 1000),
    reconcileIntervalMs: Math.round(env.RECONCILE_INTERVAL_SECONDS * 1000),
  };
}
