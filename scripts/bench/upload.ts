/**
 * `npm run bench:upload` (issue 3): how fast the gateway takes an upload over
 * its WebSocket protocol into Google Drive (our emulator), next to the same
 * file sent straight to the emulator's resumable endpoint, and how much memory
 * the gateway needs meanwhile.
 *
 *   BENCH_SIZE_MIB        the big file (default 512)
 *   BENCH_SMALL_MIB       a smaller single upload, to show peak RSS does not grow with size (default 64)
 *   BENCH_CONCURRENT      concurrent uploads (default 20)
 *   BENCH_CONCURRENT_MIB  size of each of those (default 64)
 *   BENCH_RUNS            repetitions of the single-upload comparison (default 3)
 *   BENCH_ZERO_MASK=1     the client sends all-zero WebSocket masks (cheaper client, same gateway work but unmasking)
 *   BENCH_PROF=<dir>      writes a V8 CPU profile of the gateway there
 *
 * Three processes: the emulator, the built gateway (`backend/dist`), and this
 * client. Direct uploads use the same 4 MiB chunks, one after the other, as a
 * plain resumable client would; the gateway pipelines its client side.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ADMIN, chunkReader, describeCpu, fmt, fmtMiB, json, makeRandomFile, measureCpu, MiB, mibPerSecond, PeakRss, startEmulatorProcess, startGatewayProcess, uploadThroughGateway } from './processes';

const CHUNK = 4 * MiB;
const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 512) * MiB;
const SMALL = Number(process.env.BENCH_SMALL_MIB ?? 64) * MiB;
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 20);
const CONCURRENT_SIZE = Number(process.env.BENCH_CONCURRENT_MIB ?? 64) * MiB;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ZERO_MASK = process.env.BENCH_ZERO_MASK === '1';

/** The run with the median time. */
function median<T extends { ms: number }>(runs: T[]): T {
  return [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of fs.createReadStream(file, { highWaterMark: CHUNK })) hash.update(piece as Buffer);
  return hash.digest('hex');
}

async function accessToken(tokenUrl: string, account: { clientId: string; clientSecret: string; refreshToken: string }): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: account.refreshToken, client_id: account.clientId, client_secret: account.clientSecret });
  return ((await (await fetch(tokenUrl, { method: 'POST', body: form })).json()) as { access_token: string }).access_token;
}

/**
 * Deletes every file in the emulator's account between runs, so its memory
 * (tmpfs) or dirty page cache does not pile up and slow the later runs.
 */
async function emptyDrive(emulatorUrl: string, token: string): Promise<void> {
  const auth = { Authorization: `Bearer ${token}` };
  const list = (await (await fetch(`${emulatorUrl}/drive/v3/files?pageSize=1000&fields=files(id,mimeType)`, { headers: auth })).json()) as {
    files: Array<{ id: string; mimeType: string }>;
  };
  for (const f of list.files) {
    if (f.mimeType !== 'application/vnd.google-apps.folder') await fetch(`${emulatorUrl}/drive/v3/files/${f.id}`, { method: 'DELETE', headers: auth });
  }
}

/** The resumable protocol straight against the emulator, 4 MiB PUTs in sequence over one keep-alive connection. */
async function directUpload(emulatorUrl: string, tokenUrl: string, account: { clientId: string; clientSecret: string; refreshToken: string }, file: string, size: number): Promise<number> {
  const token = await accessToken(tokenUrl, account);
  const started = performance.now();
  const session = await fetch(`${emulatorUrl}/upload/drive/v3/files?uploadType=resumable`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Upload-Content-Length': String(size) },
    body: JSON.stringify({ name: 'direct.bin', mimeType: 'application/octet-stream' }),
  });
  const location = new URL(session.headers.get('location')!);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const handle = await fsp.open(file, 'r');
  const read = chunkReader(handle);
  try {
    for (let offset = 0; offset < size; ) {
      const bytes = await read(offset, Math.min(CHUNK, size - offset));
      const status = await new Promise<{ code: number; range: string | undefined }>((resolve, reject) => {
        const req = http.request(
          location,
          { method: 'PUT', agent, headers: { 'Content-Length': bytes.length, 'Content-Range': `bytes ${offset}-${offset + bytes.length - 1}/${size}` } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ code: res.statusCode ?? 0, range: res.headers.range }));
          },
        );
        req.on('error', reject);
        req.end(bytes);
      });
      if (status.code === 308) offset = Number(/bytes=0-(\d+)/.exec(status.range ?? '')?.[1] ?? -1) + 1;
      else if (status.code === 200 || status.code === 201) offset = size;
      else throw new Error(`direct upload: HTTP ${status.code}`);
    }
  } finally {
    await handle.close();
    agent.destroy();
  }
  return performance.now() - started;
}

const gatewayUpload = (gatewayUrl: string, token: string, file: string, size: number) =>
  uploadThroughGateway(gatewayUrl, token, file, size, { zeroMask: ZERO_MASK });

