// Authorization is re-evaluated at every refresh, on the same pipeline as a sign-in: when the
// account's claims no longer satisfy the client's rules (e.g. the user left a group upstream) or
// its isAuthorized hook now says no, the refresh fails with invalid_grant and the grant ends.
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { resolve } from 'node:path';

import { ACCOUNT_KIND } from '../../src/provider/accounts.ts';
import { WEB_REDIRECT } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, discover, postForm, rejection } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';

let baton: RunningBaton;
beforeAll(async () => {
  baton = await startBaton({
    // The accounts below signed in through this upstream; it must still be configured for their
    // refreshes to be decided at all (a removed upstream refuses: test/refresh/removed-upstream.test.ts).
    // Never contacted here: the codes are seeded.
    upstreams: [{ id: 'entra', preset: 'entra', tenant: '9b1f6c2e-3d4a-4e5f-8a7b-1c2d3e4f5a6b', client_id: 'baton', client_secret: 'upstream-secret-0123456789' }],
    clients: [{
      client_id: 'back-office', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT],
      rules: [{ allow: { group: ['staff'] } }],
    }, {
      client_id: 'finance', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT],
      rules: [{ allow: { claim: { name: 'department', equals: 'finance' } } }],
    }, {
      client_id: 'payroll', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT],
      hooks: { module: resolve(import.meta.dirname, 'fixtures/active-hooks.ts') },
    }],
  });
});
afterAll(() => baton.stop());

describe('rules on refresh', () => {
  it('refreshes while the rules allow, refuses once they no longer do, and the grant is gone', async () => {
    const rp = await discover(baton.url, 'back-office', TEST_ENV.WEB_SECRET);
    const claims = { email: 'dana@example.com', email_verified: true, groups: ['staff'] };
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'back-office', redirectUri: WEB_REDIRECT, accountId: 'entra:dana', claims });
    const tokens = await client.authorizationCodeGrant(rp, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);

    // The upstream reports Dana left the group (what an upstream refresh or sign-in writes).
    await baton.baton.store.putRecord(ACCOUNT_KIND, 'entra:dana', { claims: { ...claims, groups: [] }, upstream: 'entra' });
    expect(await rejection(client.refreshTokenGrant(rp, refreshed.refresh_token!))).toMatchObject({ error: 'invalid_grant' });

    // Back in the group: the ended grant stays ended.
    await baton.baton.store.putRecord(ACCOUNT_KIND, 'entra:dana', { claims, upstream: 'entra' });
    expect(await rejection(client.refreshTokenGrant(rp, refreshed.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });

  it('sees the loadAttrs attributes stored with the account, as the sign-in did', async () => {
    const rp = await discover(baton.url, 'finance', TEST_ENV.WEB_SECRET);
    const account = { claims: { email: 'eve@example.com' }, upstream: 'entra', attrs: { department: 'finance' } };
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'finance', redirectUri: WEB_REDIRECT, accountId: 'entra:eve', claims: account.claims });
    await baton.baton.store.putRecord(ACCOUNT_KIND, 'entra:eve', account);
    const tokens = await client.authorizationCodeGrant(rp, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);

    // The HR service now says Eve moved department (what loadAttrs stored at her last sign-in).
    await baton.baton.store.putRecord(ACCOUNT_KIND, 'entra:eve', { ...account, attrs: { department: 'sales' } });
    expect(await rejection(client.refreshTokenGrant(rp, refreshed.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });

  it('runs the isAuthorized hook again: a user it now refuses loses the grant; a failing hook does not end it', async () => {
    const rp = await discover(baton.url, 'payroll', TEST_ENV.WEB_SECRET);
    const account = { claims: { email: 'finn@example.com' }, upstream: 'entra', attrs: { active: true } };
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'payroll', redirectUri: WEB_REDIRECT, accountId: 'entra:finn', claims: account.claims });
    await baton.baton.store.putRecord(ACCOUNT_KIND, 'entra:finn', account);
    const tokens = await client.authorizationCodeGrant(rp, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);

    // The hook's dependency is down: the refresh fails, but the grant and its refresh token stay.
    await baton.baton.store.putRecord(ACCOUNT_KIND, 'entra:finn', { ...account, attrs: { active: true, hookFails: true } });
    const failed = await postForm(`${baton.url}/token`, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshed.refresh_token! }), { authorization: basic('payroll', TEST_ENV.WEB_SECRET) });
    expect(failed.status).toBe(500);
    expect(failed.json).toMatchObject({ error: 'server_error' });
    await baton.baton.store.putRecord(ACCOUNT_KIND, 'entra:finn', account);
    const again = await client.refreshTokenGrant(rp, refreshed.refresh_token!);

    // The account was deactivated: the hook refuses, the refresh is invalid_grant with its reason, the grant ends.
    await baton.baton.store.putRecord(ACCOUNT_KIND, 'entra:finn', { ...account, attrs: { active: false } });
    expect(await rejection(client.refreshTokenGrant(rp, again.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    await baton.baton.store.putRecord(ACCOUNT_KIND, 'entra:finn', account);
    expect(await rejection(client.refreshTokenGrant(rp, again.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });
});
