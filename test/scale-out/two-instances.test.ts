// Two Baton instances behind one issuer, sharing PostgreSQL and Redis (the split store): what one
// issues the other honours, and a key rotated at one is published by both before either signs.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load.ts';
import { KeyStore } from '../../src/keys/key-store.ts';
import { deriveKey } from '../../src/keys/seal.ts';
import { createBaton, keyRetention, type Baton } from '../../src/server.ts';
import { ORDERS_API, WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { freePort, TEST_ENV, TEST_MASTER_SECRET } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';

const schema = uniqueSchema('scale');
const keyPrefix = uniquePrefix();
let now = Date.now();
const instances: Array<{ baton: Baton; url: string }> = [];
let issuer: string;

beforeAll(async () => {
  await Promise.all([requirePostgres(), requireRedis()]);
  const ports = [await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${ports[0]}`;
  const config = validateConfig({
    ...standardConfig,
    issuer,
    keys: { masterSecret: TEST_MASTER_SECRET, activationDelay: '60s' },
    storage: { type: 'split', durable: { type: 'postgres', url: POSTGRES_URL, schema, timeout: '5s' }, shortLived: { type: 'redis', url: REDIS_URL, keyPrefix, timeout: '2s' } },
  }, 'scale-out', { env: { ...process.env, ...TEST_ENV } });
  for (const port of ports) {
    const baton = await createBaton(config, { logger: pino({ level: process.env.BATON_TEST_LOG ?? 'silent' }), keyReloadInterval: 0, clock: () => now });
    await baton.listen(port, '127.0.0.1');
    instances.push({ baton, url: `http://127.0.0.1:${port}` });
  }
});
afterAll(async () => {
  for (const { baton } of instances) await baton.close();
  await dropSchema(schema);
  await dropPrefix(keyPrefix);
});

const [A, B] = [() => instances[0]!, () => instances[1]!];
const token = (at: { url: string }, body: URLSearchParams | string, clientId = 'web', secret = TEST_ENV.WEB_SECRET) => postForm(`${at.url}/token`, body, { authorization: basic(clientId, secret) });
const jwksOf = async (at: { url: string }) => (await (await fetch(`${at.url}/jwks`)).json()) as JSONWebKeySet;

describe('two instances sharing PostgreSQL and Redis', () => {
  it('a code issued at A is redeemed at B; its refresh token is rotated at A and its reuse refused at B', async () => {
    const seeded = await seedAuthorizationCode(A().baton, { clientId: 'web', redirectUri: WEB_REDIRECT, resource: ORDERS_API, resourceScope: 'orders:read' });
    const redeemed = await token(B(), new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier }));
    expect(redeemed.json).toMatchObject({ token_type: 'Bearer' });
    const refreshed = await token(A(), new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(redeemed.json.refresh_token) }));
    expect(refreshed.json).toMatchObject({ token_type: 'Bearer' });
    const reused = await token(B(), new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(redeemed.json.refresh_token) }));
    expect(reused.json.error).toBe('invalid_grant');

    // The code is spent everywhere (and its replay revokes what it issued, RFC 6749 section 4.1.2).
    const replay = await token(A(), new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier }));
    expect(replay.json.error).toBe('invalid_grant');
  });

  it('both publish the same keys, and a token signed at A verifies at B', async () => {
    expect((await jwksOf(A())).keys.map((k) => k.kid).sort()).toEqual((await jwksOf(B())).keys.map((k) => k.kid).sort());
    const issued = await token(A(), `grant_type=client_credentials&resource=${encodeURIComponent(ORDERS_API)}&scope=orders:read`, 'service', TEST_ENV.SERVICE_SECRET);
    await expect(jwtVerify(String(issued.json.access_token), createLocalJWKSet(await jwksOf(B())), { issuer, audience: ORDERS_API })).resolves.toBeTruthy();
  });

  it('a key rotated at A is published by B before A signs with it', async () => {
    const keyStore = new KeyStore({ store: A().baton.store, sealKey: deriveKey(TEST_MASTER_SECRET, 'keyset-at-rest'), algorithms: ['ES256', 'RS256'], retention: keyRetention(A().baton.config), activationDelay: 60, clock: () => now });
    const rotated = await keyStore.rotate();
    const fresh = rotated.keys.keys.filter((k) => k.activatesAt !== undefined).map((k) => k.kid);
    await A().baton.reloadKeys();
    await B().baton.reloadKeys();
    expect((await jwksOf(B())).keys.map((k) => k.kid)).toEqual(expect.arrayContaining(fresh));

    now += 61_000;
    await A().baton.reloadKeys();
    await B().baton.reloadKeys();
    const issued = await token(A(), `grant_type=client_credentials&resource=${encodeURIComponent(ORDERS_API)}&scope=orders:read`, 'service', TEST_ENV.SERVICE_SECRET);
    expect(fresh).toContain(decodeProtectedHeader(String(issued.json.access_token)).kid);
    await expect(jwtVerify(String(issued.json.access_token), createLocalJWKSet(await jwksOf(B())), { issuer, audience: ORDERS_API })).resolves.toBeTruthy();
  });

  it('a revocation at B is seen at A', async () => {
    const seeded = await seedAuthorizationCode(A().baton, { clientId: 'web', redirectUri: WEB_REDIRECT });
    const tokens = await token(A(), new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier }));
    const revoked = await postForm(`${B().url}/revoke`, `token=${tokens.json.refresh_token}`, { authorization: basic('web', TEST_ENV.WEB_SECRET) });
    expect(revoked.status).toBe(200);
    const introspected = await postForm(`${A().url}/introspect`, `token=${tokens.json.refresh_token}`, { authorization: basic('web', TEST_ENV.WEB_SECRET) });
    expect(introspected.json).toEqual({ active: false });
  });
});
