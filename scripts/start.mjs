#!/usr/bin/env node
// `npm start`: read .env if there is one, build backend and frontend when the
// build is missing or older than the sources, then run the gateway in the
// foreground. `npm run worker` (this script with the
// argument `worker`) runs only the job workers instead. Signals are passed on
// so Ctrl-C and SIGTERM shut either down gracefully.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNeeded, loadDotEnv } from './launch.mjs';
import { GATEWAY_RUNTIME_ENV } from './runtime-env.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entryName = process.argv[2] === 'worker' ? 'worker.js' : 'main.js';
const backendEntry = path.join(root, 'backend', 'dist', entryName);

if (loadDotEnv(root)) console.log('Settings read from .env (variables set in the environment win).');

const why = buildNeeded(root);
if (why) {
  console.log(`${why}: running \`npm run build\` first.`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const build = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

// The operator's own settings win over ours.
const child = spawn(process.execPath, [backendEntry], { cwd: root, stdio: 'inherit', env: { ...GATEWAY_RUNTIME_ENV, ...process.env } });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
