// Authorization is re-evaluated at every refresh: when the account's claims no longer satisfy the
// client's rules (e.g. the user left a group upstream), the refresh fails with invalid_grant and
// the grant ends.
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACCOUNT_KIND } from '../../src/provider/accounts.ts';
import { WEB_REDIRECT } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { discover, rejection } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';

let baton: RunningBaton;
beforeAll(async () => {
  baton = await startBaton({
    clients: [{
      client_id: 'back-office', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT],
      rules: [{ allow: { group: ['staff'] } }],
    }, {
      client_id: 'finance', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT],
      rules: [{ allow: { claim: { name: 'department', equals: 'finance' } } }],
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
});
