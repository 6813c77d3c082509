import { Router } from 'express';
import type { JobQueue } from '../backup/queue/types';
import type { MetadataStore } from '../store/types';

/**
 * /healthz: the process is up (liveness). /readyz: it can serve — the store
 * and the job queue answer and we are not shutting down (readiness).
 */
export function healthRoutes(deps: { store: MetadataStore; queue: Pick<JobQueue, 'ping'>; isShuttingDown: () => boolean }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (deps.isShuttingDown()) {
      res.status(503).json({ status: 'shutting_down', checks: {} });
      return;
    }
    const checks: Record<string, 'ok' | 'fail'> = {};
    try {
      await deps.store.ping();
      checks.store = 'ok';
    } catch {
      checks.store = 'fail';
    }
    try {
      await deps.queue.ping();
      checks.queue = 'ok';
    } catch {
      checks.queue = 'fail';
    }
    const ok = Object.values(checks).every((c) => c === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks });
  });
  return router;
}
