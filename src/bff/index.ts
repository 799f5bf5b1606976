// Backend-for-frontend for single-page apps (GitHub issue #14, RFC 10017 / BCP 212): under
// `{issuer}/bff/{id}/` sign-in, the session's user, logout and an API proxy, so the SPA holds only
// an HttpOnly session cookie and never a token. See docs/bff.md.
import type Router from '@koa/router';
import type { Context } from 'koa';

import type { BffDeps, BffEntry, Bffs } from './entries.ts';
import { allowCors, preflight, requireCsrf } from './csrf.ts';
import { answering, BffError } from './errors.ts';
import { proxy } from './proxy.ts';
import { logout, token, user } from './session-endpoints.ts';
import { callback, login } from './sign-in.ts';
import { TokenSource } from './tokens.ts';

export { createBffs, type BffDeps, type Bffs } from './entries.ts';
export { BffSessions } from './sessions.ts';

/** Path prefix the edge hands to these routes. */
export const BFF_PREFIX = '/bff/';

type Handler = (ctx: Context, deps: BffDeps, entry: BffEntry) => Promise<void>;

export function addBffRoutes(router: Router, bffs: Bffs): void {
  if (bffs.entries.size === 0) return;
  const tokens = new TokenSource(bffs.deps);
  const issuer = bffs.deps.config.issuer;
  const find = (ctx: Context) => {
    const entry = bffs.entries.get(String(ctx.params.id));
    if (!entry) throw new BffError(404, 'not_found', 'there is no app backend here');
    return entry;
  };
  /** A browser navigation (login, callback): no CORS, no CSRF header possible. */
  const navigation = (handler: Handler) => (ctx: Context) => answering(ctx, async () => handler(ctx, bffs.deps, find(ctx)));
  /** A call from the SPA's JavaScript: CORS for listed origins, the CSRF header and Origin checked. */
  const call = (methods: readonly string[], handler: Handler) => (ctx: Context) => answering(ctx, async () => {
    const entry = find(ctx);
    allowCors(ctx, entry);
    if (ctx.method === 'OPTIONS') return preflight(ctx, entry, methods);
    requireCsrf(ctx, entry, issuer);
    await handler(ctx, bffs.deps, entry);
  });

  router.get('/bff/:id/login', navigation(login));
  router.get('/bff/:id/callback', navigation(callback));
  router.get('/bff/:id/user', call(['GET'], user));
  router.options('/bff/:id/user', call(['GET'], user));
  router.post('/bff/:id/logout', call(['POST'], logout));
  router.options('/bff/:id/logout', call(['POST'], logout));
  const tokenHandler: Handler = (ctx, deps, entry) => token(ctx, deps, entry, tokens);
  router.get('/bff/:id/token', call(['GET'], tokenHandler));
  router.options('/bff/:id/token', call(['GET'], tokenHandler));
  router.all('/bff/:id/api/:route{/*rest}', (ctx: Context) => answering(ctx, async () => {
    const entry = find(ctx);
    const route = entry.config.routes.find((r) => r.name === String(ctx.params.route));
    allowCors(ctx, entry);
    if (ctx.method === 'OPTIONS') return preflight(ctx, entry, route?.methods ?? []);
    requireCsrf(ctx, entry, issuer);
    if (!route) throw new BffError(404, 'not_found', 'there is no such API route');
    const rest = /^\/bff\/[^/]+\/api\/[^/]+\/?(.*)$/i.exec(ctx.path)?.[1] ?? '';
    await proxy(ctx, bffs.deps, entry, tokens, route, rest);
  }));
}
