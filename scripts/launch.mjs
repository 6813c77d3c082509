// What `npm start` and `npm run worker` (scripts/start.mjs) decide before they
// start a process, kept apart so it can be tested.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

/** Newest modification time (ms) of any file under `dir`, or 0 when it does not exist. */
function newestUnder(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const time = entry.isDirectory() ? newestUnder(full) : statSync(full).mtimeMs;
    if (time > newest) newest = time;
  }
  return newest;
}

/**
 * Why the build must run first, or null when it is up to date: a build output
 * is missing, or a source file (or the lock file) changed after it was built —
 * after a `git pull`, say.
 */
export function buildNeeded(root) {
  const outputs = [path.join(root, 'backend', 'dist', 'main.js'), path.join(root, 'frontend', 'dist', 'frontend', 'browser', 'index.html')];
  if (!outputs.every((file) => existsSync(file))) return 'No build found';
  const built = Math.min(...outputs.map((file) => statSync(file).mtimeMs));
  const sources = [path.join(root, 'backend', 'src'), path.join(root, 'frontend', 'src'), path.join(root, 'package-lock.json')];
  const changed = Math.max(...sources.map((source) => (existsSync(source) && statSync(source).isFile() ? statSync(source).mtimeMs : newestUnder(source))));
  return changed > built ? 'The sources changed since the last build' : null;
}

/**
 * Reads `root/.env` into `env` when it exists; variables already set win, as
 * with Node's own --env-file. Returns whether there was one.
 */
export function loadDotEnv(root, env = process.env) {
  const file = path.join(root, '.env');
  if (!existsSync(file)) return false;
  for (const [name, value] of Object.entries(parseEnv(readFileSync(file, 'utf8')))) {
    if (env[name] === undefined) env[name] = value;
  }
  return true;
}
