// A grant oidc-provider holds the handler of, on the lean token path: its own authorization_code and
// refresh_token (wrapped by Baton: spend on success, reuse grace) and the grants Baton registered
// (token exchange, RFC 8693). The handler runs as token.js callTokenHandler runs it, after the same
// client authentication and parameter checks, with oidc-provider's own request context (lean-token.ts).
// Its errors are answered there, never by a second run: it may already have spent a code or a token.
import type { IncomingHttpHeaders } from 'node:http';

import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import als from 'oidc-provider/lib/helpers/als.js';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';

import type { SecretVerifier } from '../provider/client-secret.ts';
import { leanClientAuth } from './lean-client-auth.ts';
import type { LeanContext, LeanResult } from './lean-client-credentials.ts';

/** oidc-provider's scope syntax check (token.js validateScope). */
const SCOPE_SYNTAX = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/u;
const CLIENT_AUTH = ['client_id', 'client_secret'] as const;
/** Parameters whose checks run in the token route's middleware (check_rar.js): such a request goes the full way. */
const CHECKED_BEFORE = new Set(['authorization_details']);

type LeanGrant = (ctx: LeanContext, headers: IncomingHttpHeaders, params: Readonly<Record<string, string>>) => Promise<LeanResult>;

/** The lean path's grants among `grantTypes`, by grant type: those the provider holds a handler for. */
export function leanProviderGrants(provider: Provider, secrets: SecretVerifier, grantTypes: readonly string[]): Array<[string, LeanGrant]> {
  const { grantTypeHandlers, grantTypeParams } = instance(provider);
  return grantTypes.flatMap((grantType) => {
    // Every parameter the grant was registered with (resource included where resource indicators are on).
    const registered = grantTypeParams.get(grantType);
    return registered && grantTypeHandlers.has(grantType) ? [[grantType, leanProviderGrant(provider, secrets, grantType, registered)]] : [];
  });
}

function leanProviderGrant(provider: Provider, secrets: SecretVerifier, grantType: string, registered: ReadonlySet<string>): LeanGrant {
  const authenticate = leanClientAuth(provider, secrets);
  const { grantTypeHandlers } = instance(provider);
  const known = new Set<string>(['grant_type', ...CLIENT_AUTH, ...[...registered].filter((name) => !CHECKED_BEFORE.has(name))]);

  return async function handle(ctx: LeanContext, headers: IncomingHttpHeaders, params: Readonly<Record<string, string>>): Promise<LeanResult> {
    if (params.grant_type !== grantType || Object.keys(params).some((k) => !known.has(k))) return { fallback: true };
    if (params.scope !== undefined && !SCOPE_SYNTAX.test(params.scope)) return { fallback: true };
    const client = await authenticate(headers, params, grantType);
    // Looked up per request, as callTokenHandler does: the handler as wrapped now (provider-grants.ts).
    const handler = grantTypeHandlers.get(grantType);
    if (!client || !handler) return { fallback: true };
    ctx.oidc.entity('Client', client);
    // As oidc-provider's Params: every allowed name present, absent ones undefined.
    for (const name of known) ctx.oidc.params[name] = params[name];
    try {
      await als.run(ctx, () => handler(ctx as unknown as KoaContextWithOIDC));
    } catch (error) {
      return { fallback: false, error };
    }
    return { fallback: false, body: ctx.body ?? {} };
  };
}
