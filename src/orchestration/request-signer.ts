// Signs the short-lived JWT that authenticates Baton to an authorizer (aud = the authorizer's id,
// iss = Baton's issuer, 60 s, unique jti), with Baton's current signing key, so an authorizer
// verifies it against Baton's published JWKS.
import { randomUUID } from 'node:crypto';

import { importJWK, SignJWT, type JWK } from 'jose';

import type { SigningAlgorithm } from '../config/schema.ts';
import { activeSigningKey, type KeySet } from '../keys/keyset.ts';

const LIFETIME_SECONDS = 60;

export type RequestSigner = (audience: string, payload: Record<string, unknown>) => Promise<string>;

export function requestSigner(issuer: string, alg: SigningAlgorithm, currentKeys: () => KeySet, now: () => number = Date.now): RequestSigner {
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
  return async (audience, payload) => {
    // The key that signs tokens now: a rotated-in key still inside its activation delay is not yet
    // published by every instance, so an authorizer fetching another instance's JWKS would miss it.
    const key = activeSigningKey(currentKeys(), alg, Math.floor(now() / 1000));
    if (!key) throw new Error(`no current ${alg} signing key`);
    let privateKey = imported.get(key.kid);
    if (!privateKey) {
      privateKey = importJWK(key.jwk as JWK, alg);
      imported.set(key.kid, privateKey);
    }
    return new SignJWT(payload)
      .setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${LIFETIME_SECONDS}s`)
      .setJti(randomUUID())
      .sign(await privateKey);
  };
}
