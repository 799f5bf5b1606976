// The signing key set as data: generation, rotation and the order oidc-provider needs (the first
// key of an algorithm signs; every key listed is published in the JWKS). Pure except key generation.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

import type { SigningAlgorithm } from '../config/schema.ts';
import { merged } from '../lang/merged.ts';

export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** Private JWK (never leaves Baton except sealed at rest). */
  readonly jwk: JWK;
  /** Epoch seconds. */
  readonly createdAt: number;
  /** Set when a newer key of the same algorithm takes over; published until `retiredAt + retention`. */
  readonly retiredAt?: number;
  /**
   * A rotated-in key signs only from this time on: until then it is only published, so every
   * instance sharing the store publishes it before any instance signs with it.
   */
  readonly activatesAt?: number;
}

export interface KeySet {
  readonly keys: readonly SigningKey[];
}

export async function generateSigningKey(alg: SigningAlgorithm, now: number): Promise<SigningKey> {
  const options = alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true, modulusLength: 2048 };
  const { privateKey } = await generateKeyPair(alg, options);
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, alg, jwk: merged(jwk, { kid, alg, use: 'sig' }), createdAt: now };
}

/** Adds a key for every algorithm that has no current (unretired) key. Returns the same set when none is missing. */
export async function ensureAlgorithms(set: KeySet, algorithms: readonly SigningAlgorithm[], now: number): Promise<KeySet> {
  const missing = algorithms.filter((alg) => !set.keys.some((k) => k.alg === alg && k.retiredAt === undefined));
  if (missing.length === 0) return set;
  const added = await Promise.all(missing.map((alg) => generateSigningKey(alg, now)));
  return { keys: [...added, ...set.keys] };
}

/**
 * Rotation: a new current key per algorithm; the previous ones are retired (still published, no
 * longer signing) and dropped once `retention` seconds have passed, so every token they signed has
 * expired by then.
 */
export async function rotate(set: KeySet, algorithms: readonly SigningAlgorithm[], now: number, retention: number, activationDelay = 0): Promise<KeySet> {
  const switchAt = now + activationDelay;
  const fresh = await Promise.all(algorithms.map(async (alg) => (merged(await generateSigningKey(alg, now), activationDelay > 0 ? { activatesAt: switchAt } : {}))));
  const previous = set.keys.map((k) => (k.retiredAt === undefined && algorithms.includes(k.alg) ? merged(k, { retiredAt: switchAt }) : k));
  return prune({ keys: [...fresh, ...previous] }, now, retention);
}

/** The next time (epoch seconds) a key starts or stops signing, after `now`; undefined when none is scheduled. */
export function nextSwitch(set: KeySet, now: number): number | undefined {
  const times = set.keys.flatMap((k) => [k.activatesAt, k.retiredAt]).filter((t): t is number => t !== undefined && t > now);
  return times.length > 0 ? Math.min(...times) : undefined;
}

export function prune(set: KeySet, now: number, retention: number): KeySet {
  return { keys: set.keys.filter((k) => k.retiredAt === undefined || k.retiredAt + retention > now) };
}

/**
 * Signing keys first (newest first), then the ones only published (not yet active, or retired): the
 * order oidc-provider's `jwks` expects (the first key of an algorithm signs).
 */
export function providerJwks(set: KeySet, now = Math.floor(Date.now() / 1000)): { keys: JWK[] } {
  const signs = (k: SigningKey) => (k.activatesAt ?? 0) <= now && (k.retiredAt === undefined || k.retiredAt > now);
  const newestFirst = (a: SigningKey, b: SigningKey) => b.createdAt - a.createdAt;
  const signing = set.keys.filter(signs).sort(newestFirst);
  const published = set.keys.filter((k) => !signs(k)).sort(newestFirst);
  return { keys: [...signing, ...published].map((k) => ({ ...k.jwk })) };
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** The published key set without private members: what verifiers of Baton's JWTs use. */
export function publicJwks(set: KeySet, now = Math.floor(Date.now() / 1000)): { keys: JWK[] } {
  return { keys: providerJwks(set, now).keys.map((jwk) => Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE_MEMBERS.includes(k))) as JWK) };
}

/** The key that signs with `alg` now (the provider's choice too: the first of its algorithm in providerJwks). */
export function activeSigningKey(set: KeySet, alg: SigningAlgorithm, now = Math.floor(Date.now() / 1000)): SigningKey | undefined {
  const kid = providerJwks(set, now).keys.find((jwk) => jwk.alg === alg)?.kid;
  const key = set.keys.find((k) => k.kid === kid);
  const signs = key && (key.activatesAt ?? 0) <= now && (key.retiredAt === undefined || key.retiredAt > now);
  return signs ? key : undefined;
}
