import { type Request, Router } from 'express';
import { z } from 'zod';
import { type Authenticator, requireAuth } from '../auth/passport';
import { parse, queryWholeNumber } from '../http/validate';
import type { FileSort } from '../store/types';
import type { FileService, Viewer } from './service';

const SORTS = ['createdAt', '-createdAt', 'name', '-name', 'size', '-size'] as const satisfies readonly FileSort[];

export const listQuery = z.strictObject({
  q: z.string().max(255, 'q is too long').optional(),
  page: queryWholeNumber('page', 1, 1_000_000, 1),
  limit: queryWholeNumber('limit', 1, 100, 20),
  sort: z.enum(SORTS, { error: `sort must be one of ${SORTS.join(', ')}` }).optional().transform((v) => v ?? '-createdAt'),
});

export const viewerOf = (req: Request): Viewer => ({ id: req.user!.id, role: req.user!.role });

/** `GET /api/v1/files` and `DELETE /api/v1/files/<id>` (ARCHITECTURE.md, "Files and downloads"). */
export function fileRoutes(deps: { files: FileService; passport: Authenticator }): Router {
  const router = Router();
  const authenticated = requireAuth(deps.passport);

  router.get('/', authenticated, async (req, res) => {
    const query = parse(listQuery, req.query);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await deps.files.list(viewerOf(req), { ...(query.q ? { q: query.q } : {}), page: query.page, limit: query.limit, sort: query.sort }));
  });

  router.delete('/:fileId', authenticated, async (req, res) => {
    await deps.files.delete(viewerOf(req), String(req.params.fileId), req.ip ?? null);
    res.status(204).end();
  });

  return router;
}
