// Pins every URL the provider builds (discovery endpoints, redirects to the interaction, logout
// forms) to the configured issuer. oidc-provider derives them from Koa's request host and
// protocol; a forged Host or X-Forwarded-Host header must never change what Baton advertises or
// where it redirects. Defined once on the app's request prototype, so no per-request cost.
import type Koa from 'koa';

export function pinOrigin(app: Koa, issuer: string): void {
  const { host, hostname, protocol } = new URL(issuer);
  const scheme = protocol.slice(0, -1);
  const pinned = (value: string) => ({ configurable: true, enumerable: true, get: () => value });
  Object.defineProperties(app.request, {
    host: pinned(host),
    hostname: pinned(hostname),
    protocol: pinned(scheme),
  });
}
