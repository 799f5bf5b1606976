// client_credentials (RFC 6749 section 4.4) with resource indicators (RFC 8707) giving RFC 9068 JWT
// access tokens, requested by openid-client and verified with jose against Baton's JWKS.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hashSecret } from '../../src/provider/client-secret.ts';
import { BILLING_API, ORDERS_API, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { discover, rejection } from '../helpers/rp.ts';

const HASHED_SECRET = 'hashed-client-secret-value-42';

let baton: RunningBaton;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  baton = await startBaton({
    ...standardConfig,
    clients: [
      ...standardConfig.clients,
      {
        client_id: 'hashed',
        client_secret_hash: await hashSecret(HASHED_SECRET),
        grant_types: ['client_credentials'],
        resources: [{ id: ORDERS_API }],
      },
    ],
  });
  jwks = createRemoteJWKSet(new URL(`${baton.url}/jwks`));
});
afterAll(() => baton.stop());

describe('client_credentials with a resource', () => {
  it('issues an RFC 9068 JWT access token that verifies against the JWKS', async () => {
    const rp = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
    const before = Math.floor(Date.now() / 1000);
    const tokens = await client.clientCredentialsGrant(rp, { resource: ORDERS_API, scope: 'orders:read' });

    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.scope).toBe('orders:read');
    expect(tokens.expires_in).toBe(600);
    expect(tokens.refresh_token).toBeUndefined();

    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: baton.url, audience: ORDERS_API, typ: 'at+jwt' });
    expect(payload).toMatchObject({ client_id: 'service', sub: 'service', scope: 'orders:read' });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(payload.iat!).toBeGreaterThanOrEqual(before);
  });

  it('signs with the resource\'s own algorithm when it sets one', async () => {
    const rp = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
    const tokens = await client.clientCredentialsGrant(rp, { resource: BILLING_API, scope: 'billing:read' });
    expect(decodeProtectedHeader(tokens.access_token).alg).toBe('RS256');
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: baton.url, audience: BILLING_API, typ: 'at+jwt' });
    expect(payload.scope).toBe('billing:read');
  });

  it('defaults to the client\'s only resource and accepts client_secret_post', async () => {
    const rp = await discover(baton.url, 'single-api-service', TEST_ENV.SERVICE_SECRET, 'post');
    const tokens = await client.clientCredentialsGrant(rp, { scope: 'orders:read orders:write' });
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: baton.url, audience: ORDERS_API });
    expect(payload.scope).toBe('orders:read orders:write');
  });

  it('authenticates a client configured with a scrypt hash of its secret', async () => {
    const rp = await discover(baton.url, 'hashed', HASHED_SECRET);
    const tokens = await client.clientCredentialsGrant(rp, { scope: 'orders:read' });
    await expect(jwtVerify(tokens.access_token, jwks, { audience: ORDERS_API })).resolves.toBeTruthy();
    const wrong = await discover(baton.url, 'hashed', `${HASHED_SECRET}x`);
    expect(await rejection(client.clientCredentialsGrant(wrong, { scope: 'orders:read' }))).toEqual({ error: 'invalid_client', status: 401 });
  });

  it('refuses the hash itself presented as the secret', async () => {
    const config = baton.config.clients.find((c) => c.client_id === 'hashed')!;
    const rp = await discover(baton.url, 'hashed', config.client_secret_hash);
    expect(await rejection(client.clientCredentialsGrant(rp))).toEqual({ error: 'invalid_client', status: 401 });
  });
});

describe('client_credentials without a resource', () => {
  it('issues an opaque token without audience when the client has several APIs and asks no scope', async () => {
    const rp = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
    const tokens = await client.clientCredentialsGrant(rp);
    expect(() => decodeProtectedHeader(tokens.access_token)).toThrow();
    expect(tokens.scope).toBeUndefined();
  });
});
