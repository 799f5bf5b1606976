// The JWS algorithms Baton can hold a signing key for (keys.signing and every per-client,
// per-resource or per-passthrough choice among them).
export const SIGNING_ALGORITHMS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
