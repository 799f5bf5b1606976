// Token introspection (RFC 7662) and revocation (RFC 7009), called by openid-client.
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ORDERS_API, WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, discover, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';

let baton: RunningBaton;
let service: client.Configuration;
let web: client.Configuration;
beforeAll(async () => {
  baton = await startBaton(standardConfig);
  service = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
  web = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
});
afterAll(() => baton.stop());

async function webTokens() {
  const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid email' });
  return client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
}

describe('introspection', () => {
  it('describes an active opaque client_credentials token', async () => {
    const { access_token } = await client.clientCredentialsGrant(service);
    const result = await client.tokenIntrospection(service, access_token);
    expect(result).toMatchObject({ active: true, client_id: 'service', token_type: 'Bearer', iss: baton.url });
    expect(result.exp! - result.iat!).toBe(3600);
  });

  it('describes an active refresh token with its subject and scope', async () => {
    const tokens = await webTokens();
    const result = await client.tokenIntrospection(web, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
    expect(result).toMatchObject({ active: true, sub: 'alice', client_id: 'web', scope: 'openid email' });
  });

  it('answers active: false for an unknown token, without detail', async () => {
    const result = await client.tokenIntrospection(service, 'not-a-token-at-all');
    expect(result).toEqual({ active: false });
  });

  it('requires client authentication (401 invalid_client)', async () => {
    const res = await postForm(`${baton.url}/introspect`, 'token=abc', { authorization: basic('service', 'not-the-secret-at-all') });
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_client');
  });

  it('a public client only sees its own tokens', async () => {
    const { access_token } = await client.clientCredentialsGrant(service);
    const res = await postForm(`${baton.url}/introspect`, `token=${access_token}&client_id=spa`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ active: false });
  });

  // Issue 12 item 11: this answered 400 unsupported_token_type; RFC 7662 sections 2.2-2.3 want an answer.
  it('JWT access tokens introspect too: active for the client they were issued to', async () => {
    const { access_token } = await client.clientCredentialsGrant(service, { resource: ORDERS_API, scope: 'orders:read' });
    const res = await postForm(`${baton.url}/introspect`, `token=${access_token}`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ active: true, client_id: 'service', aud: ORDERS_API, scope: 'orders:read' });
  });
});

describe('revocation', () => {
  it('revokes an access token: introspection then says inactive', async () => {
    const { access_token } = await client.clientCredentialsGrant(service);
    await client.tokenRevocation(service, access_token);
    expect((await client.tokenIntrospection(service, access_token)).active).toBe(false);
  });

  it('revoking a refresh token ends its grant: the refresh grant is then invalid_grant', async () => {
    const tokens = await webTokens();
    await client.tokenRevocation(web, tokens.refresh_token!);
    expect((await client.tokenIntrospection(web, tokens.refresh_token!)).active).toBe(false);
    expect((await client.tokenIntrospection(web, tokens.access_token)).active).toBe(false);
  });

  it('answers 200 for an unknown or already revoked token (RFC 7009 section 2.2)', async () => {
    const res = await postForm(`${baton.url}/revoke`, 'token=never-issued', { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
    expect(res.status).toBe(200);
  });

  it('does not let another client revoke a token: refused as invalid_grant (RFC 7009 section 2.1), the token stays', async () => {
    const tokens = await webTokens();
    const { access_token: serviceToken } = await client.clientCredentialsGrant(service);
    for (const token of [tokens.refresh_token!, tokens.access_token]) {
      const res = await postForm(`${baton.url}/revoke`, `token=${token}`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
      expect(res.status).toBe(400);
      // oidc-provider's wording for every invalid_grant (the detail goes to the log only).
      expect(res.json).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    }
    // The other way round too, with the secret in the body.
    const theirs = await postForm(`${baton.url}/revoke`, `token=${serviceToken}&client_id=web&client_secret=${TEST_ENV.WEB_SECRET}`);
    expect(theirs.json.error).toBe('invalid_grant');
    expect((await client.tokenIntrospection(web, tokens.refresh_token!)).active).toBe(true);
    expect((await client.tokenIntrospection(service, serviceToken)).active).toBe(true);
  });

  it('a public client cannot revoke another client\'s token and is told nothing (200, as for an unknown token)', async () => {
    const tokens = await webTokens();
    const res = await postForm(`${baton.url}/revoke`, `token=${tokens.refresh_token}&client_id=spa`);
    expect(res.status).toBe(200);
    expect((await client.tokenIntrospection(web, tokens.refresh_token!)).active).toBe(true);
  });

  it('requires the token parameter', async () => {
    const res = await postForm(`${baton.url}/revoke`, '', { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
  });
});
