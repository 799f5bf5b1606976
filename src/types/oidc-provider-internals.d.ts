// The two oidc-provider internals Baton reads, both on the per-provider state: its grant handlers
// (src/grants/provider-grants.ts wraps authorization_code, refresh_token and device_code) and its
// router (src/http/provider-route.ts resolves a request to the route name the provider will give it).
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';

  interface ProviderRouter {
    match(method: string, path: string): { route: { name: string } } | undefined;
  }
  interface ProviderInternals {
    readonly grantTypeHandlers: Map<string, (ctx: KoaContextWithOIDC) => Promise<void>>;
    readonly router?: ProviderRouter;
  }
  export default function instance(provider: object): ProviderInternals;
}
