// Request id and access log. The id is echoed in `X-Request-Id`, printed on error pages and logged
// with every server error, so one id ties a user report to its log lines.
import { randomUUID } from 'node:crypto';

import type { Context, Next } from 'koa';

import type { Logger } from './logger.ts';

const INBOUND_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestLog(logger: Logger) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const inbound = ctx.get('x-request-id');
    const requestId = INBOUND_ID.test(inbound) ? inbound : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = (ctx as { oidc?: { route?: string } }).oidc?.route;
      logger.info({
        reqId: requestId,
        method: ctx.method,
        path: ctx.path,
        route,
        status: ctx.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        ip: ctx.ip,
      }, 'request');
    }
  };
}
