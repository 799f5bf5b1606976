// RFC 7662 section 4: a token is described to the client it was issued to and to the resource
// servers of its audience (`resources[].introspectors`), to nobody else; sections 2.2-2.3: Baton's
// own JWT access tokens introspect (active after signature, typ, issuer and expiry), never
// `unsupported_token_type`. Raw HTTP, as another client would send it.
import { SignJWT, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WEB_REDIRECT } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, discover, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';

const ORDERS = 'https://orders.api.example';
const LEDGER = 'https://ledger.api.example';
const SHORT = 'https://short.api.example';
const SECRET = TEST_ENV.SERVICE_SECRET;

let baton: RunningBaton;
beforeAll(async () => {
  const confidential = (id: string, extra: Record<string, unknown> = {}) => ({ client_id: id, client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], ...extra });
  baton = await startBaton({
    resources: [
      { id: ORDERS, scopes: ['orders:read'], introspectors: ['orders-api'] },
      { id: LEDGER, scopes: ['ledger:read'], accessTokenFormat: 'opaque', introspectors: ['ledger-api'] },
      { id: SHORT, scopes: ['short:read'], accessTokenTTL: 1, introspectors: ['orders-api'] },
    ],
    clients: [
      confidential('service', { resources: [{ id: ORDERS }, { id: LEDGER }, { id: SHORT }] }),
      confidential('orders-api'),
      confidential('ledger-api'),
      confidential('stranger'),
      { client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT], resources: [{ id: ORDERS }, { id: LEDGER }] },
    ],
  });
});
afterAll(() => baton.stop());

async function introspect(as: string, token: string, hint?: string) {
  const secret = as === 'web' ? TEST_ENV.WEB_SECRET : SECRET;
  const body = new URLSearchParams({ token, ...(hint ? { token_type_hint: hint } : {}) });
  return postForm(`${baton.url}/introspect`, body, { authorization: basic(as, secret) });
}

async function serviceToken(resource: string, scope: string): Promise<string> {
  const rp = await discover(baton.url, 'service', SECRET);
  return (await client.clientCredentialsGrant(rp, { resource, scope })).access_token;
}

async function webTokens() {
  const rp = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
  const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, accountId: 'entra:ann', scope: 'openid email offline_access', resource: LEDGER, resourceScope: 'ledger:read' });
  return client.authorizationCodeGrant(rp, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
}

describe('opaque tokens: only their client and their audience\'s resource servers', () => {
  it('another confidential client cannot introspect a client_credentials token: active false', async () => {
    const token = await serviceToken(LEDGER, 'ledger:read');
    const res = await introspect('stranger', token);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ active: false });
  });

  it('the resource server of its audience can; the resource server of another API cannot', async () => {
    const token = await serviceToken(LEDGER, 'ledger:read');
    expect((await introspect('ledger-api', token)).json).toMatchObject({ active: true, client_id: 'service', aud: LEDGER, scope: 'ledger:read' });
    expect((await introspect('orders-api', token)).json).toEqual({ active: false });
    expect((await introspect('service', token)).json).toMatchObject({ active: true, client_id: 'service' });
  });

  it('a refresh token is described to its own client only, never to another client or a resource server', async () => {
    const tokens = await webTokens();
    const refresh = tokens.refresh_token!;
    expect((await introspect('stranger', refresh, 'refresh_token')).json).toEqual({ active: false });
    expect((await introspect('ledger-api', refresh)).json).toEqual({ active: false });
    expect((await introspect('web', refresh, 'refresh_token')).json).toMatchObject({ active: true, client_id: 'web', sub: 'entra:ann' });
  });

  it('a user\'s opaque access token: its client and the audience\'s resource server, not a stranger', async () => {
    const { access_token } = await webTokens();
    expect((await introspect('stranger', access_token)).json).toEqual({ active: false });
    expect((await introspect('ledger-api', access_token)).json).toMatchObject({ active: true, sub: 'entra:ann', client_id: 'web' });
    expect((await introspect('web', access_token)).json).toMatchObject({ active: true });
  });
});

describe('Baton\'s JWT access tokens introspect (no unsupported_token_type)', () => {
  it('active for its resource server and its own client, with the token\'s claims', async () => {
    const token = await serviceToken(ORDERS, 'orders:read');
    for (const caller of ['orders-api', 'service']) {
      const res = await introspect(caller, token, 'access_token');
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ active: true, token_type: 'Bearer', client_id: 'service', sub: 'service', aud: ORDERS, iss: baton.url, scope: 'orders:read' });
      expect(typeof res.json.exp).toBe('number');
      expect(typeof res.json.jti).toBe('string');
    }
  });

  it('inactive for another client, and for a resource server of another API', async () => {
    const token = await serviceToken(ORDERS, 'orders:read');
    expect((await introspect('stranger', token)).json).toEqual({ active: false });
    expect((await introspect('ledger-api', token)).json).toEqual({ active: false });
  });

  it('inactive once expired', async () => {
    const token = await serviceToken(SHORT, 'short:read');
    expect((await introspect('orders-api', token)).json).toMatchObject({ active: true });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await introspect('orders-api', token)).json).toEqual({ active: false });
  });

  it('inactive when tampered with, signed by another key, or not an access token (an id_token)', async () => {
    const token = await serviceToken(ORDERS, 'orders:read');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'orders:read orders:admin' })).toString('base64url');
    expect((await introspect('orders-api', `${header}.${widened}.${signature}`)).json).toEqual({ active: false });

    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: JSON.parse(Buffer.from(header, 'base64url').toString()).kid }).sign(privateKey);
    expect((await introspect('orders-api', forged)).json).toEqual({ active: false });

    const { id_token } = await webTokens();
    expect((await introspect('web', id_token!)).json).toEqual({ active: false });
  });

  it('a user\'s JWT access token turns inactive once its grant ends (revocation of its refresh token)', async () => {
    const rp = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, accountId: 'entra:ann', scope: 'openid offline_access', resource: ORDERS, resourceScope: 'orders:read' });
    const tokens = await client.authorizationCodeGrant(rp, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    expect(tokens.access_token.split('.')).toHaveLength(3);
    expect((await introspect('orders-api', tokens.access_token)).json).toMatchObject({ active: true, sub: 'entra:ann', client_id: 'web' });
    const revoked = await postForm(`${baton.url}/revoke`, new URLSearchParams({ token: tokens.refresh_token!, token_type_hint: 'refresh_token' }), { authorization: basic('web', TEST_ENV.WEB_SECRET) });
    expect(revoked.status).toBe(200);
    expect((await introspect('orders-api', tokens.access_token)).json).toEqual({ active: false });
    expect((await introspect('web', tokens.access_token)).json).toEqual({ active: false });
  });

  it('still requires client authentication (401 invalid_client)', async () => {
    const token = await serviceToken(ORDERS, 'orders:read');
    const res = await postForm(`${baton.url}/introspect`, `token=${token}`, { authorization: basic('orders-api', 'not-the-secret-at-all') });
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_client');
  });
});
