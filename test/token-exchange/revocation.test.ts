// Nothing outlives its grant, token exchange included: a Baton access token whose grant ended
// (revocation, refresh token reuse, logout) is refused as subject_token (RFC 8693 section 2.2.2
// invalid_request), and what an exchange issued from it (refresh token, opaque access token, JWT
// presented again) ends with that grant.
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchBrowser, signInAtUpstream, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { TEST_ENV } from '../helpers/baton.ts';
import { basic, discover, postForm, rejection } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { backAtApp, openAuthorize, redeem } from '../helpers/sign-in.ts';
import { exchange, ORDERS, refusal, startEnvironment, TYPE, WEB_REDIRECT, type Environment } from './environment.ts';

let env: Environment;

beforeAll(async () => {
  env = await startEnvironment();
});

afterAll(async () => {
  await env?.stop();
});

/** A user signed in to `web` (code flow, seeded as an upstream sign-in leaves it): a JWT access token for ORDERS and a refresh token. */
async function signedIn(accountId: string) {
  const seeded = await seedAuthorizationCode(env.baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, accountId, upstream: accountId.split(':')[0], resource: ORDERS, resourceScope: 'orders:read' });
  const rp = await discover(env.baton.url, 'web', TEST_ENV.WEB_SECRET);
  const tokens = await client.authorizationCodeGrant(rp, seeded.callbackUrl(env.baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
  expect(tokens.access_token.split('.')).toHaveLength(3);
  return { rp, tokens };
}

const asSubject = (clientId: string, token: string, target: Record<string, string>) =>
  exchange(env.baton, clientId, { subject_token: token, subject_token_type: TYPE.access_token, ...target });

const introspect = (token: string) => postForm(`${env.baton.url}/introspect`, new URLSearchParams({ token }), { authorization: basic('gateway', TEST_ENV.SERVICE_SECRET) });

/** Everything a service can derive from a user's access token: a refresh token, an opaque token, a JWT. */
async function deriveFrom(accessToken: string) {
  const relayed = await asSubject('relay', accessToken, { resource: ORDERS });
  expect(relayed.refresh_token).toBeTruthy();
  const opaque = await asSubject('gateway', accessToken, { audience: 'audit' });
  expect(opaque.access_token.split('.')).toHaveLength(1);
  // A second exchange by the same client reuses the grant it derived: both end with the origin.
  const again = await asSubject('gateway', accessToken, { audience: 'audit' });
  for (const token of [opaque, again]) expect((await introspect(token.access_token)).json.active).toBe(true);
  // The relayed JWT is itself a subject token while its origin lives.
  expect((await asSubject('gateway', relayed.access_token, { resource: ORDERS })).access_token).toBeTruthy();
  return { relayed, opaque, again };
}

/** After the origin grant ended: the subject token, the exchanged refresh token, opaque token and JWT are all dead. */
async function expectAllEnded(accessToken: string, derived: Awaited<ReturnType<typeof deriveFrom>>) {
  const refused = await refusal(asSubject('relay', accessToken, { resource: ORDERS }));
  expect(refused).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('grant that has ended') });
  const relay = await discover(env.baton.url, 'relay', TEST_ENV.SERVICE_SECRET);
  expect(await rejection(client.refreshTokenGrant(relay, derived.relayed.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  expect(await refusal(asSubject('gateway', derived.relayed.access_token, { resource: ORDERS }))).toMatchObject({ error: 'invalid_request' });
  expect(await refusal(asSubject('gateway', derived.opaque.access_token, { resource: ORDERS }))).toMatchObject({ error: 'invalid_request' });
  await expect.poll(async () => (await introspect(derived.opaque.access_token)).json.active, { timeout: 5000 }).toBe(false);
  expect((await introspect(derived.again.access_token)).json.active).toBe(false);
}

describe('token exchange after the subject token\'s grant ended', () => {
  it('revocation of the refresh token (RFC 7009): the access token is refused as subject_token, and everything exchanged from it ends', async () => {
    const { tokens } = await signedIn('google:g-revoked');
    const derived = await deriveFrom(tokens.access_token);
    const revoked = await postForm(`${env.baton.url}/revoke`, new URLSearchParams({ token: tokens.refresh_token!, token_type_hint: 'refresh_token' }), { authorization: basic('web', TEST_ENV.WEB_SECRET) });
    expect(revoked.status).toBe(200);
    await expectAllEnded(tokens.access_token, derived);
  });

  it('refresh token reuse: both the first and the rotated access token are refused, and everything exchanged from them ends', async () => {
    const { rp, tokens } = await signedIn('google:g-reused');
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    const derived = await deriveFrom(refreshed.access_token);
    // The successor is used first, so presenting the old token again is reuse, not a retry inside
    // the reuse grace window (clients[].refreshTokenReuseGrace).
    await client.refreshTokenGrant(rp, refreshed.refresh_token!);
    expect(await rejection(client.refreshTokenGrant(rp, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    await expectAllEnded(refreshed.access_token, derived);
    expect(await refusal(asSubject('relay', tokens.access_token, { resource: ORDERS }))).toMatchObject({ error: 'invalid_request' });
  });

  it('a refresh token obtained by exchange is refused even before the revocation reached it (the origin is checked at refresh)', async () => {
    const { tokens } = await signedIn('google:g-raced');
    const relayed = await asSubject('relay', tokens.access_token, { resource: ORDERS });
    // End the origin grant the way a crash between the two steps would leave it: the grant gone, the derived one not yet revoked.
    const { provider } = env.baton.baton;
    const grantId = (await provider.RefreshToken.find(tokens.refresh_token!))?.grantId;
    if (!grantId) return expect.unreachable('the seeded refresh token has a grant');
    await (await provider.Grant.find(grantId))!.destroy();
    const relay = await discover(env.baton.url, 'relay', TEST_ENV.SERVICE_SECRET);
    expect(await rejection(client.refreshTokenGrant(relay, relayed.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });

  it('so is its successor: a rotated exchanged refresh token (gty "token-exchange refresh_token") still has its origin checked', async () => {
    const { tokens } = await signedIn('google:g-raced-rotated');
    const relayed = await asSubject('relay', tokens.access_token, { resource: ORDERS });
    const relay = await discover(env.baton.url, 'relay', TEST_ENV.SERVICE_SECRET);
    const rotated = await client.refreshTokenGrant(relay, relayed.refresh_token!);
    expect(rotated.refresh_token).toBeTruthy();
    const { provider } = env.baton.baton;
    const grantId = (await provider.RefreshToken.find(tokens.refresh_token!))?.grantId;
    if (!grantId) return expect.unreachable('the seeded refresh token has a grant');
    await (await provider.Grant.find(grantId))!.destroy();
    expect(await rejection(client.refreshTokenGrant(relay, rotated.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('token exchange after logout (browser)', () => {
  let browser: LaunchedBrowser;
  let page: Page;
  const web = { redirectUri: WEB_REDIRECT } as RedirectTarget;

  beforeAll(async () => {
    browser = await launchBrowser();
    page = await browser.newPage();
    // The `web` app's redirect URI: the browser lands there (answered here) and the test reads the URL.
    await page.route(`${WEB_REDIRECT}**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at web' }));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('RP-initiated logout: the app\'s access token is refused as subject_token, and what relay obtained from it ends', async () => {
    const started = await openAuthorize(page, env.baton.url, web, 'web', TEST_ENV.WEB_SECRET, { resource: ORDERS, scope: 'openid email orders:read' });
    await signInAtUpstream(page, 'ana@example.org', 'ana-pw');
    const tokens = await redeem(started, await backAtApp(page, web));
    const derived = await deriveFrom(tokens.access_token);

    const logout = client.buildEndSessionUrl(started.rp, { post_logout_redirect_uri: WEB_REDIRECT, id_token_hint: tokens.id_token! });
    await page.goto(logout.href);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await backAtApp(page, web);
    await expectAllEnded(tokens.access_token, derived);
  });
});
