// jose's jwtVerify with the signature checked by node:crypto: jose's WebCrypto verification costs
// about twice node:crypto's synchronous one (an asynchronous job per token), the largest single cost
// of a token exchange. Everything else stays jose's own code, so the answers cannot drift from it:
//   1. jose's jwtVerify parses and checks the header (compact form, JSON, crit, b64, alg allow-list)
//      and selects the key through the same key set (kid, kty, use, key_ops, alg), exactly as before;
//      the key function it calls then stops it before its WebCrypto step.
//   2. node:crypto verifies the signature with that very key (its KeyObject, converted once per key)
//      over the same signing input: the same algorithm and OpenSSL primitive WebCrypto uses.
//   3. jose's claim checks (UnsecuredJWT.decode: validateClaimsSet with the same options) read the
//      same payload bytes, under a header carrying the original `typ` (the only header member they read).
// A signature node:crypto finds wrong, with a key jose accepts and of the length WebCrypto takes, is
// jose's own failure (JWSSignatureVerificationFailed, thrown here: WebCrypto's verdict on the same
// input would be the same, and checking it again would double the cost of every forged token).
// Anything else (a key jose would refuse or would check differently, a spelling or signature
// node:crypto cannot judge) goes to jose's jwtVerify unchanged, so every failure is jose's own answer.
import { constants, KeyObject, verify, type VerifyKeyObjectInput } from 'node:crypto';

import { errors, jwtVerify, UnsecuredJWT, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';

import { isCanonicalCompact } from './compact-jws.ts';

/** RFC 7518 section 3 and RFC 8037: what jose's WebCrypto key and call amount to, per algorithm. */
interface NodeAlgorithm {
  readonly digest: string | null;
  readonly options: Omit<VerifyKeyObjectInput, 'key'>;
  /** The CryptoKey jose would accept for it (lib/key.js checkCryptoKey): algorithm name, hash or curve. */
  readonly name: string;
  readonly hash?: string;
  readonly curve?: string;
  /** ECDSA: the IEEE P1363 signature length (WebCrypto takes no other). */
  readonly length?: number;
}

const rsa = (bits: number, pss: boolean): NodeAlgorithm => ({
  digest: `sha${bits}`,
  options: pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 } : { padding: constants.RSA_PKCS1_PADDING },
  name: pss ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5',
  hash: `SHA-${bits}`,
});
const ecdsa = (bits: number, curve: string, size: number): NodeAlgorithm => ({
  digest: `sha${bits}`, options: { dsaEncoding: 'ieee-p1363' }, name: 'ECDSA', curve, length: 2 * size,
});
const EDDSA: NodeAlgorithm = { digest: null, options: {}, name: 'Ed25519' };

const ALGORITHMS: Readonly<Record<string, NodeAlgorithm>> = {
  RS256: rsa(256, false), RS384: rsa(384, false), RS512: rsa(512, false),
  PS256: rsa(256, true), PS384: rsa(384, true), PS512: rsa(512, true),
  ES256: ecdsa(256, 'P-256', 32), ES384: ecdsa(384, 'P-384', 48), ES512: ecdsa(512, 'P-521', 66),
  EdDSA: EDDSA, Ed25519: EDDSA,
};

/** jose's minimum RSA modulus for signatures (lib/key.js checkModulusLength). */
const MIN_RSA_BITS = 2048;

/** Thrown from the key function to stop jose once it has checked the header and chosen the key. */
class KeyChosen {
  constructor(readonly header: Readonly<Record<string, unknown>>, readonly key: unknown) {}
}

const keyObjects = new WeakMap<CryptoKey, KeyObject>();

/**
 * As jose's `jwtVerify(token, keys, options)` (same result payload, same errors), for a compact JWT
 * and a key set function (createLocalJWKSet, createRemoteJWKSet).
 */
export async function verifyJwt(token: string, keys: JWTVerifyGetKey, options: JWTVerifyOptions, canonical = false): Promise<{ payload: JWTPayload }> {
  let chosen: KeyChosen;
  try {
    // The key set's own promise, continued: one promise fewer than an async key function.
    await jwtVerify(token, (header, jws) => Promise.resolve(keys(header, jws)).then((key) => {
      throw new KeyChosen(header as Record<string, unknown>, key);
    }), options);
    throw new Error('unreachable: jose verified a JWT without asking for its key');
  } catch (err) {
    if (!(err instanceof KeyChosen)) throw err;
    chosen = err;
  }
  const { header, key } = chosen;
  const alg = String(header.alg);
  const dot = token.lastIndexOf('.');
  // Only the one spelling Buffer and jose's base64url decoding read alike (no stray characters or
  // trailing bits): any other goes to jose, which answers as it always did. `canonical`: the caller checked.
  const verdict = canonical || isCanonicalCompact(token) ? signatureVerdict(alg, key, token.slice(0, dot), token.slice(dot + 1)) : undefined;
  if (verdict === false) throw new errors.JWSSignatureVerificationFailed();
  if (verdict === undefined) {
    // jose's own verdict, with its own error (wrong key type, short RSA modulus, signature of another length).
    return jwtVerify(token, () => key as CryptoKey, options);
  }
  // jwtVerify's check after the signature: b64 was validated by jose in step 1 (a boolean when named in crit).
  if (Array.isArray(header.crit) && header.crit.includes('b64') && header.b64 === false) throw new errors.JWTInvalid('JWTs MUST NOT use unencoded payload');
  const claimsHeader = Buffer.from(JSON.stringify(Object.hasOwn(header, 'typ') ? { alg: 'none', typ: header.typ } : { alg: 'none' })).toString('base64url');
  const payloadSegment = token.slice(token.indexOf('.') + 1, dot);
  return { payload: UnsecuredJWT.decode(`${claimsHeader}.${payloadSegment}.`, options).payload };
}

/**
 * What WebCrypto would say of the signature, where jose's key checks pass and it reaches WebCrypto
 * with this very input: true (valid), false (invalid); undefined wherever jose must judge itself.
 */
function signatureVerdict(alg: string, key: unknown, signingInput: string, signature: string): boolean | undefined {
  const algorithm = ALGORITHMS[alg];
  if (!algorithm || !isUsableCryptoKey(key, algorithm)) return undefined;
  const bytes = Buffer.from(signature, 'base64url');
  if (algorithm.length !== undefined && bytes.length !== algorithm.length) return undefined;
  try {
    return verify(algorithm.digest, Buffer.from(signingInput, 'ascii'), { key: keyObject(key), ...algorithm.options }, bytes);
  } catch {
    return undefined;
  }
}

function isUsableCryptoKey(key: unknown, expected: NodeAlgorithm): key is CryptoKey {
  if (!(key instanceof CryptoKey) || key.type !== 'public' || !key.usages.includes('verify')) return false;
  const algorithm = key.algorithm as { name: string; hash?: { name: string }; namedCurve?: string; modulusLength?: number };
  if (algorithm.name !== expected.name) return false;
  if (expected.hash !== undefined && (algorithm.hash?.name !== expected.hash || (algorithm.modulusLength ?? 0) < MIN_RSA_BITS)) return false;
  return expected.curve === undefined || algorithm.namedCurve === expected.curve;
}

function keyObject(key: CryptoKey): KeyObject {
  let converted = keyObjects.get(key);
  if (!converted) {
    converted = KeyObject.from(key);
    keyObjects.set(key, converted);
  }
  return converted;
}
