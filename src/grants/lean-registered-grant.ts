// A registered grant (token exchange, RFC 8693) on the lean token path: the provider's own handler,
// after the same client authentication, as token.js callTokenHandler runs it. Its errors are answered
// there (lean-token.ts), never by a second run: it may already have spent a single-use token.
import type { IncomingHttpHeaders } from 'node:http';

import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import als from 'oidc-provider/lib/helpers/als.js';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';

import { traceOfContext } from '../explain/trace-context.ts';
import type { SecretVerifier } from '../provider/client-secret.ts';
import { leanClientAuth } from './lean-client-auth.ts';
import type { LeanContext, LeanResult } from './lean-client-credentials.ts';

/** oidc-provider's scope syntax check (token.js validateScope). */
const SCOPE_SYNTAX = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/u;
const CLIENT_AUTH = ['client_id', 'client_secret'] as const;

export interface RegisteredGrantDeps {
  readonly provider: Provider;
  readonly secrets: SecretVerifier;
  readonly grantType: string;
  /** The parameters the grant was registered with (every one the handler reads). */
  readonly parameters: readonly string[];
}

export function leanRegisteredGrant({ provider, secrets, grantType, parameters }: RegisteredGrantDeps) {
  const authenticate = leanClientAuth(provider, secrets);
  const known = new Set<string>(['grant_type', ...CLIENT_AUTH, ...parameters]);

  return async function handle(ctx: LeanContext, headers: IncomingHttpHeaders, params: Readonly<Record<string, string>>): Promise<LeanResult> {
    if (params.grant_type !== grantType || Object.keys(params).some((k) => !known.has(k))) return { fallback: true };
    if (params.scope !== undefined && !SCOPE_SYNTAX.test(params.scope)) return { fallback: true };
    const handler = instance(provider).grantTypeHandlers.get(grantType);
    const client = await authenticate(headers, params, grantType);
    if (!client || !handler) return { fallback: true };
    ctx.oidc.entity('Client', client);
    // As oidc-provider's Params: every allowed name present, absent ones undefined.
    for (const name of known) ctx.oidc.params[name] = params[name];
    traceOfContext(ctx)?.request({
      endpoint: 'token', clientId: client.clientId, grantType,
      resources: params.resource === undefined ? [] : [params.resource], scopes: params.scope?.split(' ') ?? [],
      ...(params.subject_token_type === undefined ? {} : { subjectTokenType: params.subject_token_type }),
      ...(params.actor_token_type === undefined ? {} : { actorTokenType: params.actor_token_type }),
    });
    try {
      await als.run(ctx, () => handler(ctx as unknown as KoaContextWithOIDC));
    } catch (error) {
      return { fallback: false, error };
    }
    return { fallback: false, body: ctx.body ?? {} };
  };
}
