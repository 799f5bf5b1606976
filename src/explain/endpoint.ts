// GET {issuer}/explain/{requestId}: a decision trace as JSON, for an authenticated confidential
// client (HTTP Basic). A client reads the traces of its own requests; `explain.readers` read any.
// Another client's trace, an unknown, expired or malformed id all answer the same 404, so the
// endpoint tells nobody which request ids exist. Storage down: 503.
import type Router from '@koa/router';
import type { Context } from 'koa';

import type { Logger } from '../observability/logger.ts';
import type { BasicClientAuth } from './client-auth.ts';
import type { TraceStore } from './store.ts';

export const EXPLAIN_PREFIX = '/explain/';

export interface ExplainRouteDeps {
  readonly traces: TraceStore;
  readonly auth: BasicClientAuth;
  readonly readers: readonly string[];
  readonly logger: Logger;
}

function answer(ctx: Context, status: number, body: unknown, headers: Record<string, string> = {}): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
  ctx.body = body;
}

export function addExplainRoute(routes: Router, { traces, auth, readers, logger }: ExplainRouteDeps): void {
  const anyTrace = new Set(readers);
  routes.get(`${EXPLAIN_PREFIX}:requestId`, async (ctx) => {
    const clientId = await auth.authenticate(ctx);
    if (!clientId) {
      answer(ctx, 401, { error: 'invalid_client', error_description: 'client authentication failed (HTTP Basic with a confidential client\'s credentials)' }, { 'WWW-Authenticate': 'Basic realm="explain"' });
      return;
    }
    let trace;
    try {
      trace = await traces.get(String(ctx.params.requestId));
    } catch (err) {
      logger.error({ event: 'explain.read_failed', reqId: ctx.state.requestId, err }, 'reading a decision trace failed');
      answer(ctx, 503, { error: 'temporarily_unavailable', error_description: 'traces cannot be read right now; try again later' }, { 'Retry-After': '5' });
      return;
    }
    if (!trace || (!anyTrace.has(clientId) && trace.request.clientId !== clientId)) {
      answer(ctx, 404, { error: 'not_found', error_description: 'no trace of this request for this client (unknown, expired, not sampled, or another client\'s)' });
      return;
    }
    answer(ctx, 200, trace);
  });
  routes.all(`${EXPLAIN_PREFIX}:requestId`, (ctx) => {
    answer(ctx, 405, { error: 'invalid_request', error_description: 'only GET is allowed here' }, { Allow: 'GET' });
  });
}
