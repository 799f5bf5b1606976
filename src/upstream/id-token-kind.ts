// What makes a verified JWT an upstream id_token for this client, beyond signature, iss, aud and exp
// (OIDC Core section 3.1.3.7): not explicitly typed as another kind of JWT (RFC 8725 section 3.11:
// an `at+jwt` access token is not an id_token), an `azp` naming this client (required with several
// audiences), and an `iat` that is not in the future. Every path accepting an upstream id_token runs it.
import { decodeProtectedHeader } from 'jose';

import { UpstreamError } from './connector.ts';

/** Seconds of clock difference tolerated with an upstream (iat, exp). */
export const ID_TOKEN_CLOCK_TOLERANCE = 30;

/** `typ` values an id_token may carry (RFC 7519 section 5.1); absent is allowed too. */
const ID_TOKEN_TYPES = new Set(['jwt', 'application/jwt']);

/**
 * Throws UpstreamError('invalid_response') unless `token` (already verified, `claims` its payload)
 * is an id_token issued to one of `clients`.
 */
export function checkIdTokenKind(token: string, claims: Readonly<Record<string, unknown>>, clients: readonly string[], now = Math.floor(Date.now() / 1000)): void {
  let typ: unknown;
  try {
    typ = decodeProtectedHeader(token).typ;
  } catch (err) {
    throw refused('its header cannot be read', err);
  }
  if (typ !== undefined && (typeof typ !== 'string' || !ID_TOKEN_TYPES.has(typ.toLowerCase()))) throw refused(`typ ${String(typ).slice(0, 40)} is not an id_token`);
  const several = Array.isArray(claims.aud) && claims.aud.length > 1;
  if ((several || claims.azp !== undefined) && (typeof claims.azp !== 'string' || !clients.includes(claims.azp))) throw refused('azp is not this client');
  if (typeof claims.iat !== 'number' || claims.iat > now + ID_TOKEN_CLOCK_TOLERANCE) throw refused('iat is in the future');
}

function refused(why: string, cause?: unknown): UpstreamError {
  return new UpstreamError('invalid_response', `the id_token failed validation (${why})`, undefined, cause === undefined ? undefined : { cause });
}
