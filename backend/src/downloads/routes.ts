import { type Request, type RequestHandler, Router } from 'express';
import { z } from 'zod';
import { type Authenticator, requireAuth } from '../auth/passport';
import { UnauthorizedError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { Metrics } from '../core/metrics';
import type { FileService } from '../files/service';
import { viewerOf } from '../files/routes';
import { toFileView } from '../files/view';
import { parse } from '../http/validate';
import type { UsersRepo } from '../store/types';
import { previewable } from './headers';
import type { DownloadService } from './service';
import type { UrlSigner } from './signed-urls';
import { sendZip } from './zip';

/** Download tickets live this long: enough to start a download or a video, too short to be worth sharing. */
export const TICKET_TTL_MS = 5 * 60 * 1000;
const TICKET_PURPOSE = 'download';

const ticketBody = z.strictObject({
  fileId: z.string({ error: 'fileId is required' }),
  disposition: z.enum(['attachment', 'inline'], { error: 'disposition must be attachment or inline' }).optional(),
});

export const zipBody = z.strictObject({
  fileIds: z
    .array(z.string(), { error: 'fileIds must be a list of file ids' })
    .min(1, 'fileIds must name at least one file')
    .max(1000, 'fileIds may name at most 1000 files'),
});

export interface DownloadRouteDeps {
  files: FileService;
  downloads: DownloadService;
  signer: UrlSigner;
  users: UsersRepo;
  passport: Authenticator;
  logger: Logger;
  metrics: Metrics;
}

/**
 * `/api/v1/download/…` (ARCHITECTURE.md, "Files and downloads"): file
 * metadata, the attachment stream, the preview stream, download tickets and
 * ZIPs. Only the owner or an admin gets anything; everyone else gets 404.
 */
export function downloadRoutes(deps: DownloadRouteDeps): Router {
  const router = Router();
  const authenticated = requireAuth(deps.passport);
  const access = ticketOrBearer(authenticated, deps);

  router.get('/files/:fileId/meta', authenticated, async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(toFileView(await deps.files.visible(viewerOf(req), String(req.params.fileId))));
  });

  router.get('/stream/:fileId', access, async (req, res) => {
    const file = await deps.files.servable(viewerOf(req), String(req.params.fileId));
    await deps.downloads.send(req, res, file, { kind: 'stream', disposition: 'attachment', contentType: file.mimeType });
  });

  // On every answer of the preview, errors included: the browser must never sniff a type or run a script here.
  const previewHeaders: RequestHandler = (_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', 'sandbox');
    next();
  };
  router.get('/preview/stream/:fileId', previewHeaders, access, async (req, res) => {
    const file = await deps.files.servable(viewerOf(req), String(req.params.fileId));
    const inline = previewable(file.mimeType);
    await deps.downloads.send(req, res, file, {
      kind: 'preview',
      disposition: inline ? 'inline' : 'attachment',
      // What it will not render is sent as opaque bytes: nothing for a browser to interpret.
      contentType: inline ? file.mimeType : 'application/octet-stream',
    });
  });

  router.post('/tickets', authenticated, async (req, res) => {
    const body = parse(ticketBody, req.body);
    const viewer = viewerOf(req);
    const file = await deps.files.servable(viewer, body.fileId);
    const signed = deps.signer.sign(TICKET_PURPOSE, ticketSubject(file.id, viewer.id), TICKET_TTL_MS);
    const route = body.disposition === 'inline' ? 'preview/stream' : 'stream';
    res.setHeader('Cache-Control', 'no-store');
    res.json({ url: `/api/v1/download/${route}/${file.id}?ticket=${viewer.id}.${signed.value}`, expiresAt: signed.expiresAt.toISOString() });
  });

  router.post('/zip', authenticated, async (req, res) => {
    const { fileIds } = parse(zipBody, req.body);
    const viewer = viewerOf(req);
    // Every file is checked before the first byte goes out: a bad id is a clean 404, not a broken ZIP.
    const files = [];
    for (const id of new Set(fileIds)) files.push(await deps.files.servable(viewer, id));
    sendZip(res, files, deps);
  });

  return router;
}

const ticketSubject = (fileId: string, userId: string) => `${fileId}:${userId}`;

/**
 * A `?ticket=` from POST /tickets (for `<a href>` and `<video src>`, which
 * cannot send a Bearer header), else the Bearer token. A ticket acts for the
 * user it was issued to, who must still exist and be enabled; the route then
 * applies the usual owner-or-admin check.
 */
function ticketOrBearer(authenticated: RequestHandler, deps: Pick<DownloadRouteDeps, 'signer' | 'users'>): RequestHandler {
  return (req, res, next) => {
    const ticket = req.query.ticket;
    if (ticket === undefined) {
      authenticated(req, res, next);
      return;
    }
    checkTicket(req, typeof ticket === 'string' ? ticket : '', deps).then(() => next(), next);
  };
}

async function checkTicket(req: Request, ticket: string, deps: Pick<DownloadRouteDeps, 'signer' | 'users'>): Promise<void> {
  const invalid = () => new UnauthorizedError('invalid_ticket', 'The download ticket is invalid or expired');
  const dot = ticket.indexOf('.');
  const userId = ticket.slice(0, Math.max(0, dot));
  const value = ticket.slice(dot + 1);
  if (dot <= 0 || !deps.signer.verify(TICKET_PURPOSE, ticketSubject(String(req.params.fileId), userId), value)) throw invalid();
  const user = await deps.users.findById(userId);
  if (!user || user.disabled) throw invalid();
  req.user = { id: user.id, email: user.email, role: user.role };
}
