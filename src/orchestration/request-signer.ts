// Signs the short-lived JWT that authenticates Baton to an authorizer (aud = the authorizer's id,
// iss = Baton's issuer, 60 s, unique jti), with Baton's current signing key, so an authorizer
// verifies it against Baton's published JWKS. Signed with node:crypto on a KeyObject imported once
// per key (keys/node-signing-key.ts, as for tokens): a fan-out signs one JWT per authorizer, and
// jose's WebCrypto path costs about twice the CPU per signature.
import { randomUUID } from 'node:crypto';

import type { SigningAlgorithm } from '../config/schema.ts';
import { activeSigningKey, type KeySet, type SigningKey } from '../keys/keyset.ts';
import { NodeSigningKey } from '../keys/node-signing-key.ts';
import { merged } from '../lang/merged.ts';

const LIFETIME_SECONDS = 60;

export type RequestSigner = (audience: string, payload: Record<string, unknown>) => Promise<string>;

const base64url = (json: unknown): string => Buffer.from(JSON.stringify(json)).toString('base64url');

/** `now` picks the signing key (activation, retirement); iat and exp follow the real time. */
export function requestSigner(issuer: string, alg: SigningAlgorithm, currentKeys: () => KeySet, now: () => number = Date.now): RequestSigner {
  const imported = new Map<string, { signer: NodeSigningKey; header: string }>();
  // The active key is a function of the key set (replaced, never mutated, on a change) and the
  // second: worked out once per second, not once per request JWT.
  let chosen: { set: KeySet; second: number; key: SigningKey | undefined } | undefined;
  return async (audience, payload) => {
    // The key that signs tokens now: a rotated-in key still inside its activation delay is not yet
    // published by every instance, so an authorizer fetching another instance's JWKS would miss it.
    const set = currentKeys();
    const second = Math.floor(now() / 1000);
    if (chosen?.set !== set || chosen.second !== second) chosen = { set, second, key: activeSigningKey(set, alg, second) };
    const { key } = chosen;
    if (!key) throw new Error(`no current ${alg} signing key`);
    let signing = imported.get(key.kid);
    if (!signing) {
      signing = { signer: new NodeSigningKey(merged(key.jwk, { kid: key.kid, alg })), header: base64url({ alg, kid: key.kid, typ: 'JWT' }) };
      imported.set(key.kid, signing);
    }
    const iat = Math.floor(Date.now() / 1000);
    // The members of `{ ...payload, iss, ... }` in the same order (a payload member of the same name
    // keeps its place, takes the new value), built without a spread: Node 20's V8 adds each member
    // after a spread on a slow path (~1.2 µs apiece, a sixth of the signature's own CPU). The payload
    // is Baton's own literal (call.ts: sub, client_id); a `__proto__` member would not be copied.
    const claims: Record<string, unknown> = Object.assign({}, payload);
    claims.iss = issuer;
    claims.aud = audience;
    claims.iat = iat;
    claims.exp = iat + LIFETIME_SECONDS;
    claims.jti = randomUUID();
    const input = `${signing.header}.${base64url(claims)}`;
    return `${input}.${signing.signer.sign(Buffer.from(input)).toString('base64url')}`;
  };
}
