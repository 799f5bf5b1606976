// The key sealing a rotated refresh token's successor (grants/refresh-rotation.ts) is HKDF-SHA256 of
// the old value, computed as its two HMAC steps: it must be byte for byte what node:crypto's
// hkdfSync derives, so successors sealed before the change (inside a grace window during a rolling
// upgrade) still open, and nothing else opens them.
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { keyFrom, openSuccessor, sealSuccessor } from '../../src/grants/refresh-rotation.ts';

const SALT = Buffer.from('baton/v1 refresh-grace');
const hkdf = (value: string) => Buffer.from(hkdfSync('sha256', Buffer.from(value, 'utf8'), SALT, Buffer.from('successor'), 32));

/** A successor sealed exactly as the hkdfSync version did. */
function sealedWithHkdf(oldValue: string, successor: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', hkdf(oldValue), iv);
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

describe('the successor key', () => {
  it('is the HKDF-SHA256 of the old value, for token-like, empty, long and non-ASCII values', () => {
    for (const value of [randomBytes(32).toString('base64url'), '', 'x'.repeat(500), 'jeton-été-🔑']) {
      expect(keyFrom(value).equals(hkdf(value))).toBe(true);
    }
  });

  it('opens a successor sealed with hkdfSync, and seals one hkdfSync opens', () => {
    const old = randomBytes(32).toString('base64url');
    expect(openSuccessor(old, sealedWithHkdf(old, 'the-successor'))).toBe('the-successor');
    expect(openSuccessor(old, sealSuccessor(old, 'another-successor'))).toBe('another-successor');
  });

  it('differs for another old value, which cannot open the sealed successor', () => {
    const old = randomBytes(32).toString('base64url');
    const other = `${old.slice(0, -1)}${old.endsWith('A') ? 'B' : 'A'}`;
    expect(keyFrom(other).equals(keyFrom(old))).toBe(false);
    expect(openSuccessor(other, sealSuccessor(old, 'the-successor'))).toBeUndefined();
  });
});
