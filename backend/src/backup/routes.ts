import { type Request, Router } from 'express';
import { z } from 'zod';
import { type Authenticator, requireAuth, requireRole } from '../auth/passport';
import { parse, queryWholeNumber } from '../http/validate';
import type { Actor, BackupAdmin } from './service';

const FILE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STATES = ['disabled', 'pending', 'running', 'done', 'failed'] as const;
const listQuery = z.strictObject({
  status: z.enum(STATES, { error: `status must be one of ${STATES.join(', ')}` }).optional(),
  page: queryWholeNumber('page', 1, 1_000_000, 1),
  limit: queryWholeNumber('limit', 1, 200, 50),
});

const actorOf = (req: Request): Actor => ({ id: req.user?.id ?? null, ip: req.ip ?? null });

function fileId(req: Request): string {
  const id = String(req.params.id);
  // Not a valid id can be no file: same answer as an unknown one.
  return FILE_ID.test(id) ? id : '00000000-0000-0000-0000-000000000000';
}

/** `/api/v1/admin/backups` (ARCHITECTURE.md, "Admin"): every route needs the admin role. */
export function backupRoutes(deps: { backups: BackupAdmin; passport: Authenticator }): Router {
  const { backups } = deps;
  const router = Router();
  router.use(requireAuth(deps.passport), requireRole('admin'));

  router.get('/summary', async (_req, res) => {
    res.json(await backups.summary());
  });

  router.get('/', async (req, res) => {
    const query = parse(listQuery, req.query);
    res.json(await backups.list({ page: query.page, limit: query.limit, ...(query.status ? { state: query.status } : {}) }));
  });

  router.post('/run-missing', async (req, res) => {
    res.json(await backups.runMissing(actorOf(req)));
  });

  router.post('/:id/retry', async (req, res) => {
    res.json(await backups.retry(fileId(req), actorOf(req)));
  });

  return router;
}
