import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A real WebDAV server for tests: Debian's lighttpd with mod_webdav, as a child
 * process on a loopback port, serving a fresh temporary directory behind HTTP
 * Basic auth. lighttpd is the second strictest server in FACTS.md (409 on a
 * missing parent, 400 on a partial PUT), so code that passes against it does
 * not lean on lenient behaviour.
 *
 * Each call gets its own port, directory and config, so test files running in
 * parallel never share a server.
 */
export interface WebDavServer {
  /** Base URL, ending in `/`. */
  readonly url: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** The served directory on disk: what the server stores, byte for byte. */
  readonly dir: string;
  readonly running: boolean;
  /** Kills the server (an outage); the port and the stored files stay. */
  stop(): Promise<void>;
  /** Starts it again on the same port, over the same files (recovery). */
  start(): Promise<void>;
  /** Stops the server and deletes everything it stored. */
  close(): Promise<void>;
  /**
   * Every request the server has read the headers of, oldest first, across
   * restarts (also those that failed or were cut short). Lets a test check
   * what went over the wire, e.g. that a PUT carried Content-Length and was
   * not chunked.
   */
  requests(): DavRequest[];
}

export interface DavRequest {
  method: string;
  path: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
}

export interface WebDavServerOptions {
  username?: string;
  password?: string;
  /** The lighttpd binary; default `LIGHTTPD_PATH`, else `lighttpd` on PATH or in /usr/sbin. */
  lighttpd?: string;
  /** False: ignore Range headers and always answer 200 with the whole file, like some servers do. */
  ranges?: boolean;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS = 5;
/** Marks our readiness probes, so `requests()` shows only what the test sent. */
const PROBE_HEADER = 'x-ddx-readiness-probe';

/** Children still alive, killed if the test process exits without closing them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

class PortInUseError extends Error {}

export async function startWebDavServer(options: WebDavServerOptions = {}): Promise<WebDavServer> {
  const username = options.username ?? 'ddx';
  const password = options.password ?? randomBytes(12).toString('hex');
  // lighttpd's plain user file is `user:password` per line.
  if (/[:\r\n]/.test(username) || /[\r\n]/.test(password)) throw new Error('WebDAV test user names cannot contain ":" or newlines');
  const binary = findLighttpd(options.lighttpd);

  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ddx-webdav-'));
  const dir = path.join(base, 'www');
  const uploads = path.join(base, 'tmp');
  fs.mkdirSync(dir);
  fs.mkdirSync(uploads);
  const userFile = path.join(base, 'users');
  const errorLog = path.join(base, 'error.log');
  fs.writeFileSync(userFile, `${username}:${password}\n`, { mode: 0o600 });
  // A per-server tag in the Server header, so the readiness probe knows it reached this
  // lighttpd and not whatever else may have taken the port in the meantime.
  const tag = `ddx-webdav-${randomBytes(6).toString('hex')}`;
  const configFile = path.join(base, 'lighttpd.conf');

  let port = 0;
  let child: ChildProcess | null = null;

  const writeConfig = () => fs.writeFileSync(configFile, lighttpdConfig({ port, dir, uploads, userFile, errorLog, tag, ranges: options.ranges ?? true }));

  async function launch(): Promise<void> {
    writeConfig();
    const started = await spawnLighttpd(binary, configFile, errorLog, port, tag);
    child = started;
    started.once('exit', () => {
      if (child === started) child = null;
    });
  }

  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      if (err instanceof PortInUseError && attempt < PORT_ATTEMPTS) continue;
      fs.rmSync(base, { recursive: true, force: true });
      throw err;
    }
  }

  const stop = async () => {
    const running = child;
    if (running) await kill(running);
    child = null;
  };

  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    username,
    password,
    dir,
    get running() {
      return child !== null;
    },
    stop,
    async start() {
      if (child) return;
      // The port was ours a moment ago; only a process racing for it could hold it now.
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        try {
          await launch();
          return;
        } catch (err) {
          if (!(err instanceof PortInUseError) || Date.now() > deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    async close() {
      await stop();
      fs.rmSync(base, { recursive: true, force: true });
    },
    requests() {
      return fs.existsSync(errorLog) ? parseRequestLog(fs.readFileSync(errorLog, 'utf8')) : [];
    },
  };
}

/**
 * lighttpd's `debug.log-request-header` writes each request's header block,
 * line by line, as `… fd:N rqst: <line>`, ending with an empty line. It logs a
 * whole block at once, so blocks of concurrent requests do not interleave.
 */
function parseRequestLog(log: string): DavRequest[] {
  const requests: DavRequest[] = [];
  let current: DavRequest | null = null;
  for (const line of log.split('\n')) {
    const match = /\bfd:\d+ rqst: (.*)$/.exec(line);
    if (!match) continue;
    const text = match[1] ?? '';
    if (current === null) {
      const [method = '', target = ''] = text.split(' ');
      current = { method, path: decodeURIComponent(target.split('?')[0] ?? ''), headers: {} };
    } else if (text === '') {
      if (!(PROBE_HEADER in current.headers)) requests.push(current);
      current = null;
    } else {
      const colon = text.indexOf(':');
      if (colon > 0) current.headers[text.slice(0, colon).trim().toLowerCase()] = text.slice(colon + 1).trim();
    }
  }
  return requests;
}

function lighttpdConfig(c: { port: number; dir: string; uploads: string; userFile: string; errorLog: string; tag: string; ranges: boolean }): string {
  const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return [
    `server.bind = "127.0.0.1"`,
    `server.port = ${c.port}`,
    `server.document-root = ${q(c.dir)}`,
    // Request bodies are buffered here before mod_webdav sees them; per server, so parallel servers never mix.
    `server.upload-dirs = (${q(c.uploads)})`,
    `server.tag = ${q(c.tag)}`,
    `server.modules = ("mod_auth", "mod_authn_file", "mod_webdav")`,
    `webdav.activate = "enable"`,
    `webdav.is-readonly = "disable"`,
    `auth.backend = "plain"`,
    `auth.backend.plain.userfile = ${q(c.userFile)}`,
    `auth.require = ("" => ("method" => "basic", "realm" => "ddx-webdav", "require" => "valid-user"))`,
    // lighttpd holds every 401 for bad credentials about a second (brute-force damping); tests
    // that present a wrong password on purpose would only get slower.
    `server.feature-flags = ("auth.delay-invalid-creds" => "disable")`,
    // Unlike the access log, which lighttpd buffers until shutdown, the error log is written at
    // once: with request headers logged into it, `requests()` sees what the server received.
    `server.errorlog = ${q(c.errorLog)}`,
    `debug.log-request-header = "enable"`,
    `server.range-requests = "${c.ranges ? 'enable' : 'disable'}"`,
    '',
  ].join('\n');
}

function findLighttpd(given: string | undefined): string {
  const explicit = given ?? process.env.LIGHTTPD_PATH;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`${explicit} is not an executable lighttpd (set by option or LIGHTTPD_PATH)`);
    return explicit;
  }
  // /usr/sbin is often missing from a non-root PATH, and that is where Debian puts it.
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const candidate = path.join(d, 'lighttpd');
    if (isExecutable(candidate)) return candidate;
  }
  throw new Error(
    'lighttpd is not installed: the WebDAV tests need Debian packages lighttpd and lighttpd-mod-webdav ' +
      '(apt-get install lighttpd lighttpd-mod-webdav; .ci/run does), or set LIGHTTPD_PATH',
  );
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** A port the OS just handed out; lighttpd may lose a race for it, which `launch` retries. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts lighttpd in the foreground and resolves once it answers HTTP with our tag. */
async function spawnLighttpd(binary: string, configFile: string, errorLog: string, port: number, tag: string): Promise<ChildProcess> {
  installExitHook();
  const child = spawn(binary, ['-D', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  // Failures before the error log is open (bad module, port taken) go to the terminal.
  let stderr = '';
  const capture = (text: string) => {
    // Only the start matters for diagnosis; a long-lived server must not grow this without bound.
    if (stderr.length < 16_384) stderr += text;
  };
  for (const out of [child.stdout, child.stderr]) {
    out?.setEncoding('utf8');
    out?.on('data', capture);
  }
  const state: { exited: { code: number | null; signal: NodeJS.Signals | null } | null; spawnError: Error | null } = {
    exited: null,
    spawnError: null,
  };
  child.once('error', (err) => {
    state.spawnError = err;
    live.delete(child);
  });
  child.once('exit', (code, signal) => {
    state.exited = { code, signal };
    live.delete(child);
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (state.spawnError) throw new Error(`Could not run ${binary}: ${state.spawnError.message}`);
    if (state.exited) throw startFailure(stderr + tail(errorLog), port, state.exited);
    if ((await answers(port, tag)) && !state.exited) return child;
    if (Date.now() > deadline) {
      await kill(child);
      throw new Error(`lighttpd did not answer on 127.0.0.1:${port} within ${READY_TIMEOUT_MS} ms. Its output:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-4096);
  } catch {
    return '';
  }
}

function startFailure(stderr: string, port: number, exited: { code: number | null; signal: NodeJS.Signals | null }): Error {
  if (/Address already in use/i.test(stderr)) return new PortInUseError(`127.0.0.1:${port} is taken`);
  if (/mod_webdav\.so/.test(stderr)) {
    return new Error(
      `lighttpd cannot load mod_webdav: install Debian package lighttpd-mod-webdav (.ci/run does). Its output:\n${stderr}`,
    );
  }
  if (/mod_auth(n_file)?\.so/.test(stderr)) {
    return new Error(`lighttpd cannot load its auth modules (Debian package lighttpd). Its output:\n${stderr}`);
  }
  return new Error(`lighttpd exited (code ${exited.code}, signal ${exited.signal}) before answering. Its output:\n${stderr}`);
}

/** One unauthenticated request: any answer carrying our Server tag means lighttpd is up. */
function answers(port: number, tag: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'OPTIONS', path: '/', headers: { [PROBE_HEADER]: '1' }, agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.headers.server === tag);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}
