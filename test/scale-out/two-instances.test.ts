// Two Baton processes behind one issuer, sharing PostgreSQL and Redis (the split store): A runs in
// the test process, B is a real `baton start` process. What one issues the other honours, and a key
// rotated at A is published by B (which reloads keys by itself) before A signs with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { stringify } from 'yaml';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load.ts';
import { KeyStore } from '../../src/keys/key-store.ts';
import { deriveKey } from '../../src/keys/seal.ts';
import { keyRetention } from '../../src/keys/policy.ts';
import { createBaton, type Baton } from '../../src/server.ts';
import { ORDERS_API, WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { freePort, TEST_ENV, TEST_MASTER_SECRET } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';

const schema = uniqueSchema('scale');
const keyPrefix = uniquePrefix();
let now = Date.now();
let a: { baton: Baton; url: string };
let b: { process: ChildProcess; url: string };
let issuer: string;
const dir = mkdtempSync(join(tmpdir(), 'baton-scale-out-'));

beforeAll(async () => {
  await Promise.all([requirePostgres(), requireRedis()]);
  const [portA, portB] = [await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${portA}`;
  const raw = {
    ...standardConfig,
    issuer,
    keys: { masterSecret: TEST_MASTER_SECRET, activationDelay: '60s', reloadInterval: '1s' },
    storage: { type: 'split', durable: { type: 'postgres', url: POSTGRES_URL, schema, timeout: '5s' }, shortLived: { type: 'redis', url: REDIS_URL, keyPrefix, timeout: '2s' } },
  };
  const config = validateConfig(raw, 'scale-out', { env: { ...process.env, ...TEST_ENV } });
  const baton = await createBaton(config, { logger: pino({ level: process.env.BATON_TEST_LOG ?? 'silent' }), keyReloadInterval: 0, clock: () => now });
  await baton.listen(portA, '127.0.0.1');
  a = { baton, url: `http://127.0.0.1:${portA}` };

  const file = join(dir, 'baton.yaml');
  writeFileSync(file, stringify({ ...raw, server: { host: '127.0.0.1', port: portB }, logging: { level: 'warn' } }));
  const child = spawn(process.execPath, [fileURLToPath(new URL('../../bin/baton.js', import.meta.url)), 'start', '--config', file], { env: { ...process.env, ...TEST_ENV }, stdio: ['ignore', 'pipe', 'inherit'] });
  b = { process: child, url: `http://127.0.0.1:${portB}` };
  const deadline = Date.now() + 20_000;
  while ((await fetch(`${b.url}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > deadline) throw new Error('baton process B did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});
afterAll(async () => {
  if (b?.process.exitCode === null) {
    const exited = new Promise((resolve) => b.process.once('exit', resolve));
    process.kill(b.process.pid!, 'SIGTERM');
    await exited;
  }
  await a?.baton.close();
  await dropSchema(schema);
  await dropPrefix(keyPrefix);
  rmSync(dir, { recursive: true, force: true });
});

const [A, B] = [() => a, () => b];
const token = (at: { url: string }, body: URLSearchParams | string, clientId = 'web', secret = TEST_ENV.WEB_SECRET) => postForm(`${at.url}/token`, body, { authorization: basic(clientId, secret) });
const jwksOf = async (at: { url: string }) => (await (await fetch(`${at.url}/jwks`)).json()) as JSONWebKeySet;

describe('two instances sharing PostgreSQL and Redis', () => {
  it('a code issued at A is redeemed at B; its refresh token is rotated at A and its reuse refused at B', async () => {
    const seeded = await seedAuthorizationCode(A().baton, { clientId: 'web', redirectUri: WEB_REDIRECT, resource: ORDERS_API, resourceScope: 'orders:read' });
    const redeemed = await token(B(), new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier }));
    expect(redeemed.json).toMatchObject({ token_type: 'Bearer' });
    const refreshed = await token(A(), new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(redeemed.json.refresh_token) }));
    expect(refreshed.json).toMatchObject({ token_type: 'Bearer' });
    // Reuse is a presentation after the successor was used (inside the grace window the same client would get the successor again).
    const next = await token(B(), new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(refreshed.json.refresh_token) }));
    expect(next.json).toMatchObject({ token_type: 'Bearer' });
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
    // B finds the rotation by itself (keys.reloadInterval 1 s) and publishes the new keys...
    await expect.poll(async () => (await jwksOf(B())).keys.map((k) => k.kid), { timeout: 10_000, interval: 250 }).toEqual(expect.arrayContaining(fresh));
    // ...while A still signs with the old ones until the activation time.
    const early = await token(A(), `grant_type=client_credentials&resource=${encodeURIComponent(ORDERS_API)}&scope=orders:read`, 'service', TEST_ENV.SERVICE_SECRET);
    expect(fresh).not.toContain(decodeProtectedHeader(String(early.json.access_token)).kid);

    now += 61_000;
    await A().baton.reloadKeys();
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
