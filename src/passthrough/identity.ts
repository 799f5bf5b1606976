// The upstream id_token of a passthrough code exchange or refresh, verified by the upstream's
// connector (signature against its JWKS, `alg` asymmetric only so `none` never passes, iss with
// Entra's `{tenantid}` template, aud = the client, exp, iat) and turned into Baton's identity.
import { accountIdFor } from '../provider/accounts.ts';
import { UpstreamError } from '../upstream/connector.ts';
import type { PassthroughEntry } from './entries.ts';
import { invalidGrant, unavailable } from './errors.ts';

/** The id_token was just issued for this exchange: older ones are not accepted. */
const MAX_ID_TOKEN_AGE_SECONDS = 10 * 60;

export interface PassthroughIdentity {
  /** Baton's `sub`: `{upstream}:{stable upstream subject}`. */
  readonly accountId: string;
  readonly upstreamSubject: string;
  /** Claims mapped to Baton's names. */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly nonce?: string;
  readonly authTime?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
}

export async function verifyUpstreamIdToken(entry: PassthroughEntry, idToken: string, clientId: string): Promise<PassthroughIdentity> {
  let verified: Awaited<ReturnType<PassthroughEntry['connector']['verifyIdToken']>>;
  try {
    verified = await entry.connector.verifyIdToken(idToken, { audiences: [clientId], maxAge: MAX_ID_TOKEN_AGE_SECONDS });
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    if (err.kind === 'unreachable') throw unavailable('the upstream keys could not be fetched to verify its id_token; try again later');
    throw invalidGrant(`the upstream id_token was refused: ${err.message}`);
  }
  // typ, azp (OIDC Core section 3.1.3.7 steps 4 and 5) and iat were checked with the signature (upstream/id-token-kind.ts).
  const { payload } = verified;
  return {
    accountId: accountIdFor(entry.settings.id, verified.subject),
    upstreamSubject: verified.subject,
    claims: verified.claims,
    nonce: typeof payload.nonce === 'string' ? payload.nonce : undefined,
    // auth_time 0 (seen on real IdPs) is no information: the token's iat is the closest truth.
    authTime: verified.authTime ?? (typeof payload.iat === 'number' ? payload.iat : undefined),
    acr: verified.acr,
    amr: verified.amr,
  };
}
