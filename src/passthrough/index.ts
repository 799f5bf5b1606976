// Passthrough mode (GitHub issue #6): Baton in front of an app registered at the upstream IdP,
// under `{issuer}/passthrough/{id}`. The browser legs (authorize, logout, device) stay at the
// upstream; discovery, token, userinfo, JWKS and revocation are Baton's. See docs/passthrough.md.
import type Router from '@koa/router';
import type { Context } from 'koa';

import { publicJwks } from '../keys/keyset.ts';
import { rewriteDiscovery } from './discovery.ts';
import type { PassthroughDeps, PassthroughEntry, Passthroughs } from './entries.ts';
import { answering, PassthroughError } from './errors.ts';
import { revocation } from './revocation.ts';
import { token } from './token.ts';
import { userinfo } from './userinfo.ts';

export { createPassthroughs, type PassthroughDeps, type Passthroughs } from './entries.ts';

/** Path prefix the edge hands to these routes. */
export const PASSTHROUGH_PREFIX = '/passthrough/';

type Handler = (ctx: Context, deps: PassthroughDeps, entry: PassthroughEntry) => Promise<void>;

export function addPassthroughRoutes(router: Router, passthroughs: Passthroughs): void {
  if (passthroughs.entries.size === 0) return;
  const on = (handler: Handler) => async (ctx: Context) => {
    const entry = passthroughs.entries.get(String(ctx.params.id));
    if (!entry) {
      await answering(ctx, async () => { throw new PassthroughError(404, 'invalid_request', 'there is no passthrough issuer here'); });
      return;
    }
    await handler(ctx, passthroughs.deps, entry);
  };
  router.get('/passthrough/:id/.well-known/openid-configuration', on(discovery));
  router.get('/passthrough/:id/jwks', on(jwks));
  router.post('/passthrough/:id/token', on(token));
  router.get('/passthrough/:id/userinfo', on(userinfo));
  router.post('/passthrough/:id/userinfo', on(userinfo));
  router.post('/passthrough/:id/revoke', on(revocation));
}

async function discovery(ctx: Context, _deps: PassthroughDeps, entry: PassthroughEntry): Promise<void> {
  await answering(ctx, async () => {
    ctx.body = rewriteDiscovery(await entry.discovery.get(), { issuer: entry.issuer, idTokenSigningAlg: entry.signingAlg });
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.remove('Pragma');
  });
}

async function jwks(ctx: Context, deps: PassthroughDeps): Promise<void> {
  ctx.body = publicJwks(deps.keys(), Math.floor(deps.clock() / 1000));
  ctx.type = 'application/jwk-set+json';
  ctx.set('Cache-Control', 'public, max-age=300');
}
