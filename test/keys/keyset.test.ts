// Key set rules as pure functions: which key signs, which are published, when retired keys go.
import { describe, expect, it } from 'vitest';

import { ensureAlgorithms, prune, providerJwks, rotate, type KeySet } from '../../src/keys/keyset.ts';
import { deriveKey, seal, unseal } from '../../src/keys/seal.ts';

describe('key set', () => {
  it('creates one key per algorithm and adds keys for newly configured algorithms only', async () => {
    const first = await ensureAlgorithms({ keys: [] }, ['ES256', 'RS256'], 1000);
    expect(first.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    expect(await ensureAlgorithms(first, ['ES256', 'RS256'], 2000)).toBe(first);
    const more = await ensureAlgorithms(first, ['ES256', 'RS256', 'EdDSA'], 2000);
    expect(more.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
  });

  it('rotation puts the new key first (it signs) and keeps the old one published until retention passes', async () => {
    const initial = await ensureAlgorithms({ keys: [] }, ['ES256'], 1000);
    const rotated = await rotate(initial, ['ES256'], 5000, 3600);
    const jwks = providerJwks(rotated);
    expect(jwks.keys).toHaveLength(2);
    expect(jwks.keys[0]!.kid).not.toBe(initial.keys[0]!.kid);
    expect(jwks.keys[1]!.kid).toBe(initial.keys[0]!.kid);

    expect(prune(rotated, 5000 + 3599, 3600).keys).toHaveLength(2);
    const pruned = prune(rotated, 5000 + 3600, 3600);
    expect(pruned.keys.map((k) => k.kid)).toEqual([jwks.keys[0]!.kid]);
  });

  it('a second rotation retires only the then-current key', async () => {
    const initial: KeySet = await ensureAlgorithms({ keys: [] }, ['ES256'], 1000);
    const once = await rotate(initial, ['ES256'], 2000, 10_000);
    const twice = await rotate(once, ['ES256'], 3000, 10_000);
    const current = twice.keys.filter((k) => k.retiredAt === undefined);
    expect(current).toHaveLength(1);
    expect(twice.keys.find((k) => k.kid === initial.keys[0]!.kid)?.retiredAt).toBe(2000);
  });
});

describe('sealing at rest', () => {
  const key = deriveKey('a-master-secret-that-is-long-enough!!', 'keyset-at-rest');

  it('round-trips and binds the context', () => {
    const sealed = seal(key, 'hello', 'ctx-a');
    expect(sealed).not.toContain('hello');
    expect(unseal(key, sealed, 'ctx-a')).toBe('hello');
    expect(() => unseal(key, sealed, 'ctx-b')).toThrow(/wrong master secret or corrupted/);
  });

  it('detects tampering and a wrong key', () => {
    const sealed = seal(key, 'hello', 'ctx');
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(() => unseal(key, tampered, 'ctx')).toThrow();
    const other = deriveKey('another-master-secret-long-enough!!!!', 'keyset-at-rest');
    expect(() => unseal(other, sealed, 'ctx')).toThrow(/wrong master secret/);
  });

  it('derives distinct keys per purpose', () => {
    expect(deriveKey('same-secret-same-secret-same-secret', 'keyset-at-rest').equals(deriveKey('same-secret-same-secret-same-secret', 'cookie-signing'))).toBe(false);
  });
});

describe('node:crypto signing keys', () => {
  it.each(['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const)('%s signatures verify with jose against the published key', async (alg) => {
    const { generateSigningKey } = await import('../../src/keys/keyset.ts');
    const { NodeSigningKey } = await import('../../src/keys/node-signing-key.ts');
    const { compactVerify, importJWK } = await import('jose');
    const stored = await generateSigningKey(alg, 0);
    const key = new NodeSigningKey(stored.jwk as ConstructorParameters<typeof NodeSigningKey>[0]);
    const header = Buffer.from(JSON.stringify({ alg, kid: key.kid })).toString('base64url');
    const payload = Buffer.from('{"hello":"world"}').toString('base64url');
    const signature = Buffer.from(key.sign(Buffer.from(`${header}.${payload}`))).toString('base64url');
    const publicJwk = key.keyObject().export({ format: 'jwk' });
    expect(publicJwk).not.toHaveProperty('d');
    const verified = await compactVerify(`${header}.${payload}.${signature}`, await importJWK({ ...publicJwk, alg }, alg));
    expect(Buffer.from(verified.payload).toString()).toBe('{"hello":"world"}');
  });
});

describe('activation delay (several instances)', () => {
  it('publishes a rotated-in key first, signs with it only after the delay, and says when that happens', async () => {
    const { nextSwitch } = await import('../../src/keys/keyset.ts');
    const initial = await ensureAlgorithms({ keys: [] }, ['ES256'], 1000);
    const rotated = await rotate(initial, ['ES256'], 2000, 3600, 90);
    const oldKid = initial.keys[0]!.kid;
    const newKid = rotated.keys.find((k) => k.kid !== oldKid)!.kid;
    expect(providerJwks(rotated, 2000).keys.map((k) => k.kid)).toEqual([oldKid, newKid]);
    expect(providerJwks(rotated, 2089).keys[0]!.kid).toBe(oldKid);
    expect(providerJwks(rotated, 2090).keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
    expect(nextSwitch(rotated, 2000)).toBe(2090);
    expect(nextSwitch(rotated, 2090)).toBeUndefined();
  });
});
