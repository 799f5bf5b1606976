// The JWS algorithms Baton can hold a signing key for (keys.signing and every per-client,
// per-resource or per-passthrough choice among them).
export const SIGNING_ALGORITHMS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/**
 * The id_token algorithm of a client that names none: RS256, the default of OpenID Connect
 * Registration section 2 (`id_token_signed_response_alg`) and the one every OP must support (Core
 * section 15.1), whenever Baton holds an RS256 key; otherwise the first of `keys.signing`.
 */
export function defaultIdTokenAlgorithm(signing: readonly SigningAlgorithm[]): SigningAlgorithm {
  return signing.includes('RS256') ? 'RS256' : signing[0]!;
}
