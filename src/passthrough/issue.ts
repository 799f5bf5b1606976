// What a passthrough token response carries once the user is allowed: the access token's scopes
// and claims (the authorizer fan-out, then buildAccessTokenClaims), the id_token's claims (by the
// OpenID scopes granted upstream, then buildIDTokenClaims), the tokens signed, and the upstream
// refresh token wrapped. RFC 6749 section 5.1 response.
import { merged } from '../lang/merged.ts';
import type { PassthroughGrant } from './upstream-token.ts';
import { OIDC_SCOPES } from '../config/schema.ts';
import { fanOut } from '../orchestration/token-decisions.ts';
import type { HookUser } from '../orchestration/hooks/index.ts';
import { SCOPE_CLAIMS } from '../provider/claims.ts';
import type { PassthroughDeps, PassthroughEntry } from './entries.ts';
import { unavailable } from './errors.ts';
import type { SignIn } from './mint.ts';
import type { ClientCredentials } from './request.ts';

export interface Issuance {
  readonly entry: PassthroughEntry;
  readonly client: ClientCredentials;
  readonly grantType: PassthroughGrant;
  readonly user: HookUser;
  readonly signIn: SignIn;
  /** OpenID scopes the upstream granted (its `scope`), when it said. */
  readonly upstreamScope?: string;
  readonly nonce?: string;
  /** The upstream refresh token to wrap (the new one, or the old one kept when the upstream does not rotate). */
  readonly upstreamRefreshToken?: string;
  readonly upstreamRefreshExpiresIn?: number;
  /** The family of the refresh token being rotated (handle mode), carried to its successor. */
  readonly family?: string;
  /** A grace replay: the successor already issued, answered as it is instead of wrapping a new one. */
  readonly issuedRefreshToken?: string;
  readonly requestId: string;
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
  readonly id_token: string;
  readonly refresh_token?: string;
}

export async function issueTokens(deps: PassthroughDeps, issuance: Issuance): Promise<TokenResponse> {
  const { entry, client, user, signIn } = issuance;
  const oidcScopes = openidScopes(issuance.upstreamScope);
  const base = { client: { id: client.clientId }, flow: 'token' as const, grantType: issuance.grantType, params: {}, user, requestId: issuance.requestId };

  const { scopes: granted, claims: decided } = await decideResourceScopes(deps, issuance);
  const scope = [...oidcScopes, ...granted].join(' ');
  const resource = entry.resource;
  const hookClaims = deps.hooks.has(entry.hookKey, 'buildAccessTokenClaims')
    ? await deps.hooks.run(entry.hookKey, 'buildAccessTokenClaims', merged(base, { scopes: scope.split(' '), resource: resource?.id }))
    : {};
  const ttl = resource?.ttl ?? deps.config.ttl.accessToken;
  const accessToken = await entry.minter.accessToken({
    issuer: entry.issuer, clientId: client.clientId, audience: resource?.audience ?? entry.issuer, scope, ttl, signIn,
    extra: merged(decided, hookClaims), alg: resource?.signingAlg,
  });

  const idClaims = deps.hooks.has(entry.hookKey, 'buildIDTokenClaims')
    ? await deps.hooks.run(entry.hookKey, 'buildIDTokenClaims', merged(base, { scopes: oidcScopes }))
    : {};
  const idToken = await entry.minter.idToken({
    issuer: entry.issuer, clientId: client.clientId, ttl: deps.config.ttl.idToken, signIn, nonce: issuance.nonce, accessToken,
    claims: merged(claimsFor(user.claims, oidcScopes), idClaims),
  });

  const refreshToken = issuance.issuedRefreshToken ?? (issuance.upstreamRefreshToken === undefined ? undefined : await entry.refreshTokens.wrap({
    upstreamRefreshToken: issuance.upstreamRefreshToken, sub: user.sub, authTime: signIn.authTime, acr: signIn.acr, amr: signIn.amr, scope: oidcScopes.join(' '),
    ...(issuance.family ? { family: issuance.family } : {}),
  }, client.clientId, issuance.upstreamRefreshExpiresIn));

  deps.logger.info({ event: 'passthrough.token', reqId: issuance.requestId, passthrough: entry.config.id, clientId: client.clientId, grantType: issuance.grantType, sub: user.sub, scope }, 'passthrough tokens issued');
  return { access_token: accessToken, token_type: 'Bearer', expires_in: ttl, scope, id_token: idToken, ...(refreshToken ? { refresh_token: refreshToken } : {}) };
}

/** The resource's configured scopes, bounded by the authorizers owning them (never widened). */
async function decideResourceScopes(deps: PassthroughDeps, { entry, client, grantType, user, signIn, requestId }: Issuance): Promise<{ scopes: readonly string[]; claims: Record<string, unknown> }> {
  const resource = entry.resource;
  if (!resource) return { scopes: [], claims: {} };
  if (!deps.authorizers?.concerns(resource.scopes)) return { scopes: resource.scopes, claims: {} };
  const outcome = await fanOut(deps.authorizers, {
    subject: user.sub,
    clientId: client.clientId,
    grantType,
    resource: resource.id,
    scopes: resource.scopes,
    upstream: { idp: entry.settings.id, acr: signIn.acr, amr: signIn.amr, authTime: signIn.authTime },
    claims: { ...user.claims },
    requestId,
  }, resource.scopes, deps.metrics);
  if (outcome.failed) throw unavailable(`the authorizer ${outcome.failed} could not decide; try again later`);
  return outcome;
}

/**
 * The OpenID scopes the upstream granted. When it did not say, `openid profile email`: the claims
 * come from the upstream id_token this client was issued anyway.
 */
function openidScopes(upstreamScope: string | undefined): string[] {
  const granted = new Set(upstreamScope?.split(' ') ?? ['openid', 'profile', 'email']);
  return OIDC_SCOPES.filter((scope) => granted.has(scope));
}

/** OIDC Core section 5.4: the standard claims of each granted scope (without `sub`, `acr`, `amr`: how the user signed in is not a profile claim). */
export function claimsFor(claims: Readonly<Record<string, unknown>>, scopes: readonly string[]): Record<string, unknown> {
  const names = new Set(scopes.flatMap((scope) => (SCOPE_CLAIMS as Record<string, readonly string[]>)[scope] ?? []));
  for (const own of ['sub', 'acr', 'amr']) names.delete(own);
  return Object.fromEntries(Object.entries(claims).filter(([name]) => names.has(name)));
}
