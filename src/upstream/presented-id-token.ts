// Verifying an upstream id_token presented outside a sign-in (RFC 8693 token exchange, passthrough)
// with jose: signature against the upstream's JWKS (cached per jwks_uri, refetched on an unknown kid
// at most every 30 s), iss, aud, exp, iat no older than the allowed age, then what makes it an
// id_token for these audiences (id-token-kind.ts). The connector adds its own rules.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';

import { UpstreamError, type IdTokenCheck } from './connector.ts';
import { checkIdTokenKind, ID_TOKEN_CLOCK_TOLERANCE } from './id-token-kind.ts';

/** id_tokens are signed with the upstream's published keys: never `none` or a shared secret. */
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const REFETCH_COOLDOWN_MS = 30_000;

export class PresentedIdTokens {
  readonly #keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(
    private readonly upstream: string,
    private readonly timeoutMs: number,
    private readonly insecure: boolean,
  ) {}

  async verify(token: string, jwksUri: string, issuer: string, check: IdTokenCheck): Promise<JWTPayload> {
    let verified: JWTPayload;
    try {
      const { payload } = await jwtVerify(token, this.#keySet(jwksUri), {
        issuer,
        audience: [...check.audiences],
        maxTokenAge: check.maxAge,
        clockTolerance: ID_TOKEN_CLOCK_TOLERANCE,
        algorithms: ASYMMETRIC_ALGS,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
      });
      verified = payload;
    } catch (err) {
      if (jwksUnavailable(err)) throw new UpstreamError('unreachable', 'the upstream JWKS could not be fetched', undefined, { cause: err });
      const reason = err instanceof joseErrors.JWTClaimValidationFailed ? `${err.claim} ${err.reason}` : (err as { code?: string }).code ?? 'invalid';
      throw new UpstreamError('invalid_response', `the id_token failed validation (${reason})`, undefined, { cause: err });
    }
    checkIdTokenKind(token, verified, check.audiences);
    return verified;
  }

  #keySet(uri: string): ReturnType<typeof createRemoteJWKSet> {
    let keySet = this.#keySets.get(uri);
    if (!keySet) {
      const url = new URL(uri);
      if (url.protocol !== 'https:' && !this.insecure) throw new UpstreamError('invalid_response', `the jwks_uri of ${this.upstream} is not https`);
      keySet = createRemoteJWKSet(url, { timeoutDuration: this.timeoutMs, cooldownDuration: REFETCH_COOLDOWN_MS });
      this.#keySets.set(uri, keySet);
    }
    return keySet;
  }
}

/** The key set could not be fetched (timeout, network, non-200 answer): the issuer, not the token, is at fault. */
function jwksUnavailable(err: unknown): boolean {
  return err instanceof joseErrors.JWKSTimeout || err instanceof TypeError || (err as { code?: string } | null)?.code === 'ERR_JOSE_GENERIC';
}
