import http from 'node:http';
import https from 'node:https';

/** Replies to session requests are small JSON or text; anything longer is cut off here. */
const MAX_REPLY_BYTES = 1024 * 1024;

/**
 * Session-URI requests (chunk PUTs, status queries, cancels) over Node's own
 * http(s) with keep-alive. The session URI is the credential (no token), so
 * the googleapis transport adds nothing here, and skipping fetch saves two
 * copies of every 4 MiB chunk (undici clones a Buffer body before sending) —
 * the largest CPU cost of an upload through the gateway.
 */
export class SessionHttp {
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
  };

  constructor(private readonly timeoutMs: number) {}

  request(uri: string, method: 'PUT' | 'DELETE', headers: Record<string, string>, body?: Buffer): Promise<{ status: number; headers: Headers; data: string }> {
    const url = new URL(uri);
    const transport = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? this.agents['https:'] : this.agents['http:'];
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        { method, agent, headers: { ...headers, 'Content-Length': String(body?.length ?? 0) } },
        (res) => {
          const parts: Buffer[] = [];
          let length = 0;
          res.on('data', (part: Buffer) => {
            if (length < MAX_REPLY_BYTES) parts.push(part);
            length += part.length;
          });
          res.on('end', () => {
            const replyHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (value !== undefined) replyHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
            }
            resolve({ status: res.statusCode ?? 0, headers: replyHeaders, data: Buffer.concat(parts).toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      // No progress for this long (sending or waiting) counts as a broken connection.
      req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error(`No progress for ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * A streaming GET (Drive media), resolved once the headers are in. Error
   * replies are read (they are small) and rejected shaped like a gaxios error,
   * so map-error.ts classifies them like any other Google reply. Only the wait
   * for the headers is timed: after that the reader sets the pace.
   */
  getStream(uri: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; stream: http.IncomingMessage }> {
    const url = new URL(uri);
    const transport = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? this.agents['https:'] : this.agents['http:'];
    return new Promise((resolve, reject) => {
      const req = transport.get(url, { agent, headers }, (res) => {
        req.setTimeout(0);
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve({ status, headers: res.headers, stream: res });
          return;
        }
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.length < 64 && parts.push(part));
        res.on('end', () => reject(new ReplyError(status, res.headers, Buffer.concat(parts).toString('utf8'))));
        res.on('error', reject);
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error(`No reply for ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
    });
  }

  close(): void {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }
}

/** A non-2xx reply, shaped like a gaxios error (`response.status/headers/data`) for map-error.ts. */
export class ReplyError extends Error {
  readonly response: { status: number; headers: Record<string, unknown>; data: string };
  constructor(status: number, headers: http.IncomingHttpHeaders, data: string) {
    super(`Google answered ${status}`);
    this.name = 'ReplyError';
    this.response = { status, headers: { ...headers }, data };
  }
}
