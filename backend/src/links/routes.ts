import { type Request, type RequestHandler, Router } from 'express';
import { z } from 'zod';
import { type Authenticator, requireAuth } from '../auth/passport';
import type { DownloadService } from '../downloads/service';
import { viewerOf } from '../files/routes';
import { parse } from '../http/validate';
import type { LinkCredentials, LinkService } from './service';

/** A share link lives at least a minute and at most a year. */
export const MAX_LINK_SECONDS = 365 * 24 * 3600;

export const createLinkBody = z.strictObject({
  expiresInSeconds: z
    .number({ error: (issue) => (issue.input === undefined ? 'expiresInSeconds is required (a number of seconds)' : 'expiresInSeconds must be a number of seconds, such as 3600') })
    .int('expiresInSeconds must be a whole number')
    .min(60, 'expiresInSeconds must be at least 60')
    .max(MAX_LINK_SECONDS, `expiresInSeconds must be at most ${MAX_LINK_SECONDS} (a year)`),
  password: z.string().min(1, 'password must not be empty').max(256, 'password is too long').optional(),
});

const unlockBody = z.strictObject({ password: z.string({ error: 'password is required' }).max(256, 'password is too long') });

/** `/api/v1/files/<id>/links…`: the owner's side of share links. */
export function fileLinkRoutes(deps: { links: LinkService; passport: Authenticator }): Router {
  const router = Router();
  const authenticated = requireAuth(deps.passport);

  router.post('/:fileId/links', authenticated, async (req, res) => {
    const body = parse(createLinkBody, req.body);
    const created = await deps.links.create(viewerOf(req), String(req.params.fileId), body, req.ip ?? null);
    res.setHeader('Cache-Control', 'no-store');
    res.status(201).json(created);
  });

  router.get('/:fileId/links', authenticated, async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await deps.links.list(viewerOf(req), String(req.params.fileId)));
  });

  router.delete('/:fileId/links/:linkId', authenticated, async (req, res) => {
    await deps.links.revoke(viewerOf(req), String(req.params.fileId), String(req.params.linkId), req.ip ?? null);
    res.status(204).end();
  });

  return router;
}

/** `/api/v1/links/<token>…`: what anyone holding a link can do, no account needed. */
export function publicLinkRoutes(deps: { links: LinkService; downloads: DownloadService }): Router {
  const router = Router();

  router.get('/:token', async (req, res) => {
    const { link, file } = await deps.links.resolve(String(req.params.token));
    res.setHeader('Cache-Control', 'no-store');
    res.json(deps.links.publicView(link, file));
  });

  router.post('/:token/unlock', async (req, res) => {
    const { password } = parse(unlockBody, req.body);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await deps.links.unlock(String(req.params.token), password));
  });

  // Shared files are somebody else's content: never sniffed, never run as a page of ours.
  const hardened: RequestHandler = (_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', 'sandbox');
    next();
  };
  router.get('/:token/download', hardened, async (req, res) => {
    const { link, file } = await deps.links.resolve(String(req.params.token));
    await deps.links.authorize(link, credentialsOf(req));
    await deps.downloads.send(req, res, file, { kind: 'link', disposition: 'attachment', contentType: file.mimeType });
  });

  return router;
}

function credentialsOf(req: Request): LinkCredentials {
  const header = req.headers['x-link-password'];
  const key = req.query.key;
  return {
    ...(typeof header === 'string' ? { password: fromHeaderBytes(header) } : {}),
    ...(typeof key === 'string' ? { key } : {}),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Node reads header values as Latin-1; a client (curl, a script) that sends a
 * non-ASCII password sends its UTF-8 bytes. Those bytes are decoded as UTF-8
 * when they are valid UTF-8, so the same password works here and in /unlock.
 */
function fromHeaderBytes(value: string): string {
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}
