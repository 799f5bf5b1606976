// RFC 8693 section 2.1 and 3: validating the subject and actor tokens. Each kind is verified
// against its issuer's keys (an upstream's JWKS, Baton's own keys, a trusted issuer's JWKS); id_tokens
// and external JWTs, as subject or as actor, are single-use (section 2.1: the server decides what it
// accepts), by `jti`, or by their signed content when there is none (several IdPs issue id_tokens without `jti`).
// Section 2.2.2: a token refused for any reason is invalid_request.
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, type JWTPayload } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import type { BatonConfig } from '../config/schema.ts';
import type { TokenExchangePolicy } from '../config/token-exchange.ts';
import { publicJwks, type KeySet } from '../keys/keyset.ts';
import { merged } from '../lang/merged.ts';
import { accessTokenGrant, CLOCK_TOLERANCE_SECONDS as BATON_CLOCK_TOLERANCE, grantAlive } from '../provider/grant-lineage.ts';
import type { Store } from '../storage/store.ts';
import { canVerify, UpstreamError, type VerifiedIdToken } from '../upstream/connector.ts';
import type { Upstreams } from '../upstream/index.ts';
import { IssuerTemplate } from '../upstream/issuer-template.ts';
import { isCanonicalCompact, replayIdentity } from './compact-jws.ts';
import { verifyJwt } from './jwt-verify.ts';

const REPLAY_KIND = 'token-exchange-replay';
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const CLOCK_TOLERANCE_SECONDS = 30;

/** An upstream the dependency, not the request, is at fault: 503 rather than invalid_request. */
export class TemporarilyUnavailable extends errors.CustomOIDCProviderError {
  constructor(description: string) {
    super('temporarily_unavailable', description);
    Object.assign(this, { statusCode: 503, status: 503 });
  }
}

export type TokenName = 'subject_token' | 'actor_token';

export interface VerifiedUpstreamToken extends VerifiedIdToken {
  readonly upstream: string;
}

/** A verified Baton access token: its claims, and the grant it belongs to (none for a client's own token). */
export interface VerifiedAccessToken {
  readonly payload: JWTPayload & { sub: string };
  readonly grantId?: string;
}

export interface TokenVerifiers {
  upstreamIdToken(token: string, policy: TokenExchangePolicy): Promise<VerifiedUpstreamToken>;
  /**
   * A Baton access token (JWT verified locally, opaque looked up), refused unless the grant it
   * came from (and any grant that one was exchanged from) still exists.
   */
  batonAccessToken(ctx: KoaContextWithOIDC, token: string, what: TokenName): Promise<VerifiedAccessToken>;
  trustedJwt(token: string, policy: TokenExchangePolicy, what: TokenName): Promise<JWTPayload & { iss: string; sub: string }>;
  /**
   * Marks single-use tokens used, whatever their spelling, all or none: invalid_request naming the
   * first one that already was (as subject or as actor), and the others released.
   */
  spend(tokens: readonly SingleUseToken[]): Promise<void>;
}

/** A verified id_token or trusted issuer's JWT, presented as subject or actor: usable once. */
export interface SingleUseToken {
  readonly what: TokenName;
  readonly issuer: string;
  readonly token: string;
  readonly payload: JWTPayload;
}

export interface VerifierDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly upstreams: Upstreams;
  /** Baton's signing keys (current and retired), for its own JWT access tokens. */
  readonly keys: KeySet;
}

