/**
 * Helpers shared by the benchmarks: start the Drive emulator and the built
 * gateway as processes of their own (so their CPU and memory are measured
 * apart from the client's), read a process's peak RSS, and make test files.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { uploadWithResume } from '../../backend/test/support/ws-upload-client';
import { GATEWAY_RUNTIME_ENV } from '../runtime-env.mjs';

export const ROOT = path.resolve(__dirname, '..', '..');
export const MiB = 1024 * 1024;
const KEEP_OUTPUT_CHARS = 1024 * 1024;

export interface Spawned {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function spawnWith(args: string[], env: Record<string, string>, ready: RegExp, what: string): Promise<Spawned & { match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${text}`)), 60_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const match = ready.exec(text);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // From here on only the latest output is kept (a long run logs a lot): enough for a
        // benchmark to read a log line of what it just did, such as the backup's timings.
        child.stdout?.on('data', (more: Buffer) => (text = (text + more.toString()).slice(-KEEP_OUTPUT_CHARS)));
        resolve({ child, match, output: () => text, stop });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}:\n${text}`)));
  });
}

export async function startEmulatorProcess(dir: string, nodeArgs: string[] = []) {
  const spawned = await spawnWith(
    [...nodeArgs, '--import', 'tsx', path.join(ROOT, 'backend/test/support/drive-emulator/cli.ts')],
    { PORT: '0', EMULATOR_DIR: dir, EMULATOR_QUOTA_BYTES: 'unlimited' },
    /refreshToken=(\S+)/,
    'Drive emulator',
  );
  const out = spawned.output();
  const field = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(out)?.[1] ?? '';
  return {
    ...spawned,
    url: /listening on (http:\/\/\S+)/.exec(out)?.[1] ?? '',
    env: Object.fromEntries(['GOOGLE_API_ROOT_URL', 'GOOGLE_OAUTH_TOKEN_URL'].map((k) => [k, field(k)])),
    account: { clientId: field('clientId'), clientSecret: field('clientSecret'), refreshToken: field('refreshToken') },
  };
}

export const ADMIN = { email: 'bench-admin@example.com', password: 'bench admin password' };

/** `nodeArgs` lets a run profile the gateway (e.g. `--cpu-prof`). */
export async function startGatewayProcess(dataDir: string, env: Record<string, string>, nodeArgs: string[] = []) {
  const spawned = await spawnWith(
    [...nodeArgs, path.join(ROOT, 'backend/dist/main.js')],
    {
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      LOCAL_STORAGE_DIR: '',
      HEALTH_CHECK_INTERVAL_SECONDS: '0',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'info',
      ...(process.env.BENCH_NO_RUNTIME_ENV ? {} : GATEWAY_RUNTIME_ENV),
      ...env,
    },
    /"url":"(http:\/\/[^"]+)".*listening/,
    'gateway',
  );
  return { ...spawned, url: spawned.match[1]! };
}

/**
 * Peak resident memory of a process. Linux keeps the high-water mark
 * (VmHWM); writing 5 to clear_refs resets it, so each phase is measured on
 * its own. Where that is not allowed, a sampler tracks VmRSS instead.
 */
export class PeakRss {
  private sampled = 0;
  private timer: NodeJS.Timeout | undefined;
  private resettable = true;

  constructor(private readonly pid: number) {}

  private read(field: 'VmHWM' | 'VmRSS'): number {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  }

  start(): void {
    try {
      fs.writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
    } catch {
      this.resettable = false;
    }
    this.sampled = this.read('VmRSS');
    this.timer = setInterval(() => (this.sampled = Math.max(this.sampled, this.read('VmRSS'))), 20);
  }

  stop(): number {
    clearInterval(this.timer);
    const sampled = Math.max(this.sampled, this.read('VmRSS'));
    return this.resettable ? Math.max(this.read('VmHWM'), sampled) : sampled;
  }
}

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
}

/** CPU used by each named process (and this one) while `work` runs. */
export async function measureCpu<T>(pids: Record<string, number>, work: () => Promise<T>): Promise<{ result: T; cpu: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]));
  const self = process.cpuUsage();
  const result = await work();
  const used = process.cpuUsage(self);
  const cpu: Record<string, number> = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid) - (before[name] ?? 0)]));
  cpu.client = (used.user + used.system) / 1000;
  return { result, cpu };
}

export const describeCpu = (cpu: Record<string, number>) =>
  Object.entries(cpu)
    .map(([name, ms]) => `${name} ${fmt(ms / 1000, 2)} s`)
    .join(', ');

/** A file of random bytes, written in 4 MiB pieces (never held whole in memory). */
export async function makeRandomFile(file: string, size: number): Promise<void> {
  const handle = await fsp.open(file, 'w');
  try {
    for (let written = 0; written < size; ) {
      const piece = randomBytes(Math.min(4 * MiB, size - written));
      await handle.write(piece);
      written += piece.length;
    }
  } finally {
    await handle.close();
  }
}

/** Reads bytes [offset, offset+length) of an open file into a fresh buffer. */
/**
 * Uploads `file` through the gateway's WebSocket protocol (initiate, then 4 MiB
 * frames); the file's id, the time from initiate to `complete`, and the
 * SHA-256 the gateway recorded.
 */
export async function uploadThroughGateway(
  gatewayUrl: string,
  token: string,
  file: string,
  size: number,
  options: { zeroMask?: boolean } = {},
): Promise<{ fileId: string; ms: number; sha256: string | null }> {
  const handle = await fsp.open(file, 'r');
  try {
    const started = performance.now();
    const init = await json<{ fileId: string; uploadToken: string; chunkSize: number }>(`${gatewayUrl}/api/v1/upload/initiate`, 'POST', { filename: path.basename(file), size }, token);
    if (init.status !== 201) throw new Error(`initiate: ${init.status} ${JSON.stringify(init.body)}`);
    const { final } = await uploadWithResume({
      wsBase: gatewayUrl.replace(/^http/, 'ws'),
      fileId: init.body.fileId,
      token: init.body.uploadToken,
      size,
      chunkSize: init.body.chunkSize,
      readChunk: chunkReader(handle),
      zeroMask: options.zeroMask ?? false,
    });
    if (final.outcome !== 'complete') throw new Error(`upload ended with ${JSON.stringify(final)}`);
    return { fileId: init.body.fileId, ms: performance.now() - started, sha256: final.file.sha256 };
  } finally {
    await handle.close();
  }
}

export function chunkReader(handle: fsp.FileHandle) {
  return async (offset: number, length: number): Promise<Buffer> => {
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) throw new Error(`file ended at ${offset + done}`);
      done += bytesRead;
    }
    return buffer;
  };
}

export async function json<T>(url: string, method: string, body?: unknown, token?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export const mibPerSecond = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
export const fmt = (n: number, digits = 1) => n.toFixed(digits);
export const fmtMiB = (bytes: number) => `${fmt(bytes / MiB, 0)} MiB`;
