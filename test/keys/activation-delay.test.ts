// With a shared store, a key rotated in at one instance is published by every instance before any
// signs with it: the running Baton keeps signing with the old key until the activation time, then
// switches by itself.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KeyStore } from '../../src/keys/key-store.ts';
import { deriveKey } from '../../src/keys/seal.ts';
import { keyRetention } from '../../src/keys/policy.ts';
import { ORDERS_API, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, TEST_MASTER_SECRET, type RunningBaton } from '../helpers/baton.ts';
import { discover } from '../helpers/rp.ts';

let now = Date.now();
let baton: RunningBaton;
beforeAll(async () => {
  baton = await startBaton({ ...standardConfig, keys: { masterSecret: TEST_MASTER_SECRET, activationDelay: '60s' } }, { clock: () => now });
});
afterAll(() => baton.stop());

async function issue(): Promise<string> {
  const rp = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
  return (await client.clientCredentialsGrant(rp, { resource: ORDERS_API, scope: 'orders:read' })).access_token;
}

describe('key activation delay', () => {
  it('publishes, then signs after the delay', async () => {
    const before = decodeProtectedHeader(await issue()).kid;
    const keyStore = new KeyStore({ store: baton.baton.store, sealKey: deriveKey(TEST_MASTER_SECRET, 'keyset-at-rest'), algorithms: ['ES256', 'RS256'], retention: keyRetention(baton.config), activationDelay: 60, clock: () => now });
    const rotated = await keyStore.rotate();
    const fresh = rotated.keys.keys.filter((k) => k.activatesAt !== undefined).map((k) => k.kid);

    expect(await baton.baton.reloadKeys()).toBe(true);
    const jwks = (await (await fetch(`${baton.url}/jwks`)).json()) as JSONWebKeySet;
    expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining(fresh));
    expect(decodeProtectedHeader(await issue()).kid).toBe(before);

    now += 61_000;
    expect(await baton.baton.reloadKeys()).toBe(true);
    const after = await issue();
    expect(fresh).toContain(decodeProtectedHeader(after).kid);
    const published = createLocalJWKSet((await (await fetch(`${baton.url}/jwks`)).json()) as JSONWebKeySet);
    await expect(jwtVerify(after, published, { audience: ORDERS_API })).resolves.toBeTruthy();
  });
});
