// Token introspection (RFC 7662) at Baton: who may introspect which token (section 4: the client it
// was issued to, and the resource servers of its audience, `resources[].introspectors`), and Baton's
// own JWT access tokens, which oidc-provider refuses as structured (sections 2.2 and 2.3). And who
// may revoke one (RFC 7009 section 2.1): the client it was issued to.
import type { Context } from 'koa';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import type { BatonConfig } from '../config/schema.ts';
import { publicJwks, type KeySet } from '../keys/keyset.ts';
import { merged } from '../lang/merged.ts';
import type { Store } from '../storage/store.ts';
import { accessTokenGrant, grantAlive } from './grant-lineage.ts';

/** What the policy looks at in a token, found in the store or verified from a JWT. */
export interface IntrospectedToken {
  readonly kind: string;
  readonly clientId?: string;
  readonly aud?: string | readonly string[];
}

/**
 * RFC 7662 section 4: a token is described only to the client it was issued to and, for access
 * tokens, to the clients configured as resource servers of its audience. A refresh token is meant
 * for Baton alone: only its own client sees it. Anyone else gets `{"active": false}`.
 */
export class IntrospectionPolicy {
  /** Audience -> the clients that are its resource server. */
  readonly #servers = new Map<string, Set<string>>();

  constructor(config: BatonConfig) {
    for (const resource of config.resources) {
      const audience = resource.audience ?? resource.id;
      const servers = this.#servers.get(audience) ?? new Set<string>();
      resource.introspectors.forEach((clientId) => servers.add(clientId));
      this.#servers.set(audience, servers);
    }
  }

  allows(callerId: string, token: IntrospectedToken): boolean {
    if (token.clientId !== undefined && token.clientId === callerId) return true;
    if (token.kind === 'RefreshToken') return false;
    const audiences = token.aud === undefined ? [] : typeof token.aud === 'string' ? [token.aud] : token.aud;
    return audiences.some((audience) => this.#servers.get(audience)?.has(callerId) ?? false);
  }

  /** features.introspection.allowedPolicy */
  allowedPolicy = async (_ctx: KoaContextWithOIDC, client: { clientId: string }, token: IntrospectedToken): Promise<boolean> => this.allows(client.clientId, token);
}

/**
 * features.revocation.allowedPolicy, RFC 7009 section 2.1: a token is revoked only by the client it
 * was issued to; another authenticated client is refused and told so (`invalid_grant`: RFC 6749
 * section 5.2, a grant "issued to another client"; the wire says oidc-provider's "grant request is
 * invalid", the log line the detail), and the token stays. A public client cannot be
 * authenticated, so it is told nothing (200, as for an unknown token). oidc-provider's default
 * answered `invalid_request` and printed a notice on stderr outside the logs.
 */
export async function revocationAllowedPolicy(_ctx: KoaContextWithOIDC, client: { clientId: string; clientAuthMethod?: string }, token: { clientId?: string }): Promise<boolean> {
  if (token.clientId === client.clientId) return true;
  if (client.clientAuthMethod === 'none') return false;
  throw new errors.InvalidGrant('the token was issued to another client');
}

const INACTIVE = { active: false } as const;

/**
 * Section 2.2 for Baton's JWT access tokens (RFC 9068), after oidc-provider authenticated the caller
 * and refused the token as structured (`unsupported_token_type`): `active` once the signature (a
 * current or retired Baton key), `typ`, issuer and expiry verify, the grant it was issued under
 * still exists (the record grant-lineage.ts writes per user token, so logout, revocation and
 * refresh-token reuse make it inactive at once) and the policy allows the caller; else
 * `{"active": false}`.
 */
export function jwtIntrospection(config: BatonConfig, keys: KeySet, policy: IntrospectionPolicy, store: Store) {
  const jwks = createLocalJWKSet(publicJwks(keys));
  return async (ctx: Context): Promise<void> => {
    const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
    const body = ctx.body as { error?: unknown } | undefined;
    if (oidc?.route !== 'introspection' || ctx.status !== 400 || body?.error !== 'unsupported_token_type' || !oidc.client) return;
    const token = oidc.params?.token;
    let payload: JWTPayload | undefined;
    try {
      if (typeof token === 'string') {
        ({ payload } = await jwtVerify(token, jwks, { issuer: config.issuer, typ: 'at+jwt', algorithms: [...config.keys.signing], requiredClaims: ['sub', 'aud', 'exp', 'client_id'] }));
      }
    } catch {
      payload = undefined;
    }
    if (payload && !(await issuedUnderLiveGrant(oidc, store, payload))) payload = undefined;
    ctx.status = 200;
    const clientId = typeof payload?.client_id === 'string' ? payload.client_id : undefined;
    const allowed = payload !== undefined && policy.allows(oidc.client.clientId, { kind: 'AccessToken', clientId, aud: payload.aud });
    ctx.body = allowed ? merged(payload, { active: true, token_type: 'Bearer' }) : { ...INACTIVE };
  };
}

/** A user's JWT access token is live only while its grant (and any grant it was exchanged from) is. */
async function issuedUnderLiveGrant(oidc: KoaContextWithOIDC['oidc'], store: Store, payload: JWTPayload): Promise<boolean> {
  if (typeof payload.jti !== 'string') return false;
  const record = await accessTokenGrant(store, payload.jti);
  // A client's own (client_credentials) token has no record and no grant to end.
  if (!record) return payload.sub === payload.client_id;
  if (!record.grantId) return true;
  return grantAlive(store, record.grantId, async (grantId) => Boolean(await oidc.provider.Grant.find(grantId)));
}
