import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGoogleUser {
  sub: string;
  email?: string;
  email_verified?: boolean;
}

/**
 * Google's OAuth token endpoint and OpenID userinfo endpoint, enough for
 * passport-google-oauth20: `POST /token` exchanges a code we issued, `GET
 * /oauth2/v3/userinfo` answers for the access token it gave out. Codes map to
 * the user set with `nextUser`.
 */
export async function startFakeGoogle() {
  const codes = new Map<string, FakeGoogleUser>();
  const tokens = new Map<string, FakeGoogleUser>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'POST' && url.pathname === '/token') {
        const form = new URLSearchParams(body);
        const user = codes.get(form.get('code') ?? '');
        if (!user || form.get('client_id') !== 'test-client' || form.get('client_secret') !== 'test-secret') {
          res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant' }));
          return;
        }
        const token = `at-${user.sub}-${tokens.size}`;
        tokens.set(token, user);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }));
        return;
      }
      if (req.method === 'GET' && url.pathname === '/oauth2/v3/userinfo') {
        // Like Google, accept the token as a Bearer header or as the access_token query parameter.
        const presented = (req.headers.authorization ?? '').replace(/^Bearer /, '') || (url.searchParams.get('access_token') ?? '');
        const user = tokens.get(presented);
        if (!user) {
          res.writeHead(401).end();
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ...user, name: 'Test User' }));
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    env: {
      GOOGLE_CLIENT_ID: 'test-client',
      GOOGLE_CLIENT_SECRET: 'test-secret',
      GOOGLE_OAUTH_TOKEN_URL: `${base}/token`,
      GOOGLE_API_ROOT_URL: `${base}/`,
      GOOGLE_OAUTH_AUTH_URL: `${base}/auth`,
    },
    /** Issues an authorization code that will resolve to this user. */
    codeFor(user: FakeGoogleUser): string {
      const code = `code-${codes.size}-${user.sub}`;
      codes.set(code, user);
      return code;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
