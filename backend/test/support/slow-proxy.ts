import net from 'node:net';

/**
 * A TCP relay on a loopback port that can slow down what clients send (the
 * request bodies) to a set number of bytes per second, like a slow uplink to a
 * remote WebDAV server. Replies pass at full speed. Tests put it in front of
 * the WebDAV server to catch a backup in the middle of its PUT.
 */
export interface SlowProxy {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  /** Bytes clients have sent through the proxy so far. */
  readonly uploaded: number;
  /** Null: full speed (paused connections resume at once). */
  setRate(bytesPerSecond: number | null): void;
  close(): Promise<void>;
}

/**
 * `port`: listen there (0: any free port) — e.g. the port of a proxy closed a
 * moment ago, to bring a "server" back where clients expect it.
 */
export async function startSlowProxy(
  target: { host: string; port: number },
  options: { bytesPerSecond?: number | null; port?: number } = {},
): Promise<SlowProxy> {
  let rate = options.bytesPerSecond ?? null;
  let uploaded = 0;
  const sockets = new Set<net.Socket>();
  const resumers = new Set<() => void>();
  const rateChanged = new Set<() => void>();

  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const forget = () => {
      rateChanged.delete(reset);
      clearTimeout(timer);
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', forget);
    upstream.once('close', forget);
    client.on('error', forget);
    upstream.on('error', forget);
    upstream.pipe(client);

    // Token bucket per connection: after `sent` bytes, the connection may not be ahead of `sent / rate`.
    let sent = 0;
    let since = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const resume = () => {
      clearTimeout(timer);
      resumers.delete(resume);
      client.resume();
    };
    client.on('data', (chunk: Buffer) => {
      uploaded += chunk.length;
      upstream.write(chunk);
      if (rate === null) return;
      sent += chunk.length;
      const ahead = (sent / rate) * 1000 - (Date.now() - since);
      if (ahead > 0) {
        client.pause();
        resumers.add(resume);
        timer = setTimeout(resume, ahead);
      }
    });
    client.on('end', () => upstream.end());
    // A new rate starts a fresh budget.
    function reset() {
      sent = 0;
      since = Date.now();
    }
    rateChanged.add(reset);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    get uploaded() {
      return uploaded;
    },
    setRate(bytesPerSecond) {
      rate = bytesPerSecond;
      for (const reset of rateChanged) reset();
      for (const resume of [...resumers]) resume();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
