// The device verification form (RFC 8628 section 3.3): submissions need the page's session (a
// cookie-less POST is sent to the form instead), and how often one client address may submit user
// codes is bounded (section 5.1: user codes are short, so guessing must be rate limited). Fixed
// window per address, counted in the store so every instance sharing it enforces one limit.
import type { Context, Next } from 'koa';

import type { Logger } from '../observability/logger.ts';
import { AttemptCounter, type AttemptWindow } from '../storage/attempt-counter.ts';
import type { Store } from '../storage/store.ts';
import { errorBoundary } from './errors.ts';
import { html, page } from './html.ts';
import type { RouteResolver } from './provider-route.ts';

export interface AttemptLimitOptions {
  /** The provider's route name of the form (code_verification), whatever the request's spelling. */
  readonly route: string;
  readonly resolveRoute: RouteResolver;
  /** Where a cookie-less submission is sent to load the form first. */
  readonly formPath: string;
  readonly max: number;
  readonly windowMs: number;
  /** Cookie that proves the form was loaded first. */
  readonly sessionCookie: string;
  readonly store: Store;
  readonly logger: Logger;
  readonly now?: () => number;
}

export function attemptLimit({ route, resolveRoute, formPath, max, windowMs, sessionCookie, store, logger, now = Date.now }: AttemptLimitOptions) {
  const submissions = new AttemptCounter({ store, kind: 'attempts:device-code', windowMs, clock: now });
  const boundary = errorBoundary(logger);
  // Every other request passes straight on, without an async frame of its own.
  return function limitAttempts(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || resolveRoute(ctx.method, ctx.path) !== route) return next();
    return limited(ctx, next);
  };

  async function limited(ctx: Context, next: Next): Promise<void> {
    // A failing store answers server_error: closed, guessing is never left unlimited.
    let window: AttemptWindow | undefined;
    await boundary(ctx, async () => {
      window = await submissions.increment([ctx.ip]);
    });
    if (!window) return;
    // An increment that lost every compare-and-set try counts as over the limit: it only happens
    // when one address submits many codes at the same instant.
    if (!window.recorded || window.count > max) {
      ctx.status = 429;
      ctx.set('Retry-After', String(Math.max(1, Math.ceil((window.resetAt - now()) / 1000))));
      ctx.type = 'html';
      ctx.body = page('Too many attempts', html`<h1>Too many attempts</h1><p>Wait a few minutes before entering a code again.</p>`);
      return;
    }
    if (!ctx.get('cookie').includes(`${sessionCookie}=`)) {
      ctx.status = 303;
      ctx.redirect(formPath);
      return;
    }
    await next();
  }
}