async function main(): Promise<void> {
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'ddx-bench-upload-'));
  const stops: Array<() => Promise<void>> = [];
  try {
    console.log(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${fmt(os.totalmem() / 1024 ** 3, 0)} GiB RAM`);
    const big = path.join(work, 'big.bin');
    const small = path.join(work, 'small.bin');
    const each = path.join(work, 'each.bin');
    await makeRandomFile(big, SIZE);
    await makeRandomFile(small, SMALL);
    await makeRandomFile(each, CONCURRENT_SIZE);
    const bigSha = await sha256File(big);

    // Drive's disks are not ours: the emulator keeps its bytes in RAM (tmpfs) where there is one,
    // so disk writeback on this machine does not weigh on the figures.
    const emulatorDir = fs.existsSync('/dev/shm') ? await fsp.mkdtemp('/dev/shm/ddx-bench-emulator-') : path.join(work, 'emulator');
    stops.push(() => fsp.rm(emulatorDir, { recursive: true, force: true }));
    const emulator = await startEmulatorProcess(emulatorDir);
    stops.push(emulator.stop);
    const gateway = await startGatewayProcess(path.join(work, 'gateway'), emulator.env, process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []);
    stops.push(gateway.stop);
    const rss = new PeakRss(gateway.child.pid!);

    const admin = await json<{ access_token: string }>(`${gateway.url}/api/v1/auth/token`, 'POST', ADMIN);
    const added = await json(`${gateway.url}/api/v1/admin/accounts`, 'POST', { provider: 'gdrive', name: 'bench', ...emulator.account }, admin.body.access_token);
    if (added.status !== 201) throw new Error(`adding the Drive account failed: ${JSON.stringify(added.body)}`);
    const user = { email: 'bench@example.com', password: 'bench user password' };
    await json(`${gateway.url}/api/v1/auth/register`, 'POST', user);
    const token = (await json<{ access_token: string }>(`${gateway.url}/api/v1/auth/token`, 'POST', user)).body.access_token;

    // Warm both paths (JIT, connections, the app folder) with a small upload each.
    await gatewayUpload(gateway.url, token, each, 8 * MiB);
    await directUpload(emulator.url, emulator.env.GOOGLE_OAUTH_TOKEN_URL!, emulator.account, each, 8 * MiB);

    // Runs alternate direct and gateway so machine noise hits both alike; medians are reported.
    const pids = { emulator: emulator.child.pid!, gateway: gateway.child.pid! };
    const directRuns: Array<{ ms: number; cpu: Record<string, number> }> = [];
    const gatewayRuns: Array<{ ms: number; cpu: Record<string, number> }> = [];
    let peakBig = 0;
    const tokenUrl = emulator.env.GOOGLE_OAUTH_TOKEN_URL!;
    const clear = async () => emptyDrive(emulator.url, await accessToken(tokenUrl, emulator.account));
    for (let run = 0; run < RUNS; run++) {
      await clear();
      const direct = await measureCpu(pids, () => directUpload(emulator.url, emulator.env.GOOGLE_OAUTH_TOKEN_URL!, emulator.account, big, SIZE));
      directRuns.push({ ms: direct.result, cpu: direct.cpu });
      await clear();
      rss.start();
      const via = await measureCpu(pids, () => gatewayUpload(gateway.url, token, big, SIZE));
      peakBig = Math.max(peakBig, rss.stop());
      if (via.result.sha256 !== bigSha) throw new Error('the gateway reported a different SHA-256 than the file has');
      gatewayRuns.push({ ms: via.result.ms, cpu: via.cpu });
    }
    const directRun = median(directRuns);
    const gatewayRun = median(gatewayRuns);

    await clear();
    rss.start();
    await gatewayUpload(gateway.url, token, small, SMALL);
    const peakSmall = rss.stop();

    await clear();
    rss.start();
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENT }, () => gatewayUpload(gateway.url, token, each, CONCURRENT_SIZE)));
    const concurrentMs = performance.now() - started;
    const peakConcurrent = rss.stop();

    const direct = mibPerSecond(SIZE, directRun.ms);
    const gw = mibPerSecond(SIZE, gatewayRun.ms);
    const all = (runs: Array<{ ms: number }>) => runs.map((r) => fmt(mibPerSecond(SIZE, r.ms))).join(', ');
    console.log('');
    console.log(`single ${fmtMiB(SIZE)} upload, 4 MiB chunks, median of ${RUNS} runs`);
    console.log(`  direct to emulator      ${fmt(direct)} MiB/s  (${fmt(directRun.ms / 1000, 2)} s; runs: ${all(directRuns)})`);
    console.log(`  through the gateway     ${fmt(gw)} MiB/s  (${fmt(gatewayRun.ms / 1000, 2)} s; runs: ${all(gatewayRuns)})`);
    console.log(`  ratio gateway / direct  ${fmt(gw / direct, 2)}  (target ≥ 0.85)`);
    console.log(`  CPU, direct             ${describeCpu({ client: directRun.cpu.client ?? 0, emulator: directRun.cpu.emulator ?? 0 })}`);
    console.log(`  CPU, through gateway    ${describeCpu(gatewayRun.cpu)}`);
    console.log(`  gateway peak RSS        ${fmtMiB(peakBig)} for ${fmtMiB(SIZE)}, ${fmtMiB(peakSmall)} for ${fmtMiB(SMALL)}`);
    console.log(`${CONCURRENT} concurrent ${fmtMiB(CONCURRENT_SIZE)} uploads through the gateway`);
    console.log(`  aggregate               ${fmt(mibPerSecond(CONCURRENT * CONCURRENT_SIZE, concurrentMs))} MiB/s  (${fmt(concurrentMs / 1000, 2)} s)`);
    console.log(`  gateway peak RSS        ${fmtMiB(peakConcurrent)}`);
  } finally {
    for (const stop of stops.reverse()) await stop();
    await fsp.rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
