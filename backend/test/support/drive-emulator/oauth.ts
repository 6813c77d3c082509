import type { ServerResponse } from 'node:http';
import type { RequestContext } from './context';
import { parseFields, sendJson, sendText } from './http';

/** OAuth errors are flat: `{"error":"invalid_grant","error_description":"…"}`. */
function oauthError(res: ServerResponse, status: number, error: string, description: string): void {
  sendJson(res, status, { error, error_description: description });
}

function clientCredentials(ctx: RequestContext, fields: Record<string, string>): { clientId?: string; clientSecret?: string } {
  // Google accepts client credentials in the body or as HTTP Basic auth.
  const basic = /^Basic\s+(\S+)$/i.exec(ctx.req.headers.authorization ?? '');
  if (basic?.[1]) {
    const [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
    return { clientId: id !== undefined ? decodeURIComponent(id) : undefined, clientSecret: secret !== undefined ? decodeURIComponent(secret) : undefined };
  }
  return { clientId: fields.client_id, clientSecret: fields.client_secret };
}

/** The account a token request is for, known before it is answered (fault matching). */
export function accountOfTokenRequest(ctx: Pick<RequestContext, 'req' | 'state'>, body: Buffer): string | undefined {
  try {
    const fields = parseFields(body, ctx.req.headers['content-type']);
    if (fields.grant_type === 'refresh_token' && fields.refresh_token) return ctx.state.refreshGrant(fields.refresh_token)?.accountId;
  } catch {
    // an unparseable body is refused by the handler
  }
  return undefined;
}

/** `POST /token`: refresh_token and authorization_code grants. */
export function handleToken(ctx: RequestContext): void {
  const { res, state } = ctx;
  let fields: Record<string, string>;
  try {
    fields = parseFields(ctx.body ?? Buffer.alloc(0), ctx.req.headers['content-type']);
  } catch {
    oauthError(res, 400, 'invalid_request', 'Could not parse the request body.');
    return;
  }
  const grantType = fields.grant_type;
  if (!grantType) {
    oauthError(res, 400, 'invalid_request', 'Required parameter is missing: grant_type');
    return;
  }
  const { clientId, clientSecret } = clientCredentials(ctx, fields);
  const knownSecret = clientId !== undefined ? state.clients.get(clientId) : undefined;
  if (clientId === undefined || knownSecret === undefined) {
    oauthError(res, 401, 'invalid_client', 'The OAuth client was not found.');
    return;
  }
  if (clientSecret !== knownSecret) {
    oauthError(res, 401, 'invalid_client', 'Unauthorized');
    return;
  }

  if (grantType === 'refresh_token') {
    const refreshToken = fields.refresh_token;
    if (!refreshToken) {
      oauthError(res, 400, 'invalid_request', 'Required parameter is missing: refresh_token');
      return;
    }
    const grant = state.refreshGrant(refreshToken);
    if (!grant || grant.clientId !== clientId) {
      oauthError(res, 400, 'invalid_grant', 'Token has been expired or revoked.');
      return;
    }
    const { accessToken, expiresIn } = state.issueAccessToken(grant.accountId, grant.scope, refreshToken);
    sendJson(res, 200, { access_token: accessToken, expires_in: expiresIn, scope: grant.scope, token_type: 'Bearer' });
    return;
  }

  if (grantType === 'authorization_code') {
    const code = fields.code;
    if (!code) {
      oauthError(res, 400, 'invalid_request', 'Missing required parameter: code');
      return;
    }
    const grant = state.redeemAuthCode(code, clientId, fields.redirect_uri);
    if (!grant) {
      oauthError(res, 400, 'invalid_grant', 'Bad Request');
      return;
    }
    const body: Record<string, unknown> = { token_type: 'Bearer', scope: grant.scope };
    // Google hands out a refresh token only to offline access.
    const refreshToken = grant.offline ? state.issueRefreshToken(grant.accountId, clientId, grant.scope) : undefined;
    const { accessToken, expiresIn } = state.issueAccessToken(grant.accountId, grant.scope, refreshToken);
    body.access_token = accessToken;
    body.expires_in = expiresIn;
    if (refreshToken !== undefined) body.refresh_token = refreshToken;
    sendJson(res, 200, body);
    return;
  }

  oauthError(res, 400, 'unsupported_grant_type', `Invalid grant_type: ${grantType}`);
}

/** `POST /revoke?token=…` (or form `token`): revokes a refresh token, or an access token and its refresh token. */
export function handleRevoke(ctx: RequestContext): void {
  let fields: Record<string, string> = {};
  try {
    fields = parseFields(ctx.body ?? Buffer.alloc(0), ctx.req.headers['content-type']);
  } catch {
    // fall back to the query string
  }
  const presented = fields.token ?? ctx.url.searchParams.get('token') ?? '';
  const { state } = ctx;
  let revoked = state.revokeRefreshToken(presented);
  if (!revoked) {
    const owner = state.accessGrantRefreshToken(presented);
    revoked = state.revokeAccessToken(presented);
    if (owner !== undefined) state.revokeRefreshToken(owner);
  }
  if (!revoked) {
    oauthError(ctx.res, 400, 'invalid_token', 'Token expired or revoked');
    return;
  }
  sendJson(ctx.res, 200, {});
}

/**
 * `GET /o/oauth2/v2/auth`: the consent screen, answered at once as if the
 * user had signed in and agreed. The account is the one named by
 * `login_hint`, a queued preset, or a new one.
 */
export function handleAuthorize(ctx: RequestContext): void {
  const { url, res, state } = ctx;
  const q = url.searchParams;
  const clientId = q.get('client_id') ?? '';
  if (!state.clients.has(clientId)) {
    sendText(res, 401, 'Error 401: invalid_client\nThe OAuth client was not found.');
    return;
  }
  const redirectUri = q.get('redirect_uri') ?? '';
  let redirect: URL;
  try {
    redirect = new URL(redirectUri);
    if (redirect.protocol !== 'http:' && redirect.protocol !== 'https:') throw new Error('not http');
  } catch {
    sendText(res, 400, 'Error 400: redirect_uri_mismatch\nThe redirect_uri is missing or not an http(s) URL.');
    return;
  }
  const state_ = q.get('state');
  const back = (params: Record<string, string>) => {
    for (const [k, v] of Object.entries(params)) redirect.searchParams.set(k, v);
    if (state_ !== null) redirect.searchParams.set('state', state_);
    res.writeHead(302, { Location: redirect.toString(), 'Content-Length': '0' }).end();
  };
  if (q.get('response_type') !== 'code') {
    back({ error: 'unsupported_response_type' });
    return;
  }
  const scope = q.get('scope');
  if (!scope) {
    back({ error: 'invalid_request', error_description: 'Missing required parameter: scope' });
    return;
  }
  const consent = state.takeConsent(clientId, q.get('login_hint') ?? undefined);
  if (consent === 'denied') {
    back({ error: 'access_denied' });
    return;
  }
  const code = state.issueAuthCode({
    accountId: consent,
    clientId,
    redirectUri,
    scope,
    offline: q.get('access_type') === 'offline',
  });
  back({ code, scope });
}
