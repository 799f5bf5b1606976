// The user a preview decides for: a JSON file of mapped claims (or a trace's `identity`), or an
// upstream id_token mapped with that upstream's own claim mapping and subject (upstream/claims.ts).
// An id_token is verified against the upstream's JWKS when it can be; otherwise it is only decoded,
// and the preview says so.
import { readFileSync } from 'node:fs';

import { decodeJwt } from 'jose';

import { mapClaims, stableSubject } from '../upstream/claims.ts';
import { canVerify } from '../upstream/connector.ts';
import type { Upstreams } from '../upstream/index.ts';
import type { EvaluationRequest } from './evaluate.ts';
import { EvaluationInputError } from './evaluate.ts';

export type PreviewIdentity = NonNullable<EvaluationRequest['identity']>;

/** What the preview tells about where its identity came from (printed before the tokens). */
export interface IdentityInput {
  readonly identity: PreviewIdentity;
  readonly notes: readonly string[];
}

/**
 * `{ "claims": {...}, "upstream"?, "upstreamSubject"?, "sub"?, "attrs"?, "acr"?, "amr"? }` (a
 * trace's identity), or a flat object of mapped claims; `--upstream` and `--sub` complete either.
 */
export function identityFromClaimsFile(path: string, options: { upstream?: string; sub?: string }): IdentityInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new EvaluationInputError(`${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new EvaluationInputError(`${path}: expected a JSON object of claims`);
  const file = parsed as Record<string, unknown>;
  const wrapped = typeof file.claims === 'object' && file.claims !== null && !Array.isArray(file.claims);
  const claims = (wrapped ? file.claims : file) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const upstream = options.upstream ?? (wrapped ? text(file.upstream) : undefined);
  const upstreamSubject = (wrapped ? text(file.upstreamSubject) : undefined) ?? text(claims.sub);
  const sub = options.sub ?? (wrapped ? text(file.sub) : undefined);
  const identity: PreviewIdentity = {
    claims: Object.fromEntries(Object.entries(claims).filter(([name]) => name !== 'sub' || wrapped)),
    ...(upstream ? { upstream } : {}), ...(upstreamSubject ? { upstreamSubject } : {}), ...(sub ? { sub } : {}),
    ...(wrapped && typeof file.attrs === 'object' && file.attrs !== null ? { attrs: file.attrs as Record<string, unknown> } : {}),
    ...(wrapped && typeof file.acr === 'string' ? { acr: file.acr } : {}),
    ...(wrapped && Array.isArray(file.amr) ? { amr: file.amr.map(String) } : {}),
  };
  return { identity, notes: [`user: the claims in ${path}, taken as already mapped (no upstream sign-in)`] };
}

/** An upstream id_token, mapped as a sign-in through `upstream` would map it. */
export async function identityFromIdToken(path: string, upstream: string | undefined, upstreams: Upstreams): Promise<IdentityInput> {
  const token = readFileSync(path, 'utf8').trim();
  let payload: Record<string, unknown>;
  try {
    payload = decodeJwt(token);
  } catch {
    throw new EvaluationInputError(`${path}: not a JWT`);
  }
  const id = upstream ?? upstreams.all.find((c) => upstreams.settings(c.id)?.issuer === payload.iss)?.id;
  const settings = id === undefined ? undefined : upstreams.settings(id);
  const connector = id === undefined ? undefined : upstreams.get(id);
  if (!settings || !connector) throw new EvaluationInputError(`no upstream ${upstream ?? `with issuer ${String(payload.iss)}`} in this configuration (name it with --upstream)`);
  const notes: string[] = [];
  if (canVerify(connector)) {
    try {
      // Any age: a preview may use an old sign-in's id_token; signature, issuer and audience still hold.
      payload = { ...(await connector.verifyIdToken(token, { audiences: [settings.clientId], maxAge: Number.MAX_SAFE_INTEGER })).payload };
      notes.push(`user: the id_token in ${path}, signature VERIFIED against the JWKS of upstream ${id}, mapped with its claim mapping`);
    } catch (err) {
      notes.push(`user: the id_token in ${path}, signature NOT VERIFIED (${(err as Error).message}); decoded and mapped with upstream ${id}'s claim mapping`);
    }
  } else {
    notes.push(`user: the id_token in ${path}, signature NOT VERIFIED (upstream ${id} is OAuth 2.0 only); decoded and mapped with its claim mapping`);
  }
  notes.push('user: claims a sign-in would add from the upstream\'s userinfo endpoint are not included');
  let upstreamSubject: string;
  try {
    upstreamSubject = stableSubject(payload, settings.subject);
  } catch (err) {
    throw new EvaluationInputError(`${path}: ${(err as Error).message}`);
  }
  const identity: PreviewIdentity = {
    upstream: id, upstreamSubject, claims: mapClaims(payload, settings.claims),
    ...(typeof payload.acr === 'string' ? { acr: payload.acr } : {}),
    ...(Array.isArray(payload.amr) ? { amr: payload.amr.map(String) } : {}),
    ...(typeof payload.auth_time === 'number' ? { authTime: payload.auth_time } : {}),
  };
  return { identity, notes };
}
