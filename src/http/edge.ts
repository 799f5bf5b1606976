// The single middleware in front of the provider: request id and access log, Baton's own routes
// (behind their error boundary) for the paths they own, and the RFC error-code correction on the
// way out. One async layer instead of several keeps the token endpoint's hot path short.
import type Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';

import type { Logger } from '../observability/logger.ts';
import { beginRequest, endRequest } from '../observability/request-log.ts';
import { correctErrorCode, errorBoundary } from './errors.ts';

export interface EdgeOptions {
  readonly accessLogger: Logger;
  readonly logger: Logger;
  readonly routes: Router;
  /** Path prefixes Baton's routes own; everything else goes straight to the provider. */
  readonly prefixes: readonly string[];
  /** Post-processing of the provider's responses, in order (e.g. the userinfo hook). */
  readonly after?: ReadonlyArray<(ctx: Context) => Promise<void>>;
}

export function edge({ accessLogger, logger, routes, prefixes, after }: EdgeOptions): Middleware {
  const boundary = errorBoundary(logger);
  const dispatch = routes.routes();
  // Routers fold case (Baton's and the provider's alike), so ownership does too: a path is Baton's
  // whatever its spelling, never handed to the provider for one spelling and to Baton for another.
  const folded = prefixes.map((prefix) => prefix.toLowerCase());
  const owned = (path: string) => {
    const lower = path.toLowerCase();
    return folded.some((prefix) => lower.startsWith(prefix));
  };
  return async function atTheEdge(ctx: Context, next: Next): Promise<void> {
    const started = beginRequest(ctx);
    try {
      if (owned(ctx.path)) await boundary(ctx, () => dispatch(ctx as Parameters<typeof dispatch>[0], next));
      else {
        await next();
        for (const step of after ?? []) await boundary(ctx, () => step(ctx));
      }
      correctErrorCode(ctx);
    } finally {
      endRequest(accessLogger, ctx, started);
    }
  };
}
