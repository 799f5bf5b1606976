// The single middleware in front of the provider: request id and access log, Baton's own routes
// (behind their error boundary) for the paths they own, and on the way out the RFC error-code
// correction and the framing/content policy of every HTML page (page-security.ts). One async layer instead of several keeps the token endpoint's hot path short.
import type Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';

import type { ExplainEdge } from '../explain/edge.ts';
import { traceOnContext, withTrace } from '../explain/trace-context.ts';
import { handedOverTrace } from './lean-handoff.ts';
import type { Logger } from '../observability/logger.ts';
import { beginRequest, endRequest } from '../observability/request-log.ts';
import { correctErrorCode, errorBoundary, unavailableWhileDown } from './errors.ts';
import { beginPageSecurity, endPageSecurity } from './page-security.ts';

export interface EdgeOptions {
  readonly accessLogger: Logger;
  readonly logger: Logger;
  readonly routes: Router;
  /** Path prefixes Baton's routes own; everything else goes straight to the provider. */
  readonly prefixes: readonly string[];
  /** Post-processing of the provider's responses, in order (e.g. the userinfo hook). */
  readonly after?: ReadonlyArray<(ctx: Context) => Promise<void>>;
  /** Whether storage is down: a server_error then becomes 503 temporarily_unavailable. */
  readonly storageDown?: () => Promise<boolean>;
  /** Decision traces (`explain.enabled`); absent: no recorder, nothing traced. */
  readonly explain?: ExplainEdge;
}

export function edge({ accessLogger, logger, routes, prefixes, after, storageDown, explain }: EdgeOptions): Middleware {
  const boundary = errorBoundary(logger);
  const dispatch = routes.routes();
  // Routers fold case (Baton's and the provider's alike), so ownership does too: a path is Baton's
  // whatever its spelling, never handed to the provider for one spelling and to Baton for another.
  const folded = prefixes.map((prefix) => prefix.toLowerCase());
  const owned = (path: string) => {
    const lower = path.toLowerCase();
    return folded.some((prefix) => lower.startsWith(prefix));
  };
  const handle = async (ctx: Context, next: Next): Promise<void> => {
    if (owned(ctx.path)) await boundary(ctx, () => dispatch(ctx as Parameters<typeof dispatch>[0], next));
    else {
      await next();
      // Each step behind the error boundary; the boundary's own frame only for a step that failed.
      for (const step of after ?? []) {
        try {
          await step(ctx);
        } catch (err) {
          await boundary(ctx, () => Promise.reject(err));
        }
      }
    }
    correctErrorCode(ctx);
    if (storageDown && ctx.status === 500) await unavailableWhileDown(ctx, storageDown);
    endPageSecurity(ctx);
  };
  if (!explain) {
    // Decision traces off: the request path without any of them.
    return async function atTheEdge(ctx: Context, next: Next): Promise<void> {
      const started = beginRequest(ctx);
      beginPageSecurity(ctx);
      try {
        await handle(ctx, next);
      } finally {
        endRequest(accessLogger, ctx, started);
      }
    };
  }
  return async function atTheEdgeTraced(ctx: Context, next: Next): Promise<void> {
    const started = beginRequest(ctx);
    beginPageSecurity(ctx);
    // A token request the lean path handed over continues the trace it started (lean-handoff.ts).
    const recorder = handedOverTrace(ctx.req) ?? explain.begin(ctx);
    try {
      if (!recorder) {
        await handle(ctx, next);
        return;
      }
      try {
        // On the context for the provider's routes (they enter oidc-provider's store with it), in a carrier for Baton's.
        traceOnContext(ctx, recorder);
        await withTrace(recorder, () => handle(ctx, next));
      } catch (err) {
        recorder.refuse('server_error', 'the request failed');
        throw err;
      } finally {
        explain.finish(ctx, recorder);
      }
    } finally {
      endRequest(accessLogger, ctx, started);
    }
  };
}
