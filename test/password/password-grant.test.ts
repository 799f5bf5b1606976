// The password grant (RFC 6749 section 4.3) as a legacy bridge: only for clients with an
// authenticateBackchannel hook; bad credentials are invalid_grant; failures are limited, also per
// identity the hook normalises; the subject is namespaced by the client (`~password/{client}:{sub}`).
import { fileURLToPath } from 'node:url';

import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, discover, postForm } from '../helpers/rp.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../../src/provider/accounts.ts';

const API = 'https://legacy.api.example';
let baton: RunningBaton;

beforeAll(async () => {
  baton = await startBaton({
    resources: [{ id: API, scopes: ['legacy:read'] }],
    clients: [
      { client_id: 'legacy-app', client_secret: '${WEB_SECRET}', grant_types: ['password', 'refresh_token', 'authorization_code'], redirect_uris: ['https://legacy.example/cb'], resources: [{ id: API }], hooks: { module: './password-hooks.ts' } },
      { client_id: 'no-hook-app', client_secret: '${WEB_SECRET}', grant_types: ['password'], resources: [{ id: API }] },
      { client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: ['https://web.example/cb'] },
      { client_id: 'normalising-app', client_secret: '${WEB_SECRET}', grant_types: ['password'], resources: [{ id: API }], hooks: { module: '../../password/fixtures/normalising-hooks.ts' } },
    ],
  }, { configDir: fileURLToPath(new URL('../orchestration/fixtures/', import.meta.url)) });
});
afterAll(() => baton.stop());

const password = (clientId: string, username: string, pass: string, extra = '') =>
  postForm(`${baton.url}/token`, `grant_type=password&username=${encodeURIComponent(username)}&password=${encodeURIComponent(pass)}${extra}`, { authorization: basic(clientId, TEST_ENV.WEB_SECRET) });

describe('password grant', () => {
  it('issues Baton tokens for credentials the hook accepts, and they refresh', async () => {
    const res = await password('legacy-app', 'pat', 'correct horse battery staple', `&scope=${encodeURIComponent('openid email legacy:read')}&resource=${encodeURIComponent(API)}`);
    expect(res.status).toBe(200);
    const { payload } = await jwtVerify(String(res.json.access_token), createRemoteJWKSet(new URL(`${baton.url}/jwks`)), { issuer: baton.url, audience: API });
    expect(payload).toMatchObject({ sub: '~password/legacy-app:ldap:pat', scope: 'legacy:read', client_id: 'legacy-app' });
    const id = await jwtVerify(String(res.json.id_token), createRemoteJWKSet(new URL(`${baton.url}/jwks`)), { issuer: baton.url, audience: 'legacy-app' });
    expect(id.payload).toMatchObject({ sub: '~password/legacy-app:ldap:pat', email: 'pat@example.com' });

    const rp = await discover(baton.url, 'legacy-app', TEST_ENV.WEB_SECRET);
    const refreshed = await client.refreshTokenGrant(rp, String(res.json.refresh_token));
    expect(refreshed.access_token).toBeDefined();
  });

  it('wrong credentials are invalid_grant, without saying which part was wrong', async () => {
    const res = await password('legacy-app', 'pat', 'wrong');
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
  });

  it('a client without the hook, or without the grant, is unauthorized_client', async () => {
    expect((await password('no-hook-app', 'pat', 'correct horse battery staple')).json.error).toBe('unauthorized_client');
    expect((await password('web', 'pat', 'correct horse battery staple')).json.error).toBe('unauthorized_client');
  });

  it('after 5 failures for one username, even the right password is refused for a while', async () => {
    for (let i = 0; i < 5; i += 1) expect((await password('legacy-app', 'Pat', `guess-${i}`)).json.error).toBe('invalid_grant');
    const locked = await password('legacy-app', 'pat', 'correct horse battery staple');
    expect(locked.json.error).toBe('invalid_grant');
  });

  it('username spellings the hook normalises share one lockout: the identity it names is counted, not the string', async () => {
    const spellings = ['pat', ' pat', 'PAT@corp.example', 'corp\\pat', 'Pat '];
    for (const spelling of spellings) expect((await password('normalising-app', spelling, 'guess')).json.error, spelling).toBe('invalid_grant');
    // A sixth spelling, never sent before, with the right password: still locked.
    const locked = await password('normalising-app', 'CORP\\Pat', 'correct horse battery staple');
    expect(locked.status).toBe(400);
    expect(locked.json.error).toBe('invalid_grant');
  });

  it('a hook\'s sub cannot overwrite a federated account: it is namespaced by the client', async () => {
    await baton.baton.store.putRecord<AccountRecord>(ACCOUNT_KIND, 'google:victim', { claims: { email: 'victim@example.org' }, upstream: 'google', upstreamSubject: 'victim' });
    const res = await password('normalising-app', 'mallory', 'mallory-pw', `&resource=${encodeURIComponent(API)}&scope=legacy:read`);
    expect(res.status).toBe(200);
    const { payload } = await jwtVerify(String(res.json.access_token), createRemoteJWKSet(new URL(`${baton.url}/jwks`)), { issuer: baton.url, audience: API });
    expect(payload.sub).toBe('~password/normalising-app:google:victim');
    expect((await baton.baton.store.getRecord<AccountRecord>(ACCOUNT_KIND, 'google:victim'))?.value.claims).toEqual({ email: 'victim@example.org' });
  });

  it('discovery advertises the password grant only because a client is configured for it', async () => {
    const metadata = (await (await fetch(`${baton.url}/.well-known/openid-configuration`)).json()) as { grant_types_supported: string[] };
    expect(metadata.grant_types_supported).toContain('password');
  });
});
