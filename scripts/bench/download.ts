/**
 * `npm run bench:download` (issue 4): a 512 MiB file downloaded
 * - through the gateway (`/api/v1/download/stream/<id>`),
 * - straight from the Drive emulator (`files.get?alt=media`),
 * - through a bare Node pass-through proxy in its own process (`http.get(…).pipe(res)`),
 * in one run, with MiB/s, the ratios, time to first byte and the gateway's
 * peak RSS; then the backup of the same file to a WebDAV server (lighttpd)
 * by the gateway's worker (copy and verification read-back), next to
 * `rclone copy` of the same file to the same server when rclone is installed.
 *
 *   BENCH_SIZE_MIB   the file (default 512)
 *   BENCH_SMALL_MIB  a smaller download, to show peak RSS does not grow with size (default 64)
 *   BENCH_RUNS       repetitions of each download (default 3; medians reported)
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { connectDriveEmulator } from '../../backend/test/support/drive-emulator';
import { startWebDavServer } from '../../backend/test/support/webdav-server';
import {
  ADMIN,
  describeCpu,
  fmt,
  fmtMiB,
  json,
  makeRandomFile,
  measureCpu,
  MiB,
  mibPerSecond,
  PeakRss,
  startEmulatorProcess,
  startGatewayProcess,
  uploadThroughGateway,
} from './processes';

const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 512) * MiB;
const SMALL = Number(process.env.BENCH_SMALL_MIB ?? 64) * MiB;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface Timing {
  ms: number;
  ttfbMs: number;
  bytes: number;
}

/** GETs `url`, discarding the body as fast as it comes; time to first byte and total. */
function download(url: string, headers: Record<string, string>): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let ttfbMs = 0;
    let bytes = 0;
    http
      .get(url, { headers }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
          return;
        }
        res.on('data', (piece: Buffer) => {
          if (bytes === 0) ttfbMs = performance.now() - started;
          bytes += piece.length;
        });
        res.on('end', () => resolve({ ms: performance.now() - started, ttfbMs, bytes }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const median = <T extends { ms: number }>(runs: T[]): T => [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;

/** The simplest possible relay, in a process of its own: every request piped to `upstream`. */
async function startBareProxy(upstream: string) {
  const code = `
    const http = require('node:http');
    const upstream = new URL(process.argv[1]);
    const server = http.createServer((req, res) => {
      http.get({ host: upstream.hostname, port: upstream.port, path: req.url, headers: { authorization: req.headers.authorization ?? '' } }, (up) => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      }).on('error', () => res.destroy());
    });
    server.listen(0, '127.0.0.1', () => console.log('proxy ' + server.address().port));
  `;
  const child = spawn(process.execPath, ['-e', code, upstream], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(/proxy (\d+)/.exec(d.toString())?.[1])));
    child.once('exit', (c) => reject(new Error(`proxy exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: async () => void child.kill('SIGTERM') };
}

async function accessToken(tokenUrl: string, account: { clientId: string; clientSecret: string; refreshToken: string }): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: account.refreshToken, client_id: account.clientId, client_secret: account.clientSecret });
  return ((await (await fetch(tokenUrl, { method: 'POST', body: form })).json()) as { access_token: string }).access_token;
}

const uploadThrough = async (gatewayUrl: string, token: string, file: string, size: number): Promise<string> =>
  (await uploadThroughGateway(gatewayUrl, token, file, size)).fileId;

/** Waits until the file's backup is done; returns how long that took from the call. */
async function waitForBackup(gatewayUrl: string, token: string, fileId: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    const meta = await json<{ backup: { state: string; lastError: string | null } }>(`${gatewayUrl}/api/v1/download/files/${fileId}/meta`, 'GET', undefined, token);
    if (meta.body.backup.state === 'done') return performance.now() - started;
    if (meta.body.backup.state === 'failed') throw new Error(`backup failed: ${meta.body.backup.lastError}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'ddx-bench-download-'));
  const stops: Array<() => Promise<void>> = [];
  try {
    console.log(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${fmt(os.totalmem() / 1024 ** 3, 0)} GiB RAM`);
    const big = path.join(work, 'big.bin');
    const small = path.join(work, 'small.bin');
    await makeRandomFile(big, SIZE);
    await makeRandomFile(small, SMALL);

    const emulatorDir = fs.existsSync('/dev/shm') ? await fsp.mkdtemp('/dev/shm/ddx-bench-emulator-') : path.join(work, 'emulator');
    stops.push(() => fsp.rm(emulatorDir, { recursive: true, force: true }));
    const emulator = await startEmulatorProcess(emulatorDir);
    stops.push(emulator.stop);
    const dav = await startWebDavServer();
    stops.push(() => dav.close());
    const gateway = await startGatewayProcess(path.join(work, 'gateway'), {
      ...emulator.env,
      BACKUP_WEBDAV_URL: dav.url,
      BACKUP_WEBDAV_USERNAME: dav.username,
      BACKUP_WEBDAV_PASSWORD: dav.password,
      BACKUP_WEBDAV_ROOT: '/backups',
    });
    stops.push(gateway.stop);
    const proxy = await startBareProxy(emulator.url);
    stops.push(proxy.stop);

    const admin = await json<{ access_token: string }>(`${gateway.url}/api/v1/auth/token`, 'POST', ADMIN);
    const added = await json(`${gateway.url}/api/v1/admin/accounts`, 'POST', { provider: 'gdrive', name: 'bench', ...emulator.account }, admin.body.access_token);
    if (added.status !== 201) throw new Error(`adding the Drive account failed: ${JSON.stringify(added.body)}`);
    const user = { email: 'bench@example.com', password: 'bench user password' };
    await json(`${gateway.url}/api/v1/auth/register`, 'POST', user);
    const token = (await json<{ access_token: string }>(`${gateway.url}/api/v1/auth/token`, 'POST', user)).body.access_token;

    // The upload queues the backup at once: its time is the backup's copy and verification.
    const bigId = await uploadThrough(gateway.url, token, big, SIZE);
    const backupMs = await waitForBackup(gateway.url, token, bigId);
    const done = gateway
      .output()
      .split('\n')
      .find((line) => line.includes('"backup done"') && line.includes(bigId));
    const phases = done ? (JSON.parse(done) as { copyMs: number; verifyMs: number }) : null;
    const smallId = await uploadThrough(gateway.url, token, small, SMALL);
    await waitForBackup(gateway.url, token, smallId);

    const control = connectDriveEmulator(emulator.url);
    const [driveAccount] = (await control.stats()).accounts;
    const remote = (await control.files(driveAccount!.id)).find((f) => f.size === SIZE)!;
    const driveToken = await accessToken(emulator.env.GOOGLE_OAUTH_TOKEN_URL!, emulator.account);
    const auth = { Authorization: `Bearer ${driveToken}` };
    const mediaPath = `/drive/v3/files/${remote.id}?alt=media`;

    const rss = new PeakRss(gateway.child.pid!);
    const pids = { emulator: emulator.child.pid!, gateway: gateway.child.pid!, proxy: proxy.pid };
    const runs = { gateway: [] as Timing[], direct: [] as Timing[], proxy: [] as Timing[] };
    const cpu: Record<keyof typeof runs, Record<string, number>> = { gateway: {}, direct: {}, proxy: {} };
    let peakBig = 0;
    // One warm-up each, then alternating runs so machine noise hits every path alike.
    await download(`${gateway.url}/api/v1/download/stream/${smallId}`, { Authorization: `Bearer ${token}` });
    await download(`${emulator.url}${mediaPath}`, auth);
    await download(`${proxy.url}${mediaPath}`, auth);
    for (let run = 0; run < RUNS; run++) {
      rss.start();
      const g = await measureCpu(pids, () => download(`${gateway.url}/api/v1/download/stream/${bigId}`, { Authorization: `Bearer ${token}` }));
      peakBig = Math.max(peakBig, rss.stop());
      const d = await measureCpu(pids, () => download(`${emulator.url}${mediaPath}`, auth));
      const p = await measureCpu(pids, () => download(`${proxy.url}${mediaPath}`, auth));
      for (const [name, m] of [['gateway', g], ['direct', d], ['proxy', p]] as const) {
        if (m.result.bytes !== SIZE) throw new Error(`${name} delivered ${m.result.bytes} bytes, not ${SIZE}`);
        runs[name].push(m.result);
        if (median(runs[name]) === m.result) cpu[name] = m.cpu;
      }
    }
    rss.start();
    await download(`${gateway.url}/api/v1/download/stream/${smallId}`, { Authorization: `Bearer ${token}` });
    const peakSmall = rss.stop();

    let rclone: { copyMs: number; checkMs: number } | null = null;
    if (spawnSync('rclone', ['version'], { stdio: 'ignore' }).status === 0) {
      const obscured = spawnSync('rclone', ['obscure', dav.password], { encoding: 'utf8' }).stdout.trim();
      const remote = [`--webdav-url=${dav.url}`, `--webdav-user=${dav.username}`, `--webdav-pass=${obscured}`, '--webdav-vendor=other', '-q'];
      const time = (args: string[]) => {
        const started = performance.now();
        const result = spawnSync('rclone', [...args, ...remote], { stdio: 'inherit' });
        return result.status === 0 ? performance.now() - started : null;
      };
      const copyMs = time(['copy', big, ':webdav:rclone']);
      // Its verification by reading the copy back (WebDAV servers here offer no checksums), like ours.
      const checkMs = time(['check', '--download', '--one-way', work, ':webdav:rclone', '--include', 'big.bin']);
      if (copyMs !== null && checkMs !== null) rclone = { copyMs, checkMs };
    }

    const rate = (t: Timing) => mibPerSecond(SIZE, t.ms);
    const [g, d, p] = [median(runs.gateway), median(runs.direct), median(runs.proxy)];
    const all = (list: Timing[]) => list.map((t) => fmt(rate(t))).join(', ');
    console.log('');
    console.log(`download of ${fmtMiB(SIZE)}, median of ${RUNS} runs`);
    console.log(`  direct from emulator     ${fmt(rate(d))} MiB/s, first byte ${fmt(d.ttfbMs)} ms (runs: ${all(runs.direct)})`);
    console.log(`  bare Node proxy          ${fmt(rate(p))} MiB/s, first byte ${fmt(p.ttfbMs)} ms (runs: ${all(runs.proxy)})`);
    console.log(`  through the gateway      ${fmt(rate(g))} MiB/s, first byte ${fmt(g.ttfbMs)} ms (runs: ${all(runs.gateway)})`);
    console.log(`  gateway / direct         ${fmt(rate(g) / rate(d), 2)}  (target ≥ 0.5)`);
    console.log(`  gateway / bare proxy     ${fmt(rate(g) / rate(p), 2)}  (target ≥ 1.0)`);
    console.log(`  CPU, gateway run         ${describeCpu(cpu.gateway)}`);
    console.log(`  CPU, proxy run           ${describeCpu(cpu.proxy)}`);
    console.log(`  gateway peak RSS         ${fmtMiB(peakBig)} for ${fmtMiB(SIZE)}, ${fmtMiB(peakSmall)} for ${fmtMiB(SMALL)}`);
    console.log(`backup of ${fmtMiB(SIZE)} to WebDAV (lighttpd on loopback)`);
    console.log(`  gateway worker, in all   ${fmt(mibPerSecond(SIZE, backupMs))} MiB/s (${fmt(backupMs / 1000, 2)} s from upload to done)`);
    if (phases) {
      console.log(`    copy (Drive → WebDAV)  ${fmt(mibPerSecond(SIZE, phases.copyMs))} MiB/s (${fmt(phases.copyMs / 1000, 2)} s)`);
      console.log(`    verify (read back)     ${fmt(mibPerSecond(SIZE, phases.verifyMs))} MiB/s (${fmt(phases.verifyMs / 1000, 2)} s)`);
      console.log(`    copy + verify          ${fmt(mibPerSecond(SIZE, phases.copyMs + phases.verifyMs))} MiB/s`);
    }
    if (rclone === null) console.log('  rclone                   not installed (apt-get install rclone)');
    else {
      console.log(`  rclone copy              ${fmt(mibPerSecond(SIZE, rclone.copyMs))} MiB/s (${fmt(rclone.copyMs / 1000, 2)} s, local file → WebDAV)`);
      console.log(`  rclone check --download  ${fmt(mibPerSecond(SIZE, rclone.checkMs))} MiB/s (${fmt(rclone.checkMs / 1000, 2)} s, read back and compared)`);
      console.log(`  rclone copy + check      ${fmt(mibPerSecond(SIZE, rclone.copyMs + rclone.checkMs))} MiB/s`);
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await fsp.rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
