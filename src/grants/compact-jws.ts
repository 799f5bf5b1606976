// One spelling per token: RFC 7515 section 7.1 compact serialization held to canonical base64url
// (section 2: no padding, no whitespace, no stray trailing bits), and the identity a single-use
// token is spent under, which depends on what the token says, not on how it is written.
import { hash } from 'node:crypto';

/**
 * Whether `token` is three base64url segments that each re-encode to exactly themselves. jose
 * (through atob) also accepts whitespace and non-zero trailing bits, so one signature has several
 * spellings that all verify. The re-encoding is made of base64url characters only, so a segment
 * equal to it has no other character (padding, `+`, `/`, whitespace): no separate character test.
 */
export function isCanonicalCompact(token: string): boolean {
  const segments = token.split('.');
  return segments.length === 3 && segments.every((s) => s.length > 0 && Buffer.from(s, 'base64url').toString('base64url') === s);
}

/**
 * The replay identity of a verified single-use JWT: its issuer and `jti` when it has one; else a
 * hash of the signed content (header and payload, fixed by the signature). Never the signature
 * itself: an ECDSA signature (r, s) has a twin (r, n - s) that anyone can compute and that verifies.
 */
export function replayIdentity(issuer: string, token: string, jti: unknown): string {
  if (typeof jti === 'string' && jti !== '') return `jti:${sha256(`${issuer} ${jti}`)}`;
  const signed = token.slice(0, token.lastIndexOf('.'));
  return `jws:${sha256(signed)}`;
}

function sha256(value: string): string {
  // The one-shot digest: a Hash object per call costs ~10 times as much.
  return hash('sha256', value, 'base64url');
}
