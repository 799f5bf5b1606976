// Nonces from the pooled CSPRNG (src/keys/random-pool.ts): fresh on every call, across refills, never
// shared with the pool or another caller, and the sealing that uses them still opens.
import { describe, expect, it } from 'vitest';

import { keyFrom, openSuccessor, sealSuccessor } from '../../src/grants/refresh-rotation.ts';
import { randomNonce } from '../../src/keys/random-pool.ts';
import { deriveKey, seal, unseal } from '../../src/keys/seal.ts';

describe('pooled nonces', () => {
  it('never repeats a nonce, across many refills of the pool', () => {
    // 20,000 x 12 bytes: ~59 refills of the 4 KiB pool, and sizes that do not divide it.
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i += 1) seen.add(randomNonce(i % 7 === 0 ? 13 : 12).toString('hex'));
    expect(seen.size).toBe(20_000);
  });

  it('hands out copies: changing one changes neither the pool nor the next nonce', () => {
    const first = randomNonce(12);
    const second = randomNonce(12);
    const secondBefore = Buffer.from(second);
    first.fill(0);
    expect(second.equals(secondBefore)).toBe(true);
    // A view on the pool would read the zeros it leaves behind, or bytes another caller got.
    const next = randomNonce(12);
    expect(next.equals(Buffer.alloc(12))).toBe(false);
    expect(next.equals(secondBefore)).toBe(false);
  });

  it('looks random: every byte value shows up over 64 KiB', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 16; i += 1) for (const byte of randomNonce(4096)) counts[byte]! += 1;
    // 65,536 bytes: each value expected 256 times; below 128 is ~10 standard deviations off.
    expect(Math.min(...counts)).toBeGreaterThan(128);
  });

  it('refuses sizes it cannot serve from the pool', () => {
    for (const size of [0, -1, 1.5, 4097, Number.NaN]) expect(() => randomNonce(size)).toThrow(RangeError);
  });

  it('seals with a fresh IV every time, and what it seals opens', () => {
    const key = deriveKey('a-master-secret-of-enough-length-0123456789', 'upstream-vault');
    const a = seal(key, 'upstream refresh token', 'ctx');
    const b = seal(key, 'upstream refresh token', 'ctx');
    expect(a).not.toBe(b);
    expect(unseal(key, a, 'ctx')).toBe('upstream refresh token');
    const old = 'old-refresh-token-value';
    const first = sealSuccessor(old, 'successor');
    const second = sealSuccessor(old, 'successor');
    // The same key (from the old value) twice: the IVs must differ (AES-GCM must never reuse one).
    expect(Buffer.from(first, 'base64url').subarray(0, 12).equals(Buffer.from(second, 'base64url').subarray(0, 12))).toBe(false);
    expect(openSuccessor(old, first)).toBe('successor');
    expect(openSuccessor(old, second)).toBe('successor');
    expect(keyFrom(old)).toHaveLength(32);
  });
});
