// Who set each claim of an issued token. Access tokens (every claim, listed where oidc-provider
// finishes a JWT access token, or from the extra claims of an opaque one): a claim the
// buildAccessTokenClaims hook built, an authorizer's (its trace step lists the claims it placed),
// else Baton's own. id_tokens: the hook's, Baton's own protocol claims, else the upstream's
// mapped claims (oidc-provider filters them by scope).
import type { KoaContextWithOIDC } from 'oidc-provider';

import { currentTrace } from './trace-context.ts';
import { PER_TOKEN_CLAIMS, type TraceActor } from './trace.ts';

const HOOK_CLAIMS = 'batonHookClaims';
const NONE: readonly string[] = [];
/** Claims of an id_token that Baton (oidc-provider) sets itself, whatever the upstream says. */
const ID_TOKEN_OWN: ReadonlySet<string> = new Set(['sub', 'iss', 'aud', 'azp', 'iat', 'exp', 'auth_time', 'nonce', 'acr', 'amr', 'sid', 'at_hash', 'c_hash', 's_hash']);
/** Added by the signer after IdToken#payload. */
const ID_TOKEN_SIGNED = ['iss', 'aud', 'iat', 'exp'];

/** Remembers the claims the buildAccessTokenClaims hook built for this resource (recorded with the token). */
export function noteHookClaims(ctx: KoaContextWithOIDC, resource: string | undefined, names: readonly string[]): void {
  if (!currentTrace()) return;
  ((ctx.state[HOOK_CLAIMS] ??= {}) as Record<string, readonly string[]>)[resource ?? ''] = names;
}

/** Every claim of one access token and who set it. */
export function recordAccessTokenClaims(ctx: KoaContextWithOIDC | undefined, resource: string | undefined, payload: Readonly<Record<string, unknown>>): void {
  const trace = currentTrace();
  if (!trace) return;
  const hooked = ((ctx?.state?.[HOOK_CLAIMS] as Record<string, readonly string[]> | undefined)?.[resource ?? '']) ?? NONE;
  // Who placed which claim: authorizers (enforced ones, at this resource) by claim name.
  let placedBy: Map<string, string> | undefined;
  for (const step of trace.steps) {
    if (step.kind !== 'authorizer' || step.shadow || step.resource !== resource || !step.claims) continue;
    placedBy ??= new Map();
    for (const claim of step.claims) if (!placedBy.has(claim)) placedBy.set(claim, step.authorizer);
  }
  for (const claim in payload) {
    const value = payload[claim];
    // A member set to undefined is not in the token (JSON drops it).
    if (value === undefined && !PER_TOKEN_CLAIMS.has(claim)) continue;
    const authorizer = placedBy?.get(claim);
    const by: TraceActor = hooked.includes(claim) ? 'hook:buildAccessTokenClaims' : authorizer ? `authorizer:${authorizer}` : 'baton';
    trace.tokenClaim('access_token', resource, claim, by, value);
  }
}

/** Every claim of one id_token (the payload before signing, plus what the signer adds) and who set it. */
export function recordIdTokenClaims(payload: Readonly<Record<string, unknown>>, hookClaims: readonly string[], signed: { iss?: string; aud?: string } = {}): void {
  const trace = currentTrace();
  if (!trace) return;
  const hooked = new Set(hookClaims);
  for (const [claim, value] of Object.entries(payload)) {
    const by: TraceActor = hooked.has(claim) ? 'hook:buildIDTokenClaims' : ID_TOKEN_OWN.has(claim) ? 'baton' : 'upstream';
    trace.claim({ token: 'id_token', claim, by, value });
  }
  for (const claim of ID_TOKEN_SIGNED) {
    if (claim in payload) continue;
    const value = claim === 'iss' || claim === 'aud' ? signed[claim] : undefined;
    trace.claim({ token: 'id_token', claim, by: 'baton', ...(value === undefined ? {} : { value }) });
  }
}
