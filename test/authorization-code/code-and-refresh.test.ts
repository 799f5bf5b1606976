// authorization_code + PKCE (RFC 7636, S256 only) and refresh_token rotation with reuse detection
// (RFC 9700 section 4.14.2), redeemed by openid-client, which validates the id_token itself.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ORDERS_API, SPA_REDIRECT, WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, discover, postForm, rejection } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';

let baton: RunningBaton;
let web: client.Configuration;
beforeAll(async () => {
  // `web` is strict (refreshTokenReuseGrace 0): any second presentation of a rotated token is reuse.
  // The grace window of the default is proven in test/refresh/.
  baton = await startBaton({ ...standardConfig, clients: standardConfig.clients.map((c) => (c.client_id === 'web' ? { ...c, refreshTokenReuseGrace: 0 } : c)) });
  web = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
});
afterAll(() => baton.stop());

describe('authorization code exchange', () => {
  it('returns a valid id_token, a JWT access token for the granted API and a refresh token', async () => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, resource: ORDERS_API, resourceScope: 'orders:read' });
    const tokens = await client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce, idTokenExpected: true });

    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: baton.url, aud: 'web', sub: 'alice', email: 'alice@example.com', email_verified: true, nonce: seeded.nonce });
    expect(claims).not.toHaveProperty('name'); // profile was not granted
    expect(typeof tokens.refresh_token).toBe('string');

    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${baton.url}/jwks`)), { issuer: baton.url, audience: ORDERS_API });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({ sub: 'alice', client_id: 'web', scope: 'orders:read' });
  });

  it('refuses a wrong PKCE verifier with invalid_grant', async () => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT });
    const wrong = client.randomPKCECodeVerifier();
    expect(await rejection(client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: wrong, expectedNonce: seeded.nonce }))).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a missing PKCE verifier with invalid_grant', async () => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT });
    const res = await postForm(`${baton.url}/token`, new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT }), { authorization: basic('web', TEST_ENV.WEB_SECRET) });
    expect(res.json.error).toBe('invalid_grant');
  });

  it('refuses a redirect_uri different from the one the code was issued for', async () => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT });
    const res = await postForm(`${baton.url}/token`, new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: 'https://web.example/other', code_verifier: seeded.codeVerifier }), { authorization: basic('web', TEST_ENV.WEB_SECRET) });
    expect(res.json.error).toBe('invalid_grant');
  });

  it('lets a public client redeem its code with PKCE and no secret', async () => {
    const spa = await discover(baton.url, 'spa', undefined, 'none');
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'spa', redirectUri: SPA_REDIRECT });
    const tokens = await client.authorizationCodeGrant(spa, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    expect(tokens.claims()?.aud).toBe('spa');
  });

  it('a code redeemed twice fails the second time and revokes what the first issued', async () => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT });
    const first = await client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    expect(await rejection(client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce }))).toMatchObject({ error: 'invalid_grant' });
    const introspected = await client.tokenIntrospection(web, first.refresh_token!);
    expect(introspected.active).toBe(false);
  });

  it('20 concurrent redemptions of one code: exactly one succeeds', async () => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT });
    const body = new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier });
    const results = await Promise.all(Array.from({ length: 20 }, () => postForm(`${baton.url}/token`, body, { authorization: basic('web', TEST_ENV.WEB_SECRET) })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.json.error === 'invalid_grant')).toHaveLength(19);
  });
});

describe('refresh token rotation', () => {
  async function freshTokens() {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, resource: ORDERS_API, resourceScope: 'orders:read' });
    return client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
  }

  it('issues a new refresh token on every use and a new access token for the API', async () => {
    const first = await freshTokens();
    const second = await client.refreshTokenGrant(web, first.refresh_token!);
    expect(second.refresh_token).toBeDefined();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const { payload } = await jwtVerify(second.access_token, createRemoteJWKSet(new URL(`${baton.url}/jwks`)), { issuer: baton.url, audience: ORDERS_API });
    expect(payload.scope).toBe('orders:read');
    const third = await client.refreshTokenGrant(web, second.refresh_token!);
    expect(third.refresh_token).not.toBe(second.refresh_token);
  });

  it('strict client: reuse of a rotated refresh token is invalid_grant and revokes the whole family', async () => {
    const first = await freshTokens();
    const second = await client.refreshTokenGrant(web, first.refresh_token!);
    expect(await rejection(client.refreshTokenGrant(web, first.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    // The legitimate holder's newer token died with the family.
    expect(await rejection(client.refreshTokenGrant(web, second.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });

  it('strict client: 10 concurrent refreshes of one token: exactly one succeeds', async () => {
    const first = await freshTokens();
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token! });
    const results = await Promise.all(Array.from({ length: 10 }, () => postForm(`${baton.url}/token`, body, { authorization: basic('web', TEST_ENV.WEB_SECRET) })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.json.error === 'invalid_grant')).toHaveLength(9);
  });

  it('a refresh token belongs to its client', async () => {
    const first = await freshTokens();
    const spa = await discover(baton.url, 'spa', undefined, 'none');
    expect(await rejection(client.refreshTokenGrant(spa, first.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('userinfo', () => {
  it('serves the claims of the granted scopes for an access token without a resource', async () => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid email' });
    const tokens = await client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    const userinfo = await client.fetchUserInfo(web, tokens.access_token, 'alice');
    expect(userinfo).toEqual({ sub: 'alice', email: 'alice@example.com', email_verified: true });
  });

  it('refuses an API access token (wrong audience) with invalid_token', async () => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, resource: ORDERS_API, resourceScope: 'orders:read' });
    const tokens = await client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    const res = await fetch(`${baton.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });
});
