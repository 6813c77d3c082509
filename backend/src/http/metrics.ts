import { Router } from 'express';
import { type Authenticator, requireAuth, requireRole } from '../auth/passport';
import type { Metrics } from '../core/metrics';

/**
 * `GET /metrics` in the Prometheus text format. An admin route like the rest
 * of the admin API (ARCHITECTURE.md): scrape it with an admin's bearer token.
 */
export function metricsRoutes(deps: { metrics: Metrics; passport: Authenticator }): Router {
  const router = Router();
  router.get('/metrics', requireAuth(deps.passport), requireRole('admin'), (_req, res) => {
    res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.send(deps.metrics.render());
  });
  return router;
}
