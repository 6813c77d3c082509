// The Drive module alone: the googleapis index loads every Google API (~1.5 s at startup).
import { auth as googleAuth } from 'googleapis/build/src/apis/drive';
import jwt from 'jsonwebtoken';
import type { Clock } from '../core/clock';
import { BadRequestError, NotFoundError } from '../core/errors';
import { newSecret } from '../core/ids';
import type { AccountsService, AccountView, Actor } from './accounts-service';
/** Least privilege: the gateway only ever sees files it created itself. */
export const DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive.file';
const STATE_AUDIENCE = 'directdrivex-google-connect';
const STATE_TTL_SECONDS = 10 * 60;

export interface GoogleConnectConfig {
  clientId: string;
  clientSecret: string;
  tokenUrl: string;
  authUrl: string;
  /** `${PUBLIC_URL}/api/v1/admin/accounts/google/callback`, registered with the OAuth client. */
  redirectUri: string;
}

/**
 * Connecting a Google account to the pool with the OAuth consent flow (the
 * alternative to pasting a refresh token). The admin's browser goes to Google
 * and comes back to our callback without an Authorization header, so the
 * `state` carries who asked and for which name, signed with JWT_SECRET and
 * expiring in ten minutes; each state is redeemed once.
 */
export class GoogleConnect {
  private readonly redeemed = new Map<string, number>();

  constructor(
    private readonly deps: { config: GoogleConnectConfig | undefined; jwtSecret: string; accounts: AccountsService; clock: Clock },
  ) {}

  get enabled(): boolean {
    return this.deps.config !== undefined;
  }

  /** Where to send the admin's browser. */
  start(name: string, actor: Actor): { authorizationUrl: string } {
    const config = this.requireConfig();
    const state = jwt.sign({ name, nonce: newSecret(12) }, this.deps.jwtSecret, {
      algorithm: 'HS256',
      audience: STATE_AUDIENCE,
      subject: actor.id ?? 'unknown',
      expiresIn: STATE_TTL_SECONDS,
    });
    const authorizationUrl = this.client(config).generateAuthUrl({
      access_type: 'offline',
      // Without consent Google sends no refresh token when the account was connected before.
      prompt: 'consent',
      scope: [DRIVE_SCOPE],
      state,
      include_granted_scopes: false,
    });
    return { authorizationUrl };
  }

  /** Redeems Google's code and adds the account; throws a clear error for every way it can fail. */
  async finish(query: { code?: string; state?: string; error?: string }, ip: string | null): Promise<AccountView> {
    const config = this.requireConfig();
    if (query.error) throw new BadRequestError('google_consent_denied', `Google did not grant access (${query.error})`);
    if (!query.code || !query.state) throw new BadRequestError('invalid_callback', 'The callback is missing its code or state');
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(query.state, this.deps.jwtSecret, { algorithms: ['HS256'], audience: STATE_AUDIENCE }) as jwt.JwtPayload;
    } catch {
      throw new BadRequestError('invalid_state', 'This connect link expired or was tampered with; start again');
    }
    const nonce = String(claims.nonce);
    this.sweep();
    if (this.redeemed.has(nonce)) throw new BadRequestError('invalid_state', 'This connect link was already used; start again');
    this.redeemed.set(nonce, (claims.exp ?? 0) * 1000);

    let refreshToken: string | null | undefined;
    try {
      ({ tokens: { refresh_token: refreshToken } } = await this.client(config).getToken(query.code));
    } catch (err) {
      throw new BadRequestError('google_exchange_failed', `Google refused the authorization code: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!refreshToken) throw new BadRequestError('no_refresh_token', 'Google returned no refresh token; remove the app from the Google account’s permissions and connect again');
    return this.deps.accounts.add(
      { provider: 'gdrive', name: String(claims.name), clientId: config.clientId, clientSecret: config.clientSecret, refreshToken },
      { id: typeof claims.sub === 'string' && claims.sub !== 'unknown' ? claims.sub : null, ip },
    );
  }

  private client(config: GoogleConnectConfig) {
    return new googleAuth.OAuth2({
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      redirectUri: config.redirectUri,
      endpoints: { oauth2TokenUrl: config.tokenUrl, oauth2AuthBaseUrl: config.authUrl },
    });
  }

  private requireConfig(): GoogleConnectConfig {
    if (!this.deps.config) throw new NotFoundError('Connecting Google accounts needs GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET', 'google_connect_disabled');
    return this.deps.config;
  }

  private sweep(): void {
    const now = this.deps.clock.now().getTime();
    for (const [nonce, expires] of this.redeemed) if (expires < now) this.redeemed.delete(nonce);
  }
}
