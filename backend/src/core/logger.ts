import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths that must never reach a log line. pino-http's request serializer only
 * keeps method/url/headers, and we strip secrets from those too; bodies are
 * never logged.
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.passwordHash',
  '*.refresh_token',
  '*.access_token',
  '*.refreshToken',
  '*.accessToken',
  '*.token',
  '*.secret',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'directdrivex' } }, destination);
}

/**
 * Query parameters that carry credentials (upload tokens, OAuth codes, download
 * tickets, link unlock keys) are masked in logged URLs, and so is the token in
 * a share link's path (`/api/v1/links/<token>…`, and the share page
 * `/s/<token>`): whoever reads the logs must not be able to download what was
 * shared.
 */
const SECRET_QUERY = /([?&](?:token|code|state|access_token|refresh_token|ticket|key)=)[^&#]*/gi;
const LINK_TOKEN = /(\/links\/)[^/?#]+/g;
const SHARE_PAGE_TOKEN = /^(\/s\/)[^/?#]+/;
export const redactUrl = (url: string): string =>
  url.replace(SECRET_QUERY, '$1[redacted]').replace(LINK_TOKEN, '$1[redacted]').replace(SHARE_PAGE_TOKEN, '$1[redacted]');
