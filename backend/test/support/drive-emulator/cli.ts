/**
 * `npm run drive-emulator`: a Drive emulator for local development.
 *
 *   PORT (4040), HOST (127.0.0.1)
 *   EMULATOR_DIR            where file bytes go (default: a temp dir, removed on exit)
 *   EMULATOR_QUOTA_BYTES    the account's limit; "unlimited" for none (default 15 GiB)
 *   EMULATOR_USAGE_BYTES    bytes the account already uses (default 0)
 *   EMULATOR_EMAIL          the account's address
 *   EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EMULATOR_REFRESH_TOKEN
 *                           fixed credentials, so a gateway's .env survives emulator restarts
 *   EMULATOR_PUBLIC_URL     base of session URIs when reached through another name
 *
 * Metadata is kept in memory: files uploaded before a restart are gone.
 */
import { startDriveEmulator } from './server';
import { FREE_ACCOUNT_LIMIT } from './state';

function quotaFromEnv(raw: string | undefined): number | null {
  if (raw === undefined || raw === '') return FREE_ACCOUNT_LIMIT;
  if (raw === 'unlimited') return null;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`EMULATOR_QUOTA_BYTES must be a byte count or "unlimited", not ${raw}`);
  return n;
}

async function main(): Promise<void> {
  const env = process.env;
  const clientId = env.EMULATOR_CLIENT_ID;
  const clientSecret = env.EMULATOR_CLIENT_SECRET;
  if ((clientId === undefined) !== (clientSecret === undefined)) throw new Error('Set both EMULATOR_CLIENT_ID and EMULATOR_CLIENT_SECRET, or neither');
  const quotaLimit = quotaFromEnv(env.EMULATOR_QUOTA_BYTES);
  const usage = Number(env.EMULATOR_USAGE_BYTES ?? 0);
  if (!Number.isSafeInteger(usage) || usage < 0) throw new Error(`EMULATOR_USAGE_BYTES must be a byte count, not ${env.EMULATOR_USAGE_BYTES}`);
  const emu = await startDriveEmulator({
    port: Number(env.PORT ?? 4040),
    host: env.HOST ?? '127.0.0.1',
    ...(env.EMULATOR_DIR ? { dir: env.EMULATOR_DIR } : {}),
    ...(env.EMULATOR_PUBLIC_URL ? { publicUrl: env.EMULATOR_PUBLIC_URL } : {}),
    ...(clientId !== undefined && clientSecret !== undefined ? { client: { clientId, clientSecret } } : {}),
  });
  const account = emu.addAccount({
    quotaLimit,
    usage,
    ...(env.EMULATOR_EMAIL ? { email: env.EMULATOR_EMAIL } : {}),
    ...(env.EMULATOR_REFRESH_TOKEN ? { refreshToken: env.EMULATOR_REFRESH_TOKEN } : {}),
  });
  const lines = [
    `Google Drive emulator listening on ${emu.url}`,
    '',
    '# Gateway environment:',
    ...Object.entries(emu.env).map(([k, v]) => `${k}=${v}`),
    '',
    `# Account ${account.email} (${account.id}), quota: ${quotaLimit === null ? 'unlimited' : `${quotaLimit} bytes`}`,
    `clientId=${account.clientId}`,
    `clientSecret=${account.clientSecret}`,
    `refreshToken=${account.refreshToken}`,
    '',
    `Control API: ${emu.url}/__emulator/stats (faults, accounts: see backend/test/support/drive-emulator/control.ts)`,
    'Ctrl-C to stop.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = () => {
    emu.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
