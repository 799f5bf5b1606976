// Mirrors `oidcc-userinfo-get`, `oidcc-userinfo-post-header` and `oidcc-userinfo-post-body` (OIDC
// Core section 5.3.1, RFC 6750 section 2): the access token of a plain `openid email profile` code
// flow works at UserInfo, sent all three ways, also for a client that may obtain tokens for APIs
// (without `resource`, the access token is UserInfo's, not an API's: provider/resources.ts).
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorize, redeem, startCertification, suiteClient, suiteRp, type Certification } from './certification.ts';

const API = 'https://api.example/';
let cert: Certification;
let accessToken: string;
beforeAll(async () => {
  cert = await startCertification({ raw: { resources: [{ id: API, scopes: ['read'] }] }, clients: [suiteClient({ resources: [{ id: API }] })] });
  accessToken = (await redeem(await suiteRp(cert.baton.url), await authorize(cert.baton.url, { scope: 'openid email profile' }))).access_token;
});
afterAll(() => cert?.stop());

const expected = { sub: 'corp:ann', email: 'ann@example.org', email_verified: true, name: 'Ann Example' };

describe('UserInfo', () => {
  it('oidcc-userinfo-get: Authorization header on GET', async () => {
    const response = await fetch(`${cert.baton.url}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject(expected);
  });

  it('oidcc-userinfo-post-header: Authorization header on POST', async () => {
    const response = await fetch(`${cert.baton.url}/userinfo`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject(expected);
  });

  it('oidcc-userinfo-post-body: access_token in the form body', async () => {
    const response = await fetch(`${cert.baton.url}/userinfo`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ access_token: accessToken }).toString() });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject(expected);
  });

  it('the same client asking for an API gets that API\'s JWT, which UserInfo refuses (its audience is the API)', async () => {
    const tokens = await redeem(await suiteRp(cert.baton.url), await authorize(cert.baton.url, { scope: 'openid email read', resource: API }), { resource: API });
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    const response = await fetch(`${cert.baton.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/invalid_token/);
  });
});
