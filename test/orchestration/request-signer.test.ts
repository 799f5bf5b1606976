// The JWT Baton presents to authorizers is signed with the key that signs tokens now: a key rotated
// in under an activation delay is published first, so it must not sign authorizer requests either
// until it activates (another instance's JWKS may not list it yet).
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';

import { ensureAlgorithms, publicJwks, rotate } from '../../src/keys/keyset.ts';
import { requestSigner } from '../../src/orchestration/request-signer.ts';

describe('authorizer request signer', () => {
  it('keeps signing with the previous key during the activation delay, then with the new one', async () => {
    const t0 = 1_900_000_000;
    const initial = await ensureAlgorithms({ keys: [] }, ['ES256'], t0);
    const rotated = await rotate(initial, ['ES256'], t0 + 10, 3600, 90);
    const [fresh, previous] = rotated.keys;
    expect(fresh!.activatesAt).toBe(t0 + 100);
    let now = (t0 + 20) * 1000;
    const sign = requestSigner('https://baton.example', 'ES256', () => rotated, () => now);

    expect(decodeProtectedHeader(await sign('orders', { sub: 'alice' })).kid).toBe(previous!.kid);
    now = (t0 + 100) * 1000;
    expect(decodeProtectedHeader(await sign('orders', { sub: 'alice' })).kid).toBe(fresh!.kid);
  });

  for (const alg of ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'] as const) {
    it(`signs a ${alg} JWT that verifies against the published JWKS, with iss, aud, 60 s, a fresh jti`, async () => {
      const keys = await ensureAlgorithms({ keys: [] }, [alg], Math.floor(Date.now() / 1000) - 10);
      const sign = requestSigner('https://baton.example', alg, () => keys);
      const jwt = await sign('orders', { sub: 'alice', client_id: 'web' });
      const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(publicJwks(keys)), {
        issuer: 'https://baton.example', audience: 'orders', algorithms: [alg], typ: 'JWT',
      });
      expect(protectedHeader).toEqual({ alg, kid: keys.keys[0]!.kid, typ: 'JWT' });
      expect(payload).toMatchObject({ sub: 'alice', client_id: 'web' });
      expect(payload.exp! - payload.iat!).toBe(60);
      expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(5);
      expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
      expect((await jwtVerify(await sign('orders', { sub: 'alice' }), createLocalJWKSet(publicJwks(keys)))).payload.jti).not.toBe(payload.jti);
      // Another authorizer's audience is not this one's, and a tampered payload does not verify.
      await expect(jwtVerify(jwt, createLocalJWKSet(publicJwks(keys)), { audience: 'billing' })).rejects.toThrow();
      const [h, , s] = jwt.split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'mallory' })).toString('base64url')}.${s}`;
      await expect(jwtVerify(forged, createLocalJWKSet(publicJwks(keys)))).rejects.toThrow();
    });
  }

  it('signs with a replaced key set at once, within the same second (the key choice is kept per set and second)', async () => {
    const t0 = 1_900_000_000;
    const first = await ensureAlgorithms({ keys: [] }, ['ES256'], t0);
    const second = await ensureAlgorithms({ keys: [] }, ['ES256'], t0);
    let current = first;
    const sign = requestSigner('https://baton.example', 'ES256', () => current, () => t0 * 1000 + 500);
    expect(decodeProtectedHeader(await sign('orders', { sub: 'alice' })).kid).toBe(first.keys[0]!.kid);
    current = second;
    expect(decodeProtectedHeader(await sign('orders', { sub: 'alice' })).kid).toBe(second.keys[0]!.kid);
    current = { keys: [] };
    await expect(sign('orders', { sub: 'alice' })).rejects.toThrow(/no current ES256 signing key/);
  });

  it('never lets the payload set iss, aud, iat, exp or jti: the signer\'s values win, members in spread order', async () => {
    const keys = await ensureAlgorithms({ keys: [] }, ['ES256'], Math.floor(Date.now() / 1000) - 10);
    const sign = requestSigner('https://baton.example', 'ES256', () => keys);
    const jwt = await sign('orders', { aud: 'billing', sub: 'alice', iss: 'https://evil.example', exp: 4_000_000_000, jti: 'fixed' });
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(publicJwks(keys)), { issuer: 'https://baton.example', audience: 'orders' });
    expect(Object.keys(payload)).toEqual(['aud', 'sub', 'iss', 'exp', 'jti', 'iat']);
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(payload.jti).not.toBe('fixed');
    // Byte for byte what `{ ...payload, iss, aud, iat, exp, jti }` serializes to.
    const { iat, exp, jti } = payload;
    const expected = JSON.stringify({ ...{ aud: 'billing', sub: 'alice', iss: 'x', exp: 0, jti: 'x' }, iss: 'https://baton.example', aud: 'orders', iat, exp, jti });
    expect(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).toBe(expected);
  });

  it('does not carry a parsed `__proto__` member of the payload into the JWT, nor let it change a claim', async () => {
    const keys = await ensureAlgorithms({ keys: [] }, ['ES256'], Math.floor(Date.now() / 1000) - 10);
    const sign = requestSigner('https://baton.example', 'ES256', () => keys);
    const jwt = await sign('orders', JSON.parse('{"sub":"alice","__proto__":{"iss":"https://evil.example","admin":true}}') as Record<string, unknown>);
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(publicJwks(keys)), { issuer: 'https://baton.example', audience: 'orders' });
    expect(Object.keys(payload)).toEqual(['sub', 'iss', 'aud', 'iat', 'exp', 'jti']);
    expect(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).not.toContain('evil');
  });

  it('fails when no key of the algorithm signs', async () => {
    const keys = await ensureAlgorithms({ keys: [] }, ['ES256'], 1_900_000_000);
    await expect(requestSigner('https://baton.example', 'RS256', () => keys)('orders', {})).rejects.toThrow(/no current RS256 signing key/);
  });
});
