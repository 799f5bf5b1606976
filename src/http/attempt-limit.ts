// The device verification form (RFC 8628 section 3.3): submissions need the page's session (a
// cookie-less POST is sent to the form instead), and how often one client address may submit user
// codes is bounded (section 5.1: user codes are short, so guessing must be rate limited). Fixed
// window per address, in memory.
import type { Context, Next } from 'koa';

import { html, page } from './html.ts';

export interface AttemptLimitOptions {
  readonly path: string;
  readonly max: number;
  readonly windowMs: number;
  /** Cookie that proves the form was loaded first. */
  readonly sessionCookie: string;
  readonly now?: () => number;
}

export function attemptLimit({ path, max, windowMs, sessionCookie, now = Date.now }: AttemptLimitOptions) {
  const windows = new Map<string, { start: number; count: number }>();
  return async function limitAttempts(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== path) return next();
    const at = now();
    if (windows.size > 10_000) for (const [ip, w] of windows) if (at - w.start >= windowMs) windows.delete(ip);
    let window = windows.get(ctx.ip);
    if (!window || at - window.start >= windowMs) {
      window = { start: at, count: 0 };
      windows.set(ctx.ip, window);
    }
    window.count += 1;
    if (window.count > max) {
      ctx.status = 429;
      ctx.set('Retry-After', String(Math.ceil((window.start + windowMs - at) / 1000)));
      ctx.type = 'html';
      ctx.body = page('Too many attempts', html`<h1>Too many attempts</h1><p>Wait a few minutes before entering a code again.</p>`);
      return;
    }
    if (!ctx.get('cookie').includes(`${sessionCookie}=`)) {
      ctx.status = 303;
      ctx.redirect(path);
      return;
    }
    await next();
  };
}
