// The route oidc-provider resolves for a request, for checks that run in front of it: its router folds
// case and ignores one trailing slash, so `/Device/` is `code_verification` there. Baton's checks
// decide on that name (as ctx.oidc.route does once the provider has the request), never on a spelling.
import type Provider from 'oidc-provider';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';

/** The provider's route name for `method` and `path`, or undefined when it has none. */
export type RouteResolver = (method: string, path: string) => string | undefined;

export function providerRoutes(provider: Provider): RouteResolver {
  const router = instance(provider)?.router;
  // A provider upgrade that moved its router fails the start, instead of leaving every check unmatched.
  if (typeof router?.match !== 'function') throw new Error('oidc-provider: its router cannot be read; check src/http/provider-route.ts against this version');
  return (method, path) => router.match(method, path)?.route.name;
}
