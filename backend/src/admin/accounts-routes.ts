import { type Request, Router } from 'express';
import { z } from 'zod';
import { type Authenticator, requireAuth, requireRole } from '../auth/passport';
import { AppError } from '../core/errors';
import type { Logger } from '../core/logger';
import { parse } from '../http/validate';
import { addAccountBody, type AccountsService, type Actor, patchAccountBody } from '../pool/accounts-service';
import type { GoogleConnect } from '../pool/google-connect';

const ACCOUNT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const connectBody = z.strictObject({ name: z.string().trim().min(1, 'name is required').max(100) });
const removeQuery = z.object({ force: z.enum(['true', 'false', '1', '0']).optional() });

const actorOf = (req: Request): Actor => ({ id: req.user?.id ?? null, ip: req.ip ?? null });

function accountId(req: Request): string {
  const id = String(req.params.id);
  // Not a valid id can be no account: same answer as an unknown one.
  return ACCOUNT_ID.test(id) ? id : '00000000-0000-0000-0000-000000000000';
}

/** `/api/v1/admin/accounts` (ARCHITECTURE.md, "Admin"). Every route needs the admin role, but the OAuth callback (see GoogleConnect). */
export function accountRoutes(deps: { accounts: AccountsService; google: GoogleConnect; passport: Authenticator; logger: Logger }): Router {
  const { accounts, google } = deps;
  const router = Router();

  // Google redirects the admin's browser here: no bearer token, the signed state authenticates it.
  router.get('/google/callback', async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const pick = (key: string) => (typeof query[key] === 'string' ? (query[key] as string) : undefined);
    try {
      const account = await google.finish({ code: pick('code'), state: pick('state'), error: pick('error') }, req.ip ?? null);
      res.redirect(302, `/admin/accounts?connected=${encodeURIComponent(account.id)}`);
    } catch (err) {
      // Only a code goes into the link: a message there would let anyone put words on the admin page.
      const code = err instanceof AppError ? err.code : 'connect_failed';
      deps.logger.warn({ err }, 'connecting a Google account failed');
      res.redirect(302, `/admin/accounts?${new URLSearchParams({ error: code }).toString()}`);
    }
  });

  router.use(requireAuth(deps.passport), requireRole('admin'));

  router.get('/', async (_req, res) => {
    res.json(await accounts.list());
  });

  router.post('/', async (req, res) => {
    const body = parse(addAccountBody, req.body);
    res.status(201).json(await accounts.add(body, actorOf(req)));
  });

  router.post('/google/connect', (req, res) => {
    const body = parse(connectBody, req.body);
    res.json(google.start(body.name, actorOf(req)));
  });

  router.get('/:id', async (req, res) => {
    res.json(await accounts.get(accountId(req)));
  });

  router.patch('/:id', async (req, res) => {
    const body = parse(patchAccountBody, req.body);
    res.json(await accounts.update(accountId(req), body, actorOf(req)));
  });

  router.delete('/:id', async (req, res) => {
    const { force } = parse(removeQuery, req.query);
    await accounts.remove(accountId(req), force === 'true' || force === '1', actorOf(req));
    res.status(204).end();
  });

  router.post('/:id/check', async (req, res) => {
    res.json(await accounts.check(accountId(req), actorOf(req)));
  });

  return router;
}
