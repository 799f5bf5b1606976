// Encryption at rest: AES-256-GCM under keys derived from the master secret with HKDF-SHA256
// (RFC 5869), one derived key per purpose so a key is never used for two things.
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

import { randomNonce } from './random-pool.ts';

const FORMAT = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type Purpose = 'keyset-at-rest' | 'cookie-signing' | 'upstream-vault' | 'passthrough-refresh' | 'token-ids-at-rest' | 'bff-sessions' | 'trace-redaction';

export function deriveKey(masterSecret: string, purpose: Purpose): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(masterSecret, 'utf8'), Buffer.from('baton/v1'), Buffer.from(purpose), 32));
}

/** Encrypts `plaintext`; `context` is bound as additional data and must match on open. */
export function seal(key: Buffer, plaintext: string, context: string): string {
  const iv = randomNonce(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${FORMAT}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
}

export class UnsealError extends Error {
  override readonly name = 'UnsealError';
}

export function unseal(key: Buffer, sealed: string, context: string): string {
  const [format, encoded] = sealed.split('.');
  if (format !== FORMAT || encoded === undefined) throw new UnsealError(`unknown sealed format ${format ?? ''}`);
  const raw = Buffer.from(encoded, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new UnsealError('sealed value is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new UnsealError('cannot decrypt: wrong master secret or corrupted data');
  }
}
