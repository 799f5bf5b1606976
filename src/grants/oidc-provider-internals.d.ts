// Types for the one oidc-provider internal Baton reads (see provider-grants.ts).
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';

  interface ProviderInternals {
    readonly grantTypeHandlers: Map<string, (ctx: KoaContextWithOIDC) => Promise<void>>;
  }
  export default function instance(provider: object): ProviderInternals;
}
