// Liveness and readiness for load balancers and orchestrators.
import type { IncomingMessage, ServerResponse } from 'node:http';

import type Router from '@koa/router';

import type { Metrics } from '../observability/metrics.ts';

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export function addHealthRoutes(router: Router, checks: readonly ReadinessCheck[], timeoutMs = 2000): Router {

  /** Alive: the process serves HTTP. */
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });

  /** Ready: every dependency answers within the timeout. */
  router.get('/readyz', async (ctx) => {
    const results = await Promise.all(checks.map(async ({ name, check }) => {
      try {
        await withTimeout(check(), timeoutMs);
        return [name, 'ok'] as const;
      } catch {
        return [name, 'failing'] as const;
      }
    }));
    const ready = results.every(([, state]) => state === 'ok');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) };
  });

  return router;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Prometheus exposition of Baton's metrics (src/observability/metrics.ts). */
export function addMetricsRoute(router: Router, metrics: Metrics): Router {
  router.get('/metrics', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}

/** The listener of the separate metrics port (`metrics.port`): `/metrics`, nothing else. */
export function metricsListener(metrics: Metrics): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  };
}
