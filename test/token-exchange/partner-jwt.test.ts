// A trusted partner's JWT as subject_token (RFC 8693, type jwt): every way it can be wrong is
// refused with the same answer on the lean token path and through the full Koa pipeline: bad or
// foreign signature, tampered payload, an algorithm outside the allow-list, alg none, an unknown
// kid, expired or too old, another audience or issuer, unknown crit, unencoded payload, oversized.
import { constants, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { fullPipeline } from '../helpers/two-paths.ts';
import { gatewayConfig, ORDERS as API, PARTNER, serveJwks, TE, TYPE } from './environment.ts';

const es = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rs = generateKeyPairSync('rsa', { modulusLength: 2048 });
const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' });
let jwks: Awaited<ReturnType<typeof serveJwks>>;
let baton: RunningBaton;
let full: Awaited<ReturnType<typeof fullPipeline>>;
let fullUrl: string;

beforeAll(async () => {
  jwks = await serveJwks([{ ...es.publicKey.export({ format: 'jwk' }), kid: 'es', alg: 'ES256', use: 'sig' }, { ...rs.publicKey.export({ format: 'jwk' }), kid: 'rs', use: 'sig' }]);
  baton = await startBaton(gatewayConfig(jwks.url));
  full = await fullPipeline(baton);
  fullUrl = `http://127.0.0.1:${full.port}`;
});

afterAll(async () => {
  await baton?.stop();
  await full?.close();
  await jwks?.close();
});

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function jws(header: Record<string, unknown>, claims: Record<string, unknown> = {}, key: KeyObject = es.privateKey): string {
  const payload = { iss: PARTNER, sub: 'partner-user', aud: 'baton', iat: now(), exp: now() + 300, jti: randomUUID(), ...claims };
  const input = `${b64(header)}.${b64(payload)}`;
  const alg = String(header.alg);
  const options = alg.startsWith('ES') ? { dsaEncoding: 'ieee-p1363' as const } : alg.startsWith('PS') ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : {};
  return `${input}.${sign('sha256', Buffer.from(input), { key, ...options }).toString('base64url')}`;
}

async function post(url: string, subjectToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new URLSearchParams({ grant_type: TE, subject_token: subjectToken, subject_token_type: TYPE.jwt, resource: API, scope: 'orders:read' });
  const { status, json } = await postForm(`${url}/token`, form, { authorization: basic('gateway', TEST_ENV.SERVICE_SECRET) });
  return { status, body: json };
}

/** A refused exchange: the lean path and the full pipeline give the same answer (nothing is spent). */
async function exchange(subjectToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const lean = await post(baton.url, subjectToken);
  expect(lean).toEqual(await post(fullUrl, subjectToken));
  return lean;
}

/** An accepted token: one for each path (it is single-use), both issued alike. */
async function accepted(make: () => string): Promise<void> {
  for (const url of [baton.url, fullUrl]) {
    const { status, body } = await post(url, make());
    expect({ status, body: { ...body, access_token: typeof body.access_token } }).toEqual({
      status: 200, body: { access_token: 'string', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: expect.any(Number), scope: 'orders:read' },
    });
  }
}

const refused = (description: string) => ({ status: 400, body: { error: 'invalid_request', error_description: description } });

describe('a trusted partner\'s JWT as subject_token', () => {
  it('a good one of each key in the set is exchanged, once', async () => {
    await accepted(() => jws({ alg: 'ES256', kid: 'es', typ: 'JWT' }));
    expect(await post(baton.url, jws({ alg: 'ES256', kid: 'es' }, { jti: 'once' }))).toMatchObject({ status: 200 });
    expect(await exchange(jws({ alg: 'ES256', kid: 'es' }, { jti: 'once' }))).toEqual(refused('subject_token was already exchanged'));
    await accepted(() => jws({ alg: 'RS256', kid: 'rs' }, {}, rs.privateKey));
    await accepted(() => jws({ alg: 'PS256', kid: 'rs' }, {}, rs.privateKey));
    await accepted(() => jws({ alg: 'ES256', kid: 'es', crit: ['b64'], b64: true }));
  });

  it('a bad signature, another key\'s, a tampered payload: signature verification failed', async () => {
    const [header, payload, signature] = jws({ alg: 'ES256', kid: 'es' }).split('.') as [string, string, string];
    const flipped = Buffer.from(signature, 'base64url');
    flipped[10]! ^= 0x40;
    const failed = refused('subject_token is invalid (ERR_JWS_SIGNATURE_VERIFICATION_FAILED)');
    expect(await exchange(`${header}.${payload}.${flipped.toString('base64url')}`)).toEqual(failed);
    expect(await exchange(jws({ alg: 'ES256', kid: 'es' }, {}, foreign.privateKey))).toEqual(failed);
    const widened = b64({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'admin' });
    expect(await exchange(`${header}.${widened}.${signature}`)).toEqual(failed);
    // An RSA PKCS#1 signature presented as PS256 over the same input.
    const [rsHeader, rsPayload, rsSignature] = jws({ alg: 'RS256', kid: 'rs' }, {}, rs.privateKey).split('.');
    expect(rsHeader).toBeDefined();
    expect(await exchange(`${b64({ alg: 'PS256', kid: 'rs' })}.${rsPayload}.${rsSignature}`)).toEqual(failed);
  });

  it('a payload that is no JSON object is not a JWT; a UTF-8 BOM before it is read past, as jose reads it', async () => {
    const signed = (payload: Buffer): string => {
      const input = `${b64({ alg: 'ES256', kid: 'es' })}.${payload.toString('base64url')}`;
      return `${input}.${sign('sha256', Buffer.from(input), { key: es.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    };
    for (const text of ['[1]', 'null', '42', '"iss"', '{"iss":']) {
      expect([text, await exchange(signed(Buffer.from(text)))]).toEqual([text, refused('subject_token is not a JWT')]);
    }
    expect(await exchange(signed(Buffer.from([0xff, 0xfe, 0x7b, 0x7d])))).toEqual(refused('subject_token is not a JWT'));
    // Invalid UTF-8 inside a string claim of an otherwise good claims set: not a JWT, before any key set is fetched (jose decodes strictly).
    const good = Buffer.from(JSON.stringify({ iss: PARTNER, sub: 'partner-user', aud: 'baton', iat: now(), exp: now() + 300, jti: randomUUID(), note: 'X' }));
    good[good.indexOf('"X"') + 1] = 0xff;
    expect(await exchange(signed(good))).toEqual(refused('subject_token is not a JWT'));
    const claims = () => JSON.stringify({ iss: PARTNER, sub: 'partner-user', aud: 'baton', iat: now(), exp: now() + 300, jti: randomUUID() });
    await accepted(() => signed(Buffer.from(`\uFEFF${claims()}`)));
  });

  it('alg none, a symmetric algorithm, an algorithm the key is not for, an unknown kid', async () => {
    const none = `${b64({ alg: 'none' })}.${b64({ iss: PARTNER, sub: 'x', aud: 'baton', iat: now(), exp: now() + 60 })}`;
    expect(await exchange(`${none}.`)).toEqual(refused('subject_token is not a JWT in canonical compact serialization (unpadded base64url)'));
    expect(await exchange(`${none}.c2lnbmF0dXJl`)).toEqual(refused('subject_token is invalid (ERR_JOSE_ALG_NOT_ALLOWED)'));
    const hs = `${b64({ alg: 'HS256', kid: 'es' })}.${b64({ iss: PARTNER, sub: 'x', aud: 'baton', iat: now(), exp: now() + 60 })}.c2lnbmF0dXJl`;
    expect(await exchange(hs)).toEqual(refused('subject_token is invalid (ERR_JOSE_ALG_NOT_ALLOWED)'));
    expect(await exchange(jws({ alg: 'ES384', kid: 'es' }))).toEqual(refused('subject_token is invalid (ERR_JWKS_NO_MATCHING_KEY)'));
    expect(await exchange(jws({ alg: 'ES256', kid: 'nobody' }))).toEqual(refused('subject_token is invalid (ERR_JWKS_NO_MATCHING_KEY)'));
  });

  it('expired, too old, not yet valid, another audience, a missing claim, another issuer', async () => {
    expect(await exchange(jws({ alg: 'ES256', kid: 'es' }, { exp: now() - 60 }))).toEqual(refused('subject_token is invalid (ERR_JWT_EXPIRED)'));
    expect(await exchange(jws({ alg: 'ES256', kid: 'es' }, { iat: now() - 900 }))).toEqual(refused('subject_token is invalid (ERR_JWT_EXPIRED)'));
    await accepted(() => jws({ alg: 'ES256', kid: 'es' }, { exp: now() - 10 }));
    expect(await exchange(jws({ alg: 'ES256', kid: 'es' }, { nbf: now() + 600 }))).toEqual(refused('subject_token is invalid (nbf check_failed)'));
    expect(await exchange(jws({ alg: 'ES256', kid: 'es' }, { aud: 'someone-else' }))).toEqual(refused('subject_token is invalid (aud check_failed)'));
    expect(await exchange(jws({ alg: 'ES256', kid: 'es' }, { iat: undefined }))).toEqual(refused('subject_token is invalid (iat missing)'));
    expect(await exchange(jws({ alg: 'ES256', kid: 'es' }, { iss: 'https://evil.example' }))).toEqual(refused('subject_token is not issued by an issuer this client may exchange'));
  });

  it('header extensions: an unknown crit is refused, an unencoded payload is refused after the signature', async () => {
    expect(await exchange(jws({ alg: 'ES256', kid: 'es', crit: ['urn:x'], 'urn:x': 1 }))).toEqual(refused('subject_token is invalid (ERR_JOSE_NOT_SUPPORTED)'));
    expect(await exchange(jws({ alg: 'ES256', kid: 'es', crit: ['b64'], b64: false }))).toEqual(refused('subject_token is invalid (ERR_JWT_INVALID)'));
  });

  it('an oversized token (beyond the lean path\'s body limit, so the full pipeline answers both) is judged as any other', async () => {
    await accepted(() => jws({ alg: 'ES256', kid: 'es' }, { filler: 'x'.repeat(8_192) }));
    const big = jws({ alg: 'ES256', kid: 'es' }, { filler: 'y'.repeat(8_192) });
    const other = jws({ alg: 'ES256', kid: 'es' });
    expect(await exchange(`${big.slice(0, big.lastIndexOf('.'))}${other.slice(other.lastIndexOf('.'))}`)).toEqual(refused('subject_token is invalid (ERR_JWS_SIGNATURE_VERIFICATION_FAILED)'));
  });
});
