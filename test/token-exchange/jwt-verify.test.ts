// src/grants/jwt-verify.ts against jose's jwtVerify itself: for every token below (good ones of each
// algorithm, and every way a header, key choice, signature or claim can be wrong), both answer the
// same: the same payload, or an error of the same class, code, message and claim.
import { constants, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

import { createLocalJWKSet, jwtVerify, type JWK, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { describe, expect, it, vi } from 'vitest';

import { verifyJwt } from '../../src/grants/jwt-verify.ts';

const ISS = 'https://partner.example';
const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const OPTIONS: JWTVerifyOptions = { issuer: ISS, audience: ['baton'], maxTokenAge: 300, clockTolerance: 30, algorithms: ALGS, requiredClaims: ['sub', 'exp', 'iat'] };

type Signer = { key: KeyObject; jwk: JWK };

function pair(kind: 'rsa' | 'ec' | 'ed25519', detail?: string | number): Signer {
  const { privateKey, publicKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: Number(detail ?? 2048) })
    : kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: String(detail) }) : generateKeyPairSync('ed25519');
  return { key: privateKey, jwk: publicKey.export({ format: 'jwk' }) as JWK };
}

const rsa = pair('rsa');
const p256 = pair('ec', 'P-256');
const p384 = pair('ec', 'P-384');
const p521 = pair('ec', 'P-521');
const ed = pair('ed25519');
const foreign = pair('ec', 'P-256');
const shortRsa = pair('rsa', 1024);

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A compact JWS over exactly these header and payload bytes (what a partner, or an attacker, could send). */
function jws(header: Record<string, unknown> | string, payload: Record<string, unknown> | string, key: KeyObject, alg = (header as { alg: string }).alg): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const digest = alg.startsWith('ES') || alg.startsWith('RS') || alg.startsWith('PS') ? `sha${alg.slice(2)}` : null;
  const options = alg.startsWith('ES') ? { dsaEncoding: 'ieee-p1363' as const } : alg.startsWith('PS') ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 } : {};
  return `${input}.${sign(digest, Buffer.from(input), { key, ...options }).toString('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISS, sub: 'partner-user', aud: 'baton', iat: now(), exp: now() + 300, jti: 'j-1', ...extra });

const keys = createLocalJWKSet({
  keys: [
    { ...rsa.jwk, kid: 'rsa' }, { ...p256.jwk, kid: 'p256', alg: 'ES256', use: 'sig' }, { ...p384.jwk, kid: 'p384' }, { ...p521.jwk, kid: 'p521' },
    { ...ed.jwk, kid: 'ed' }, { ...shortRsa.jwk, kid: 'short' }, { ...p256.jwk, kid: 'enc', use: 'enc' }, { ...p256.jwk, kid: 'twin-a' }, { ...p256.jwk, kid: 'twin-a' },
  ],
});

/** What a verification came to, in a form two runs can be compared by. */
async function outcome(run: () => Promise<{ payload: unknown }>): Promise<unknown> {
  try {
    return { payload: (await run()).payload };
  } catch (err) {
    const e = err as Error & { code?: string; claim?: string; reason?: string };
    return { error: e.constructor.name, code: e.code, message: e.message, claim: e.claim, reason: e.reason };
  }
}

async function same(token: string, options: JWTVerifyOptions = OPTIONS, keySet: JWTVerifyGetKey = keys): Promise<unknown> {
  const expected = await outcome(() => jwtVerify(token, keySet, options));
  const actual = await outcome(() => verifyJwt(token, keySet, options));
  expect(actual).toEqual(expected);
  return actual;
}

describe('verifyJwt answers as jose jwtVerify does', () => {
  it('accepts a good token of every asymmetric algorithm', async () => {
    const signers: Record<string, [Signer, string]> = {
      RS256: [rsa, 'rsa'], RS384: [rsa, 'rsa'], RS512: [rsa, 'rsa'], PS256: [rsa, 'rsa'], PS384: [rsa, 'rsa'], PS512: [rsa, 'rsa'],
      ES256: [p256, 'p256'], ES384: [p384, 'p384'], ES512: [p521, 'p521'], EdDSA: [ed, 'ed'], Ed25519: [ed, 'ed'],
    };
    for (const [alg, [signer, kid]] of Object.entries(signers)) {
      const result = await same(jws({ alg, kid, typ: 'JWT' }, claims(), signer.key));
      expect(result, alg).toMatchObject({ payload: { sub: 'partner-user' } });
    }
  });

  it('refuses a bad signature, a tampered payload, another key\'s signature, a signature of the wrong length', async () => {
    const good = jws({ alg: 'ES256', kid: 'p256' }, claims(), p256.key);
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const flipped = Buffer.from(signature, 'base64url');
    flipped[5]! ^= 1;
    expect(await same(`${header}.${payload}.${flipped.toString('base64url')}`)).toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    expect(await same(`${header}.${b64(claims({ sub: 'admin' }))}.${signature}`)).toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    expect(await same(jws({ alg: 'ES256', kid: 'p256' }, claims(), foreign.key))).toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    expect(await same(`${header}.${payload}.${b64(Buffer.concat([Buffer.from(signature, 'base64url'), Buffer.alloc(1)]).toString('latin1'))}`)).toMatchObject({ error: expect.any(String) });
    expect(await same(`${header}.${payload}.${Buffer.from(signature, 'base64url').subarray(0, 63).toString('base64url')}`)).toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    // An RSA signature under a PS header (and the reverse): the same key, another algorithm.
    const rs = jws({ alg: 'RS256', kid: 'rsa' }, claims(), rsa.key);
    const [, rsPayload, rsSignature] = rs.split('.');
    expect(await same(`${b64({ alg: 'PS256', kid: 'rsa' })}.${rsPayload}.${rsSignature}`)).toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('a forged signature is checked once: node:crypto\'s verdict stands, WebCrypto is not asked again', async () => {
    const good = jws({ alg: 'ES256', kid: 'p256' }, claims(), p256.key);
    const [header, payload] = good.split('.') as [string, string, string];
    const forged = `${header}.${payload}.${jws({ alg: 'ES256', kid: 'p256' }, claims({ sub: 'other' }), p256.key).split('.')[2]!}`;
    const rsForged = `${b64({ alg: 'RS256', kid: 'rsa' })}.${payload}.${jws({ alg: 'RS256', kid: 'rsa' }, claims({ sub: 'other' }), rsa.key).split('.')[2]!}`;
    // Counts the real WebCrypto calls (the spy calls through): jose's own verification is one.
    const webCrypto = vi.spyOn(crypto.subtle, 'verify');
    try {
      for (const token of [forged, rsForged]) {
        webCrypto.mockClear();
        expect(await outcome(() => verifyJwt(token, keys, OPTIONS))).toMatchObject({ error: 'JWSSignatureVerificationFailed', code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', message: 'signature verification failed' });
        expect(webCrypto).not.toHaveBeenCalled();
        await same(token);
        expect(webCrypto).toHaveBeenCalledTimes(1);
      }
      // A signature of another length than ES256's is still jose's to judge.
      webCrypto.mockClear();
      await same(`${header}.${payload}.${b64('short')}`);
      expect(webCrypto.mock.calls.length).toBeGreaterThan(0);
    } finally {
      webCrypto.mockRestore();
    }
  });

  it('refuses alg none, an algorithm outside the allow-list, a symmetric one, an unknown one, a missing one', async () => {
    expect(await same(`${b64({ alg: 'none' })}.${b64(claims())}.`)).toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    expect(await same(jws({ alg: 'ES256', kid: 'p256' }, claims(), p256.key), { ...OPTIONS, algorithms: ['RS256'] })).toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    expect(await same(`${b64({ alg: 'HS256', kid: 'p256' })}.${b64(claims())}.c2ln`, { ...OPTIONS, algorithms: [...ALGS, 'HS256'] })).toMatchObject({ code: 'ERR_JOSE_NOT_SUPPORTED' });
    expect(await same(`${b64({ alg: 'XS256' })}.${b64(claims())}.c2ln`, { ...OPTIONS, algorithms: undefined })).toMatchObject({ code: 'ERR_JOSE_NOT_SUPPORTED' });
    expect(await same(`${b64({ kid: 'p256' })}.${b64(claims())}.c2ln`)).toMatchObject({ code: 'ERR_JWS_INVALID' });
  });

  it('key selection: an unknown kid, a key for encryption, two keys with one kid, a short RSA key', async () => {
    expect(await same(jws({ alg: 'ES256', kid: 'nobody' }, claims(), p256.key))).toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(await same(jws({ alg: 'ES256', kid: 'enc' }, claims(), p256.key))).toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(await same(jws({ alg: 'ES256', kid: 'twin-a' }, claims(), p256.key))).toMatchObject({ code: 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' });
    // Without kid: the one P-256 key usable for ES256 is ambiguous here too.
    expect(await same(jws({ alg: 'ES256' }, claims(), p256.key))).toMatchObject({ code: 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' });
    expect(await same(jws({ alg: 'RS256', kid: 'short' }, claims(), shortRsa.key))).toMatchObject({ error: 'TypeError' });
    // The JWK's own alg binds it: an ES256-only key is not used for ES384.
    expect(await same(jws({ alg: 'ES384', kid: 'p256' }, claims(), p384.key))).toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it('header extensions: unknown crit refused, b64 false refused after the signature, malformed crit, a header that is not JSON', async () => {
    expect(await same(jws({ alg: 'ES256', kid: 'p256', crit: ['exp'], exp: 1 }, claims(), p256.key))).toMatchObject({ code: 'ERR_JOSE_NOT_SUPPORTED' });
    expect(await same(jws({ alg: 'ES256', kid: 'p256', crit: ['b64'], b64: false }, claims(), p256.key))).toMatchObject({ code: 'ERR_JWT_INVALID' });
    expect(await same(jws({ alg: 'ES256', kid: 'p256', crit: ['b64'], b64: true }, claims(), p256.key))).toMatchObject({ payload: { sub: 'partner-user' } });
    expect(await same(jws({ alg: 'ES256', kid: 'p256', crit: ['b64'], b64: 'no' }, claims(), p256.key))).toMatchObject({ code: 'ERR_JWS_INVALID' });
    expect(await same(jws({ alg: 'ES256', kid: 'p256', crit: [] }, claims(), p256.key))).toMatchObject({ code: 'ERR_JWS_INVALID' });
    expect(await same(jws('{"alg":"ES256"', claims(), p256.key, 'ES256'))).toMatchObject({ code: 'ERR_JWS_INVALID' });
  });

  it('claims: expired, not yet valid, too old, issued in the future, wrong audience or issuer, missing ones, not an object', async () => {
    const token = (extra: Record<string, unknown>) => jws({ alg: 'ES256', kid: 'p256' }, claims(extra), p256.key);
    expect(await same(token({ exp: now() - 31 }))).toMatchObject({ code: 'ERR_JWT_EXPIRED', claim: 'exp' });
    expect(await same(token({ exp: now() - 10 }))).toMatchObject({ payload: { sub: 'partner-user' } });
    expect(await same(token({ nbf: now() + 120 }))).toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'nbf' });
    expect(await same(token({ iat: now() - 900 }))).toMatchObject({ code: 'ERR_JWT_EXPIRED', claim: 'iat' });
    expect(await same(token({ iat: now() + 120 }))).toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iat' });
    expect(await same(token({ aud: 'someone-else' }))).toMatchObject({ claim: 'aud' });
    expect(await same(token({ iss: 'https://evil.example' }))).toMatchObject({ claim: 'iss' });
    expect(await same(token({ sub: undefined }))).toMatchObject({ claim: 'sub', reason: 'missing' });
    expect(await same(token({ exp: 'tomorrow' }))).toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'exp' });
    expect(await same(jws({ alg: 'ES256', kid: 'p256' }, '[1,2]', p256.key))).toMatchObject({ code: 'ERR_JWT_INVALID' });
    expect(await same(jws({ alg: 'ES256', kid: 'p256' }, 'not json', p256.key))).toMatchObject({ code: 'ERR_JWT_INVALID' });
  });

  it('typ, as Baton requires at+jwt of its own access tokens', async () => {
    const options = { ...OPTIONS, typ: 'at+jwt' };
    const token = (header: Record<string, unknown>) => jws({ alg: 'ES256', kid: 'p256', ...header }, claims(), p256.key);
    expect(await same(token({ typ: 'at+jwt' }), options)).toMatchObject({ payload: { sub: 'partner-user' } });
    expect(await same(token({ typ: 'application/AT+JWT' }), options)).toMatchObject({ payload: { sub: 'partner-user' } });
    expect(await same(token({ typ: 'JWT' }), options)).toMatchObject({ claim: 'typ' });
    expect(await same(token({}), options)).toMatchObject({ claim: 'typ' });
    expect(await same(token({ typ: 7 }), options)).toMatchObject({ claim: 'typ' });
  });

  it('spellings Buffer and jose could read differently: stray characters, a dangling character, trailing bits, non-ASCII', async () => {
    const [header, payload, signature] = jws({ alg: 'ES256', kid: 'p256' }, claims(), p256.key).split('.') as [string, string, string];
    // 64 bytes end in a character carrying 4 unused bits: setting one is another spelling of the same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(signature.at(-1)!) | 1]!;
    for (const token of [
      `${header}.${payload}.${signature}A`, `${header}.${payload}.${signature.slice(0, 10)}!${signature.slice(10)}`, `${header}.${payload}.${signature} `,
      `${header}.${payload}.${signature.slice(0, -1)}${twin}`, `${header}.${payload}A.${signature}`, `${header}.${payload}\u00e9.${signature}`,
      `${header}.${payload}.${signature}==`, `${header}..${signature}`,
    ]) await same(token);
  });

  it('an oversized token (64 KiB of claims) and a malformed compact form', async () => {
    expect(await same(jws({ alg: 'ES256', kid: 'p256' }, claims({ filler: 'x'.repeat(65_536) }), p256.key))).toMatchObject({ payload: { sub: 'partner-user' } });
    expect(await same('a.b')).toMatchObject({ code: 'ERR_JWS_INVALID' });
    expect(await same('a.b.c.d')).toMatchObject({ code: 'ERR_JWS_INVALID' });
  });

  it('a key set that cannot be fetched fails as it does under jose', async () => {
    const unreachable: JWTVerifyGetKey = async () => { throw new TypeError('fetch failed'); };
    expect(await same(jws({ alg: 'ES256', kid: 'p256' }, claims(), p256.key), OPTIONS, unreachable)).toMatchObject({ error: 'TypeError', message: 'fetch failed' });
  });

  it('a private key in the set is never used to verify', async () => {
    const withPrivate = createLocalJWKSet({ keys: [{ ...(createPrivateKey(p256.key.export({ format: 'pem', type: 'pkcs8' })).export({ format: 'jwk' }) as JWK), kid: 'p256' }] });
    expect(await same(jws({ alg: 'ES256', kid: 'p256' }, claims(), p256.key), OPTIONS, withPrivate)).toMatchObject({ error: expect.any(String) });
  });
});
