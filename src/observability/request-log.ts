// Request id and access log. The id is echoed in `X-Request-Id`, printed on error pages and logged
// with every server error, so one id ties a user report to its log lines. The path is logged
// without its query string, which can carry codes and tokens.
import { randomUUID } from 'node:crypto';

import type { Context } from 'koa';

import type { Logger } from './logger.ts';

const INBOUND_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Assigns the request id; returns the start time for `endRequest`. */
export function beginRequest(ctx: Context): number {
  const inbound = ctx.get('x-request-id');
  const requestId = INBOUND_ID.test(inbound) ? inbound : randomUUID();
  ctx.state.requestId = requestId;
  ctx.set('X-Request-Id', requestId);
  return performance.now();
}

export function endRequest(logger: Logger, ctx: Context, started: number): void {
  logger.info({
    reqId: ctx.state.requestId,
    method: ctx.method,
    path: ctx.path,
    route: (ctx as { oidc?: { route?: string } }).oidc?.route,
    status: ctx.status,
    ms: Math.round((performance.now() - started) * 10) / 10,
    ip: clientAddress(ctx),
  }, 'request');
}

/** `ctx.ip` throws once the socket is gone (a client that hung up): the line is still written. */
function clientAddress(ctx: Context): string | undefined {
  try {
    return ctx.ip;
  } catch {
    return undefined;
  }
}
