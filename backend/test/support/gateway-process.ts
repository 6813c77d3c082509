import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { tempDir } from './temp';

export const BACKEND_ENTRY = path.resolve(__dirname, '..', '..', 'dist', 'main.js');

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  dataDir: string;
  output: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
  cleanup(): void;
}

/**
 * Runs the built gateway (`backend/dist/main.js`) as its own process on a
 * random port with a fresh DATA_DIR, exactly as `npm start` would, and waits
 * for its "listening" log line to learn the URL.
 */
export async function startGatewayProcess(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const { child, dir, cleanup, output: captured } = spawnGateway(env);
  const output = () => captured.text;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in time:\n${output()}`)), 30_000);
    const onData = () => {
      const match = /"url":"(http:\/\/[^"]+)".*listening/.exec(output());
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening:\n${output()}`));
    });
  });

  return {
    child,
    url,
    dataDir: dir,
    output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    cleanup,
  };
}

/** Runs the gateway expecting it to refuse to start; resolves with its exit code and output. */
export function runGatewayExpectingFailure(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const { child, cleanup, output } = spawnGateway(env);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      cleanup();
      resolve({ code, output: output.text });
    });
  });
}

/** The built gateway with a fresh DATA_DIR, a random port and only the given environment. */
function spawnGateway(env: Record<string, string>) {
  const { dir, cleanup } = tempDir('ddx-e2e-');
  const child = spawn(process.execPath, [BACKEND_ENTRY], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { text: '' };
  child.stdout?.on('data', (c: Buffer) => (output.text += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output.text += c.toString()));
  return { child, dir, cleanup, output };
}
