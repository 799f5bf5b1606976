// `GET user`, `POST logout` and the opt-in `GET token` (RFC 10017 sections 6.1.3 and 6.2): what the
// SPA may know about its session, and how it ends it. Logout revokes the refresh token at Baton
// (which ends the grant, and with it every session and token derived from it), then sends the
// browser to Baton's RP-initiated logout by client_id: no id_token_hint, so no token in any URL.
import type { Context } from 'koa';
import * as client from 'openid-client';

import { clientConfig } from '../config/clients.ts';
import { storedKey } from './cookie.ts';
import type { BffDeps, BffEntry } from './entries.ts';
import { BffError, unauthenticated } from './errors.ts';
import type { BffSession } from './sessions.ts';
import type { TokenSource } from './tokens.ts';

export async function currentSession(ctx: Context, deps: BffDeps, entry: BffEntry): Promise<BffSession> {
  const cookie = entry.cookies.session(ctx);
  const session = cookie && (await deps.sessions.load(cookie, entry.config.id, entry.config.session));
  if (!session) {
    if (cookie !== undefined || ctx.get('Cookie').includes(`baton-bff-${entry.config.id}=`)) entry.cookies.clearSession(ctx);
    throw unauthenticated();
  }
  return session;
}

/** Where the browser ends its session at Baton itself (OpenID Connect RP-Initiated Logout 1.0 section 2). */
function logoutUrl(deps: BffDeps, entry: BffEntry): string {
  const url = new URL(`${deps.config.issuer}/logout`);
  url.searchParams.set('client_id', entry.config.client_id);
  const registered = clientConfig(deps.config, entry.config.client_id);
  const back = registered?.post_logout_redirect_uris.find((uri) => entry.config.origins.includes(new URL(uri).origin));
  if (back) url.searchParams.set('post_logout_redirect_uri', back);
  return url.href;
}

export async function user(ctx: Context, deps: BffDeps, entry: BffEntry): Promise<void> {
  const session = await currentSession(ctx, deps, entry);
  ctx.body = {
    sub: session.sub,
    claims: session.claims,
    session: { createdAt: session.createdAt, expiresAt: session.expiresAt },
    logoutUrl: `${entry.base}/logout`,
  };
}

export async function logout(ctx: Context, deps: BffDeps, entry: BffEntry): Promise<void> {
  const cookie = entry.cookies.session(ctx);
  const session = cookie && (await deps.sessions.load(cookie, entry.config.id, entry.config.session));
  if (cookie) await deps.sessions.end(storedKey(cookie));
  entry.cookies.clearSession(ctx);
  if (session) {
    await deps.sessions.endGrant(session.grantId);
    try {
      await client.tokenRevocation(await entry.rp(), session.tokens.refreshToken, { token_type_hint: 'refresh_token' });
    } catch (err) {
      // The session is gone either way; a grant left behind expires with its refresh token.
      deps.logger.warn({ err: { name: (err as Error).name, error: (err as { error?: string }).error }, bff: entry.config.id }, 'BFF logout: revoking the refresh token failed');
    }
  }
  const endSession = logoutUrl(deps, entry);
  if (ctx.accepts('json', 'html') === 'html') {
    ctx.status = 303;
    ctx.redirect(endSession);
    return;
  }
  ctx.body = { loggedOut: true, endSessionUrl: endSession };
}

/** The token-mediating variant (RFC 10017 section 6.2), opt-in: a short-lived access token for one route resource. */
export async function token(ctx: Context, deps: BffDeps, entry: BffEntry, tokens: TokenSource): Promise<void> {
  if (!entry.config.tokenEndpoint) throw new BffError(404, 'not_found', 'this app\'s backend does not hand out tokens');
  const resource = ctx.query.resource;
  if (typeof resource !== 'string') throw new BffError(400, 'invalid_target', 'exactly one resource is required');
  const route = entry.config.routes.find((r) => r.token === 'user' && r.resource === resource);
  if (!route) throw new BffError(400, 'invalid_target', 'the resource is not one of this app\'s APIs');
  const session = await currentSession(ctx, deps, entry);
  const accessToken = await tokens.user(entry, session, resource);
  ctx.body = { access_token: accessToken.token, token_type: 'Bearer', expires_in: Math.max(0, accessToken.exp - Math.floor(deps.clock() / 1000)) };
}
