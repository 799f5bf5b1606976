// Request id and access log. The id is echoed in `X-Request-Id`, printed on error pages and logged
// with every server error, so one id ties a user report to its log lines. The path is logged
// without its query string, which can carry codes and tokens.
import { randomUUID } from 'node:crypto';

import type { Context } from 'koa';
import providerContext from 'oidc-provider/lib/helpers/als.js';

import type { Logger } from './logger.ts';

const INBOUND_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * A new request id: a UUIDv7 (RFC 9562), the time in its first 48 bits, so ids sort by time and
 * the records keyed by them (decision traces) are appended to the store's index instead of
 * scattered over it. Built from a v4 UUID (its variant and 74 random bits kept, the first 48 bits
 * replaced by the time in milliseconds, the version set to 7): Node 20 has no v7 generator, and
 * the uuid package's takes ~50 times as long.
 */
export function newRequestId(now = Date.now()): string {
  const random = randomUUID();
  const time = now.toString(16).padStart(12, '0').slice(-12);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`;
}

/** The request id a client or proxy sent in `X-Request-Id`, if well-formed; else a new one. */
export function requestIdFrom(inbound: unknown): string {
  return typeof inbound === 'string' && INBOUND_ID.test(inbound) ? inbound : newRequestId();
}

/**
 * The id of the request being handled, for a line written deep inside it (an authorizer's
 * decision): read from the request context in oidc-provider's store, which the provider's routes
 * and the lean token path enter (`state.requestId`); undefined outside a request.
 */
export function currentRequestId(): string | undefined {
  const id = (providerContext.getStore() as { state?: { requestId?: unknown } } | undefined)?.state?.requestId;
  return typeof id === 'string' ? id : undefined;
}

/** Assigns the request id; returns the start time for `endRequest`. */
export function beginRequest(ctx: Context): number {
  const requestId = requestIdFrom(ctx.get('x-request-id'));
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
