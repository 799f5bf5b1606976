// The reference token exchange (RFC 8693) for bench/endpoints.ts: oidc-provider has none, so the
// bare server registers this minimal grant. It does the essential work Baton's does for a trusted
// partner's JWT and nothing else: verify the subject JWT against the partner's JWKS (fetched once,
// cached), check iss, aud, iat age and exp, spend its jti once (an in-memory map, as Baton's memory
// store), bound the scopes, then mint an ES256 RFC 9068 access token for the one API through the
// provider's AccessToken model. No policy, hooks, authorizers, events or logging.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { errors, type Provider } from 'oidc-provider';

import { ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, PARTNER, PARTNER_AUDIENCE, RESOURCE, SCOPES, TOKEN_EXCHANGE, TOKEN_TTL } from './endpoints-fixture.ts';

type GrantContext = Parameters<Parameters<Provider['registerGrantType']>[1]>[0];

const PARAMETERS = new Set(['subject_token', 'subject_token_type', 'requested_token_type', 'resource', 'audience', 'scope']);

export function registerReferenceExchange(provider: Provider, jwksUri: string): void {
  const keys = createRemoteJWKSet(new URL(jwksUri));
  /** jti -> exp of each subject JWT already exchanged. */
  const spent = new Map<string, number>();

  async function handler(ctx: GrantContext): Promise<void> {
    const params = ctx.oidc.params as Record<string, string | undefined>;
    if (params.subject_token_type !== JWT_TOKEN_TYPE || !params.subject_token) throw new errors.InvalidRequest('subject_token_type must be jwt');
    if ((params.resource ?? RESOURCE) !== RESOURCE) throw new errors.InvalidTarget('unknown resource');
    const requested = (params.scope ?? SCOPES.join(' ')).split(' ');
    if (!requested.every((s) => (SCOPES as readonly string[]).includes(s))) throw new errors.InvalidScope('scope not allowed', params.scope!);
    let payload;
    try {
      ({ payload } = await jwtVerify(params.subject_token, keys, { issuer: PARTNER, audience: PARTNER_AUDIENCE, maxTokenAge: 300, clockTolerance: 30, requiredClaims: ['sub', 'exp', 'iat', 'jti'] }));
    } catch {
      throw new errors.InvalidRequest('subject_token is invalid');
    }
    if (spent.has(payload.jti!)) throw new errors.InvalidRequest('subject_token was already used');
    spent.set(payload.jti!, payload.exp!);

    const scope = requested.join(' ');
    const at = new provider.AccessToken({ accountId: `~partner:${payload.sub}`, client: ctx.oidc.client!, gty: TOKEN_EXCHANGE, scope, grantId: undefined as unknown as string });
    at.resourceServer = new provider.ResourceServer(RESOURCE, { scope: SCOPES.join(' '), audience: RESOURCE, accessTokenTTL: TOKEN_TTL, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } });
    ctx.oidc.entity('AccessToken', at);
    const accessToken = await at.save();
    ctx.body = { access_token: accessToken, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: at.expiration, scope };
  }

  provider.registerGrantType(TOKEN_EXCHANGE, handler, PARAMETERS);
}
