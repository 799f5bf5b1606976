// The JWT Baton presents to authorizers is signed with the key that signs tokens now: a key rotated
// in under an activation delay is published first, so it must not sign authorizer requests either
// until it activates (another instance's JWKS may not list it yet).
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';

import { ensureAlgorithms, rotate } from '../../src/keys/keyset.ts';
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
});
