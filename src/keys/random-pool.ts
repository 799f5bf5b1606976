// Random bytes for nonces (AES-GCM IVs), taken from a buffer that node:crypto's CSPRNG refills 4 KiB
// at a time: `randomBytes(12)` runs one native job per call (~5 µs, as long as a whole refill), and
// every refresh seals a successor. Each byte of the pool is handed out once, then zeroed.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let taken = POOL_BYTES;

/** `size` fresh random bytes (a copy: nothing the caller does reaches the pool). */
export function randomNonce(size: number): Buffer {
  if (!Number.isInteger(size) || size < 1 || size > POOL_BYTES) throw new RangeError(`a nonce is 1 to ${POOL_BYTES} bytes, not ${size}`);
  if (taken + size > POOL_BYTES) {
    randomFillSync(pool);
    taken = 0;
  }
  const nonce = Buffer.from(pool.subarray(taken, taken + size));
  pool.fill(0, taken, taken + size);
  taken += size;
  return nonce;
}
