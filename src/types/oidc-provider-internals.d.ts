// The oidc-provider internals Baton reads, all on the per-provider state: its grant handlers
// (src/grants/provider-grants.ts wraps authorization_code, refresh_token and device_code) and the
// parameters each grant was registered with (the lean token path runs handlers, src/grants/lean-provider-grant.ts), and its
// router (src/http/provider-route.ts resolves a request to the route name the provider will give it).
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';

  interface ProviderRouter {
    match(method: string, path: string): { route: { name: string } } | undefined;
  }
  interface ProviderInternals {
    readonly grantTypeHandlers: Map<string, (ctx: KoaContextWithOIDC) => Promise<void>>;
    readonly grantTypeParams: Map<string | undefined, ReadonlySet<string>>;
    readonly router?: ProviderRouter;
  }
  export default function instance(provider: object): ProviderInternals;
}

// The provider's context store: its models read the request's context from it (the lean token path
// runs them inside it, http/lean-token.ts).
declare module 'oidc-provider/lib/helpers/als.js' {
  import type { AsyncLocalStorage } from 'node:async_hooks';

  const als: AsyncLocalStorage<object>;
  export default als;
}

// oidc-provider's error body (what its error handler sends for an error thrown by a grant handler).
declare module 'oidc-provider/lib/helpers/err_out.js' {
  export default function errOut(err: { expose?: boolean; message?: string; error_description?: string; scope?: string }, state?: string): { error: string; error_description?: string; scope?: string };
}
