// The one oidc-provider internal Baton reads: the per-provider state holding its router, so a check
// in front of the provider resolves a request to the route name the provider will give it.
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  interface ProviderRouter {
    match(method: string, path: string): { route: { name: string } } | undefined;
  }
  const instance: (provider: object) => { router?: ProviderRouter } | undefined;
  export default instance;
}