export function tokenVerifiers({ config, store, upstreams, keys }: VerifierDeps): TokenVerifiers {
  const batonKeys = createLocalJWKSet(publicJwks(keys));
  const trustedKeys = new Map(config.tokenExchange.trustedIssuers.map((t) => [t.issuer, merged(t, { keys: createRemoteJWKSet(new URL(t.jwksUri), { cooldownDuration: 30_000 }) })]));

  return {
    async upstreamIdToken(token, policy) {
      const iss = unverifiedIssuer(token, 'subject_token');
      const upstream = policy.upstreams.find((id) => IssuerTemplate.names(upstreams.settings(id)?.issuer, iss));
      const connector = upstream ? upstreams.get(upstream) : undefined;
      if (!upstream || !connector || !canVerify(connector)) throw new errors.InvalidRequest('subject_token is not issued by an upstream this client may exchange');
      const audiences = [upstreams.settings(upstream)!.clientId, ...policy.upstreamAudiences];
      try {
        return { upstream, ...(await connector.verifyIdToken(token, { audiences, maxAge: policy.maxAge })) };
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        if (err.kind === 'unreachable') throw new TemporarilyUnavailable(`${connector.name} could not be reached to verify the subject_token`);
        throw new errors.InvalidRequest(`subject_token is invalid: ${err.message}`);
      }
    },

    async batonAccessToken(ctx, token, what) {
      const exists = async (grantId: string) => Boolean(await ctx.oidc.provider.Grant.find(grantId));
      const ended = () => new errors.InvalidRequest(`${what} belongs to a grant that has ended (logout, revocation or refresh token reuse)`);
      if (token.includes('.')) {
        const payload = withStringSubject(await verified(() => verifyJwt(token, batonKeys, {
          issuer: config.issuer, typ: 'at+jwt', algorithms: [...config.keys.signing], clockTolerance: BATON_CLOCK_TOLERANCE, requiredClaims: ['sub', 'exp', 'client_id', 'jti'],
        }, CANONICAL), what, token), what);
        // Every user token Baton issues has a record naming its grant (grant-lineage.ts); a client's own has none.
        const record = await accessTokenGrant(store, String(payload.jti));
        if (!record) {
          if (payload.sub === payload.client_id) return { payload };
          throw new errors.InvalidRequest(`${what} is not an access token Baton knows (expired, or issued before this version)`);
        }
        if (record.grantId && !(await grantAlive(store, record.grantId, exists))) throw ended();
        return { payload, grantId: record.grantId };
      }
      // Opaque: only Baton knows it; an unknown, expired or revoked one is not found.
      const { AccessToken, ClientCredentials } = ctx.oidc.provider;
      const found = (await AccessToken.find(token)) ?? (await ClientCredentials.find(token));
      if (!found || found.isExpired) throw new errors.InvalidRequest(`${what} is invalid, expired or revoked`);
      const { accountId, grantId } = found as { accountId?: string; grantId?: string };
      if (grantId && !(await grantAlive(store, grantId, exists))) throw ended();
      const payload = merged(found.extra, { iss: config.issuer, sub: String(accountId ?? found.clientId), client_id: found.clientId, scope: found.scope, exp: found.exp, iat: found.iat, jti: found.jti });
      return { payload, grantId };
    },

    async trustedJwt(token, policy, what) {
      const iss = unverifiedIssuer(token, what);
      const trusted = iss ? trustedKeys.get(iss) : undefined;
      if (!iss || !trusted || !policy.issuers.includes(iss)) throw new errors.InvalidRequest(`${what} is not issued by an issuer this client may exchange`);
      const payload = await verified(() => verifyJwt(token, trusted.keys, {
        issuer: trusted.issuer, audience: trusted.audiences, maxTokenAge: policy.maxAge, clockTolerance: CLOCK_TOLERANCE_SECONDS,
        algorithms: ASYMMETRIC_ALGS, requiredClaims: ['sub', 'exp', 'iat'],
      }, CANONICAL), what, token, CANONICAL);
      return withStringSubject(payload, what) as JWTPayload & { iss: string; sub: string };
    },

    async spend(tokens) {
      const now = Math.floor(Date.now() / 1000);
      const spent: string[] = [];
      try {
        for (const { what, issuer, token, payload } of tokens) {
          // One key space for both roles: a token spent as subject cannot come back as actor, nor the reverse.
          const key = replayIdentity(issuer, token, payload.jti);
          // Remembered for as long as the token could still be accepted.
          const expiresIn = Math.max(1, (payload.exp ?? now) - now + CLOCK_TOLERANCE_SECONDS);
          if (!(await store.putRecord(REPLAY_KIND, key, { usedAt: now }, { expectedVersion: 0, expiresIn }))) throw new errors.InvalidRequest(`${what} was already exchanged`);
          spent.push(key);
        }
      } catch (err) {
        // A refused request spends nothing: a replayed actor token does not burn the subject token with it.
        await Promise.all(spent.map((key) => store.deleteRecord(REPLAY_KIND, key).catch(() => undefined)));
        throw err;
      }
    },
  };
}

/**
 * Passed to `verified` by a caller that has held the token to canonical form already (unverifiedIssuer),
 * and to `verifyJwt` inside `verified`, which holds it there before the verification runs.
 */
const CANONICAL = true;

/**
 * jose verification failures are invalid_request naming what failed; an unreachable JWKS is 503.
 * The verification's own promise, continued (no async frame of its own: one promise fewer per token).
 */
function verified(run: () => Promise<{ payload: JWTPayload }>, what: TokenName, token: string, canonical = false): Promise<JWTPayload> {
  // jose decodes several spellings of one token; only the canonical one is accepted (compact-jws.ts).
  if (!canonical && !isCanonicalCompact(token)) return Promise.reject(new errors.InvalidRequest(`${what} is not in canonical JWS compact serialization (unpadded base64url)`));
  return run().then(({ payload }) => payload, (err: unknown) => {
    if (jwksUnavailable(err)) throw new TemporarilyUnavailable(`the keys to verify the ${what} could not be fetched`);
    const reason = err instanceof joseErrors.JWTClaimValidationFailed ? `${err.claim} ${err.reason}` : (err as { code?: string }).code ?? 'invalid';
    throw new errors.InvalidRequest(`${what} is invalid (${reason})`);
  });
}

/**
 * RFC 7519 section 4.1.2: `sub` is a string (jose checks that it is present, not its type). Anything
 * else would become a party of the delegation (`act.sub` in the issued token) and a log field.
 */
function withStringSubject(payload: JWTPayload, what: TokenName): JWTPayload & { sub: string } {
  if (typeof payload.sub !== 'string') throw new errors.InvalidRequest(`${what} is invalid ("sub" claim must be a string)`);
  return payload as JWTPayload & { sub: string };
}

/** As jose's strictDecoder (decodeJwt, the claims check): invalid UTF-8 throws, a leading BOM is dropped. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function unverifiedIssuer(token: string, what: TokenName): string | undefined {
  if (!isCanonicalCompact(token)) throw new errors.InvalidRequest(`${what} is not a JWT in canonical compact serialization (unpadded base64url)`);
  // What jose's decodeJwt reads (its strict UTF-8 decoding too), the base64url by Buffer, which
  // decodes a canonical segment alike: a peek at `iss` that picks the key set; jose verifies the
  // whole token next.
  let claims: unknown;
  try {
    claims = JSON.parse(UTF8.decode(Buffer.from(token.slice(token.indexOf('.') + 1, token.lastIndexOf('.')), 'base64url')));
  } catch {
    claims = undefined;
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new errors.InvalidRequest(`${what} is not a JWT`);
  const { iss } = claims as { iss?: unknown };
  return typeof iss === 'string' ? iss : undefined;
}

/** The key set could not be fetched (timeout, network, non-200 answer): the issuer, not the token, is at fault. */
function jwksUnavailable(err: unknown): boolean {
  return err instanceof joseErrors.JWKSTimeout || err instanceof TypeError || (err as { code?: string } | null)?.code === 'ERR_JOSE_GENERIC';
}
