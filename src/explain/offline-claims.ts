// The claims of the tokens an offline evaluation would issue, built as the token endpoint builds
// them: the id_token's scope claims through oidc-provider's own Claims mask, configured exactly as
// Baton configures it (provider/index.ts claimsConfiguration), and the RFC 9068 access token's
// members as oidc-provider's JWT format writes them (formats/jwt.js). Baton never signs these.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

import type { BatonConfig, ClientConfig, ResourceConfig } from '../config/schema.ts';
import { merged } from '../lang/merged.ts';
import { claimsConfiguration } from '../provider/index.ts';
import type { TraceActor } from './trace.ts';

/** A claim and who set it, in the order the token lists it. */
export type Claims = Record<string, unknown>;
export type Origins = Record<string, TraceActor>;

/** What a token would contain, with every claim's origin. */
export interface BuiltToken {
  readonly claims: Claims;
  readonly origins: Origins;
}

/** oidc-provider's scope-to-claims mask, outside any request: a provider that only ever filters claims. */
export class IdTokenClaims {
  readonly #provider: Provider;

  constructor(issuer: string) {
    // The client below is only what Claims#result reads (its subject type); Baton's clients are public-subject.
    // A throwaway key and a storage that is never used keep oidc-provider from warning about its development defaults.
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    this.#provider = new Provider(issuer, merged(claimsConfiguration(), {
      clients: [], jwks: { keys: [merged(jwk, { kid: 'preview', alg: 'ES256', use: 'sig' })] },
      adapter: NeverStored, features: { devInteractions: { enabled: false } },
    }) as ConstructorParameters<typeof Provider>[1]);
  }

  /** The account's claims the id_token releases for `scopes` (OIDC Core section 5.4), as oidc-provider filters them. */
  async released(client: ClientConfig, available: Claims, scopes: readonly string[]): Promise<Claims> {
    const metadata = { client_id: client.client_id, token_endpoint_auth_method: 'none', redirect_uris: ['https://preview.invalid/cb'], response_types: ['code'], grant_types: ['authorization_code'], id_token_signed_response_alg: 'ES256' };
    const instance = new (this.#provider.Client as unknown as new (metadata: Record<string, unknown>) => object)(metadata);
    const mask = new this.#provider.Claims(available, { client: instance } as unknown as ConstructorParameters<Provider['Claims']>[1]);
    mask.scope(scopes.join(' '));
    return await mask.result() as Claims;
  }
}

/** oidc-provider's storage for this filter-only provider: it stores nothing, ever. */
class NeverStored {
  async upsert(): Promise<void> { throw new Error('the preview provider stores nothing'); }
  async find(): Promise<undefined> { return undefined; }
  async findByUserCode(): Promise<undefined> { return undefined; }
  async findByUid(): Promise<undefined> { return undefined; }
  async consume(): Promise<void> { /* nothing stored */ }
  async destroy(): Promise<void> { /* nothing stored */ }
  async revokeByGrantId(): Promise<void> { /* nothing stored */ }
}

/** The id_token's members Baton (oidc-provider) sets itself when signing: iss, sub, aud, iat, exp. */
export function idTokenEnvelope(config: BatonConfig, clientId: string, sub: string, now: number): Claims {
  return { iss: config.issuer, sub, aud: clientId, iat: now, exp: now + config.ttl.idToken };
}

/**
 * An RFC 9068 access token as oidc-provider's JWT format writes it: the extra claims (authorizers,
 * then the buildAccessTokenClaims hook) first, Baton's own members over them.
 */
export function accessTokenClaims(config: BatonConfig, input: {
  readonly resource: ResourceConfig; readonly clientId: string; readonly sub: string | undefined;
  readonly scopes: readonly string[]; readonly clientCredentials: boolean; readonly now: number;
  readonly extra: Claims; readonly extraOrigins: Origins;
}): BuiltToken {
  const { resource, now } = input;
  const ttl = resource.accessTokenTTL ?? (input.clientCredentials ? config.ttl.clientCredentials : config.ttl.accessToken);
  const own: Claims = {
    jti: '(per token)',
    sub: input.sub ?? input.clientId,
    iat: now,
    exp: now + ttl,
    ...(input.scopes.length > 0 ? { scope: input.scopes.join(' ') } : {}),
    client_id: input.clientId,
    iss: config.issuer,
    aud: resource.audience ?? resource.id,
  };
  const claims: Claims = merged(input.extra, own);
  const origins: Origins = { ...input.extraOrigins };
  for (const name of Object.keys(own)) origins[name] = 'baton';
  return { claims, origins };
}
