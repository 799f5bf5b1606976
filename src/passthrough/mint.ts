// Baton's tokens under a passthrough issuer, signed with Baton's current signing key: the access
// token as an RFC 9068 JWT (`typ: at+jwt`), the id_token per OpenID Connect Core section 2 with
// `at_hash` (section 3.1.3.6) over that access token. Claims the caller adds never replace the
// registered ones.
import { createHash, randomUUID } from 'node:crypto';

import { importJWK, SignJWT, type JWK } from 'jose';

import type { SigningAlgorithm } from '../config/schema.ts';
import { activeSigningKey, type KeySet } from '../keys/keyset.ts';
import { merged } from '../lang/merged.ts';

export interface SignIn {
  /** Baton's `sub`. */
  readonly sub: string;
  readonly authTime?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
}

export interface AccessTokenInput {
  readonly issuer: string;
  readonly clientId: string;
  readonly audience: string;
  readonly scope: string;
  /** Seconds. */
  readonly ttl: number;
  readonly signIn: SignIn;
  /** Authorizer and hook claims. */
  readonly extra: Readonly<Record<string, unknown>>;
  /** The resource's own algorithm, when it has one; else the passthrough's. */
  readonly alg?: SigningAlgorithm;
}

export interface IdTokenInput {
  readonly issuer: string;
  readonly clientId: string;
  readonly ttl: number;
  readonly signIn: SignIn;
  /** Carried from the upstream id_token at the code exchange; absent on refresh. */
  readonly nonce?: string;
  readonly accessToken: string;
  /** Mapped user claims and hook claims. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Hash per JWS algorithm for at_hash: SHA-2 of the signature's size; EdDSA (Ed25519) uses SHA-512. */
const HASHES: Readonly<Record<SigningAlgorithm, string>> = { ES256: 'sha256', RS256: 'sha256', PS256: 'sha256', ES384: 'sha384', EdDSA: 'sha512' };

export class Minter {
  readonly #keys: () => KeySet;
  readonly #alg: SigningAlgorithm;
  readonly #clock: () => number;
  readonly #imported = new Map<string, Promise<CryptoKey | Uint8Array>>();

  constructor(keys: () => KeySet, alg: SigningAlgorithm, clock: () => number) {
    this.#keys = keys;
    this.#alg = alg;
    this.#clock = clock;
  }

  async accessToken(input: AccessTokenInput): Promise<string> {
    const now = this.#now();
    const { signIn } = input;
    return this.#sign(input.alg ?? this.#alg, 'at+jwt', merged(input.extra, {
      iss: input.issuer, sub: signIn.sub, aud: input.audience, client_id: input.clientId, scope: input.scope,
      iat: now, exp: now + input.ttl, jti: randomUUID(),
      ...session(signIn),
    }));
  }

  async idToken(input: IdTokenInput): Promise<string> {
    const now = this.#now();
    return this.#sign(this.#alg, 'JWT', merged(input.claims, {
      iss: input.issuer, sub: input.signIn.sub, aud: input.clientId, iat: now, exp: now + input.ttl,
      ...(input.nonce ? { nonce: input.nonce } : {}),
      at_hash: this.#atHash(input.accessToken),
      ...session(input.signIn),
    }));
  }

  #now(): number {
    return Math.floor(this.#clock() / 1000);
  }

  #atHash(accessToken: string): string {
    const digest = createHash(HASHES[this.#alg]).update(accessToken).digest();
    return digest.subarray(0, digest.length / 2).toString('base64url');
  }

  async #sign(alg: SigningAlgorithm, typ: string, payload: Record<string, unknown>): Promise<string> {
    const key = activeSigningKey(this.#keys(), alg, this.#now());
    if (!key) throw new Error(`no active ${alg} signing key`);
    let imported = this.#imported.get(key.kid);
    if (!imported) {
      imported = importJWK(key.jwk as JWK, alg);
      this.#imported.set(key.kid, imported);
    }
    return new SignJWT(payload).setProtectedHeader({ alg, kid: key.kid, typ }).sign(await imported);
  }
}

function session(signIn: SignIn): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (signIn.authTime !== undefined) claims.auth_time = signIn.authTime;
  if (signIn.acr !== undefined) claims.acr = signIn.acr;
  if (signIn.amr !== undefined) claims.amr = [...signIn.amr];
  return claims;
}
