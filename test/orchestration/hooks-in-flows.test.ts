// Hooks in Baton's flows: which hook runs (or not) in each flow, that reserved claims survive, and
// that a failing hook fails the request cleanly. Real TS and JS hook modules from fixtures/.
import { fileURLToPath } from 'node:url';

import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { WEB_REDIRECT } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, discover, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { calls } from './fixtures/flow-hooks.ts';

const API = 'https://orders.api.example';
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

let baton: RunningBaton;
beforeAll(async () => {
  baton = await startBaton({
    resources: [{ id: API, scopes: ['orders:read'] }],
    hooks: { module: './userinfo-hooks.mjs' },
    clients: [
      { client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT], resources: [{ id: API }], hooks: { module: './flow-hooks.ts' } },
      { client_id: 'service', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API }], hooks: { module: './flow-hooks.ts' } },
      { client_id: 'fragile', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API }], hooks: { module: './failing-hooks.ts', timeout: '1s' } },
      { client_id: 'fragile-web', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT], resources: [{ id: API }], hooks: { module: './failing-hooks.ts', timeout: '1s' } },
    ],
  }, { configDir: fixtures });
});
afterAll(() => baton.stop());
beforeEach(() => {
  calls.length = 0;
});

const hooksCalled = () => calls.map((c) => `${c.hook}:${c.grantType ?? c.flow}`);
const jwks = () => createRemoteJWKSet(new URL(`${baton.url}/jwks`));

describe('hooks at the token endpoint', () => {
  it('authorization_code: buildIDTokenClaims and buildAccessTokenClaims run; reserved claims survive', async () => {
    const rp = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, accountId: 'entra:ann', resource: API, resourceScope: 'orders:read' });
    const tokens = await client.authorizationCodeGrant(rp, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    expect(hooksCalled().sort()).toEqual(['buildAccessTokenClaims:authorization_code', 'buildIDTokenClaims:authorization_code']);

    const id = tokens.claims()!;
    expect(id).toMatchObject({ sub: 'entra:ann', nonce: seeded.nonce, department: 'none', iss: baton.url, aud: 'web' });
    const { payload } = await jwtVerify(tokens.access_token, jwks(), { issuer: baton.url, audience: API });
    expect(payload).toMatchObject({ tier: 'gold', scope: 'orders:read', client_id: 'web', sub: 'entra:ann', iss: baton.url });

    calls.length = 0;
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    // A refresh runs the client's decision again (isAuthorized on the stored account), then the claims.
    expect(hooksCalled()).toEqual(['isAuthorized:token', 'buildAccessTokenClaims:refresh_token']);
    expect((await jwtVerify(refreshed.access_token, jwks(), { audience: API })).payload.tier).toBe('gold');
  });

  it('client_credentials: buildAccessTokenClaims without a user, never buildIDTokenClaims', async () => {
    const rp = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
    const tokens = await client.clientCredentialsGrant(rp, { resource: API, scope: 'orders:read' });
    expect(calls).toEqual([{ hook: 'buildAccessTokenClaims', flow: 'token', grantType: 'client_credentials', sub: undefined }]);
    expect((await jwtVerify(tokens.access_token, jwks(), { audience: API })).payload).toMatchObject({ tier: 'gold', client_id: 'service', sub: 'service' });
  });

  it('a hook that throws fails the token request with server_error, no token, no internals', async () => {
    const res = await postForm(`${baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=orders:read`, { authorization: basic('fragile', TEST_ENV.SERVICE_SECRET) });
    expect(res.status).toBe(500);
    expect(res.json.error).toBe('server_error');
    expect(res.json.access_token).toBeUndefined();
    expect(res.text).not.toMatch(/hunter2|failing-hooks|at .+:\d+/);
  });

  it('a hook that exceeds its deadline fails the token request cleanly', async () => {
    const rp = await discover(baton.url, 'fragile-web', TEST_ENV.WEB_SECRET);
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'fragile-web', redirectUri: WEB_REDIRECT, resource: API, resourceScope: 'orders:read' });
    const started = Date.now();
    const res = await postForm(`${baton.url}/token`, new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier }), { authorization: basic('fragile-web', TEST_ENV.WEB_SECRET) });
    expect(res.status).toBe(500);
    expect(res.json.error).toBe('server_error');
    expect(Date.now() - started).toBeLessThan(5000);
    void rp;
  });
});

describe('hooks at userinfo', () => {
  it('buildUserInfoClaims (provider level, JavaScript) replaces the scope claims entirely; sub survives', async () => {
    const rp = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, accountId: 'entra:ann', scope: 'openid email', claims: { email: 'ann@example.com', email_verified: true, name: 'Ann' } });
    const tokens = await client.authorizationCodeGrant(rp, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    const userinfo = await client.fetchUserInfo(rp, tokens.access_token, 'entra:ann');
    expect(userinfo).toEqual({ sub: 'entra:ann', display_name: 'Ann (web)' });
  });
});
