import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config, ResolvedConfig } from './env';

/**
 * The embedded default must start with no setup at all, so when JWT_SECRET or
 * MASTER_KEY is unset (only allowed outside production, see env.ts) we generate
 * one into DATA_DIR on first start and reuse it afterwards. Files are 0600:
 * anyone who can read them can forge tokens or decrypt account credentials.
 */
export function resolveSecrets(config: Config): ResolvedConfig {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const jwtSecret = config.jwtSecret ?? readOrCreate(path.join(config.dataDir, 'jwt_secret'), () => randomBytes(48).toString('base64url'));
  const masterKey =
    config.masterKey ??
    Buffer.from(readOrCreate(path.join(config.dataDir, 'master_key'), () => randomBytes(32).toString('hex')), 'hex');
  if (masterKey.length !== 32) {
    throw new Error(`${path.join(config.dataDir, 'master_key')} does not hold a 32-byte hex key; remove it or set MASTER_KEY`);
  }
  return { ...config, jwtSecret, masterKey };
}

function readOrCreate(file: string, generate: () => string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const value = generate();
  try {
    // 'wx' fails if another process created it in the meantime; then we read theirs.
    fs.writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw err;
  }
}
