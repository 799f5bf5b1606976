// Client secrets stored as scrypt hashes (PHC-like string, as `baton hash-secret` prints), so a
// leaked configuration file does not leak working credentials. Plain secrets keep oidc-provider's
// constant-time comparison.
import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

import { SECRET_HASH } from '../config/schema.ts';

const DEFAULTS = { ln: 14, r: 8, p: 1 };
const KEY_BYTES = 32;

function scrypt(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function options(ln: number, r: number, p: number): ScryptOptions {
  return { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r + 1024 * 1024 };
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, options(DEFAULTS.ln, DEFAULTS.r, DEFAULTS.p));
  return `$scrypt$ln=${DEFAULTS.ln},r=${DEFAULTS.r},p=${DEFAULTS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export function isSecretHash(value: unknown): value is string {
  return typeof value === 'string' && SECRET_HASH.test(value);
}

export async function verifySecret(secret: string, hash: string): Promise<boolean> {
  const [, , params, salt, expected] = hash.split('$');
  const match = /^ln=(\d+),r=(\d+),p=(\d+)$/.exec(params ?? '');
  if (!match || salt === undefined || expected === undefined) return false;
  const expectedKey = Buffer.from(expected, 'base64url');
  const key = await scrypt(secret, Buffer.from(salt, 'base64url'), options(Number(match[1]), Number(match[2]), Number(match[3])));
  return key.length === expectedKey.length && timingSafeEqual(key, expectedKey);
}

/**
 * Remembers the digest of the last secret that verified against each hash, so a legitimate client
 * pays the scrypt cost once per process rather than once per token request. Only successes are kept.
 */
export class SecretVerifier {
  readonly #verified = new Map<string, Buffer>();

  /** Whether `secret` is the one that last verified against `hash` (constant-time; never runs scrypt). */
  known(secret: string, hash: string): boolean {
    const known = this.#verified.get(hash);
    return known !== undefined && timingSafeEqual(known, createHash('sha256').update(secret).digest());
  }

  async verify(secret: string, hash: string): Promise<boolean> {
    const digest = createHash('sha256').update(secret).digest();
    const known = this.#verified.get(hash);
    if (known && timingSafeEqual(known, digest)) return true;
    const ok = await verifySecret(secret, hash);
    if (ok) this.#verified.set(hash, digest);
    return ok;
  }
}
