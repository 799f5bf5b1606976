// Pins every URL the provider builds (discovery endpoints, redirects to the interaction, logout
// forms) to the configured issuer. oidc-provider derives them from the request's Host and
// protocol; a forged Host header must never change what Baton advertises or where it redirects.
import type { Context, Next } from 'koa';

export function pinOrigin(issuer: string) {
  const { host, protocol } = new URL(issuer);
  const scheme = protocol.slice(0, -1);
  return async function pinnedOrigin(ctx: Context, next: Next): Promise<void> {
    ctx.req.headers.host = host;
    delete ctx.req.headers['x-forwarded-host'];
    delete ctx.req.headers[':authority'];
    // Koa reads the scheme from the socket or X-Forwarded-Proto; the issuer decides instead.
    Object.defineProperty(ctx.request, 'protocol', { value: scheme, configurable: true });
    await next();
  };
}
