// The tokens of an offline evaluation, decided by the functions the token endpoint uses: per
// resource the client's allowed scopes bounded by the authorizers (decideResourceScopes), then the
// authorizers' and the buildAccessTokenClaims hook's claims; the id_token's scope claims through
// oidc-provider's mask, then the buildIDTokenClaims hook (authorization_code only, as at the endpoint).
import type { ClientConfig } from '../config/schema.ts';
import { merged } from '../lang/merged.ts';
import type { AccountRecord } from '../provider/accounts.ts';
import { ID_TOKEN_GRANTS, idTokenHookClaims, withIdTokenHookClaims } from '../provider/hooked-claims.ts';
import { accessTokenHookClaims } from '../provider/token-claims.ts';
import { decideResourceScopes } from '../orchestration/token-decisions.ts';
import type { ScopeVerdict, TraceIdentity } from './trace.ts';
import type { Evaluator } from './evaluator.ts';
import { accessTokenClaims, idTokenEnvelope, type BuiltToken, type Claims, type Origins } from './offline-claims.ts';

export interface AccessTokenInput {
  readonly client: ClientConfig;
  readonly resource: string;
  readonly grantType: string;
  readonly scopes: readonly string[];
  /** The user's sub (absent for client_credentials). */
  readonly sub: string | undefined;
  readonly account: AccountRecord | undefined;
  readonly identity: Omit<TraceIdentity, 'sub'> | undefined;
  readonly requestId: string;
}

export type AccessTokenOutcome = { readonly built: BuiltToken; readonly verdicts: readonly ScopeVerdict[] } | { readonly failed: string };

export async function accessTokenFor(evaluator: Evaluator, input: AccessTokenInput): Promise<AccessTokenOutcome> {
  const { config, authorizers, hooks } = evaluator;
  const { client, resource } = input;
  const allowed = evaluator.resources.allowedScopes(client.client_id, resource) ?? [];
  const outcome = authorizers && await decideResourceScopes(authorizers, {
    clientId: client.client_id, grantType: input.grantType, resource, asked: input.scopes, allowed,
    ...(input.sub === undefined ? {} : { accountId: input.sub }), ...(input.account ? { account: input.account } : {}),
    ...(input.identity?.acr === undefined ? {} : { acr: input.identity.acr }), ...(input.identity?.amr === undefined ? {} : { amr: input.identity.amr }),
    ...(input.identity?.authTime === undefined ? {} : { authTime: input.identity.authTime }),
  });
  if (outcome?.failed) return { failed: outcome.failed };
  const decided = new Set(outcome ? outcome.scopes : allowed);
  // oidc-provider: the requested scopes, in request order, that the resource server info allows.
  const scopes = [...new Set(input.scopes)].filter((scope) => decided.has(scope));

  const verdicts: ScopeVerdict[] = [];
  const permitted = new Set(allowed);
  for (const scope of new Set(input.scopes)) {
    if (!permitted.has(scope)) continue;
    const owner = outcome?.decisions.find((d) => d.requested.includes(scope));
    if (owner) verdicts.push({ scope, resource, granted: owner.granted.includes(scope), by: `authorizer:${owner.authorizer}`, ...(owner.reason === undefined ? {} : { reason: owner.reason }) });
    else verdicts.push({ scope, resource, granted: true, by: 'client' });
  }

  const extra: Claims = { ...outcome?.claims };
  const extraOrigins: Origins = {};
  for (const name of Object.keys(extra)) extraOrigins[name] = `authorizer:${claimOwner(evaluator, name)}`;
  if (hooks.has(client.client_id, 'buildAccessTokenClaims')) {
    const built = await accessTokenHookClaims(hooks, config, {
      clientId: client.client_id, grantType: input.grantType, scopes, resource, requestId: input.requestId,
      ...(input.sub === undefined ? {} : { accountId: input.sub }), ...(input.account ? { account: input.account } : {}),
    }, input.identity?.upstream ? { upstream: { id: input.identity.upstream, claims: input.account?.claims ?? {}, tokens: {} } } : {});
    for (const [name, value] of Object.entries(built)) {
      extra[name] = value;
      extraOrigins[name] = 'hook:buildAccessTokenClaims';
    }
  }
  const resourceConfig = config.resources.find((r) => r.id === resource)!;
  const built = accessTokenClaims(config, {
    resource: resourceConfig, clientId: client.client_id, sub: input.sub, scopes,
    clientCredentials: input.grantType === 'client_credentials', now: Math.floor(evaluator.clock() / 1000), extra, extraOrigins,
  });
  return { built, verdicts };
}

/** The authorizer whose claims land under `name` (its namespace), or the first with top-level claims. */
function claimOwner(evaluator: Evaluator, name: string): string {
  const configs = evaluator.config.authorizers;
  return (configs.find((c) => (c.claimsNamespace ?? c.id) === name) ?? configs.find((c) => c.claimsNamespace === ''))?.id ?? 'unknown';
}

export interface IdTokenInput {
  readonly client: ClientConfig;
  readonly grantType: string;
  /** The granted OpenID scopes. */
  readonly scopes: readonly string[];
  readonly sub: string;
  readonly account: AccountRecord;
  readonly identity: Omit<TraceIdentity, 'sub'>;
  readonly requestId: string;
}

export async function idTokenFor(evaluator: Evaluator, input: IdTokenInput): Promise<BuiltToken> {
  const { config, hooks, store } = evaluator;
  const { client, identity } = input;
  // As oidc-provider's issueIdToken: the account's claims (findAccount: claims and sub), then the sign-in's acr, amr, auth_time.
  const available: Claims = merged(input.account.claims, {
    sub: input.sub,
    ...(identity.acr === undefined ? {} : { acr: identity.acr }), ...(identity.amr === undefined ? {} : { amr: [...identity.amr] }),
    ...(identity.authTime === undefined ? {} : { auth_time: identity.authTime }),
  });
  const released = await evaluator.idTokens.released(client, available, input.scopes);
  const origins: Origins = {};
  for (const name of Object.keys(released)) origins[name] = name === 'sub' ? 'baton' : 'upstream';
  let claims: Claims = released;
  if (ID_TOKEN_GRANTS.has(input.grantType) && hooks.has(client.client_id, 'buildIDTokenClaims')) {
    const extra = await idTokenHookClaims(hooks, store, { clientId: client.client_id, clientName: client.client_name, grantType: input.grantType, scopes: input.scopes, sub: input.sub, requestId: input.requestId });
    claims = withIdTokenHookClaims(released, extra);
    for (const name of Object.keys(extra)) if (name !== 'sub') origins[name] = 'hook:buildIDTokenClaims';
  }
  const envelope = idTokenEnvelope(config, client.client_id, input.sub, Math.floor(evaluator.clock() / 1000));
  for (const name of Object.keys(envelope)) origins[name] = 'baton';
  return { claims: merged(claims, envelope), origins };
}
