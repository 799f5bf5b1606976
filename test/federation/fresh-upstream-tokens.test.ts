// Regression (issue 13 item 4): hooks were handed the upstream sign-in's tokens without a check of
// their expiry, and on a refresh not at all. Now `api.upstream.tokens` at the token endpoint comes
// from the vault and is renewed first (single flight, through the lease) when the access token is
// inside the expiry margin, whatever the client's refresh policy; a token that cannot be renewed is
// left out, never handed out expired. Proven with a real upstream whose access tokens live 2 s: the
// hook uses the token at the upstream's userinfo endpoint, which must accept it.
import { fileURLToPath } from 'node:url';

import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { backAtApp, openAuthorize, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { seen, target } from './fixtures/upstream-token-hooks.ts';

const SECRET = 'upstream-client-secret-0123456789';
const API = 'https://orders.api.example';
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

let baton: RunningBaton;
let idp: Upstream;
let browser: LaunchedBrowser;
let app: RedirectTarget;
let page: Page;

beforeAll(async () => {
  const port = await freePort();
  [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
  idp = await startUpstream({
    profile: 'generic',
    accessTokenTTL: 2,
    clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: [`http://127.0.0.1:${port}/callback/corp`] }],
    users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true } }],
  });
  target.userinfo = `${idp.issuer}/me`;
  baton = await startBaton({
    resources: [{ id: API, scopes: ['orders:read'] }],
    upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET }],
    // `never`: the refresh itself does not consult the upstream; only handing tokens to a hook does.
    clients: [{ client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], resources: [{ id: API }], upstreamRefresh: 'never', hooks: { module: './upstream-token-hooks.ts' } }],
  }, { port, configDir: fixtures });
  page = await browser.newPage();
});
afterAll(async () => {
  await page?.close();
  await Promise.all([browser?.close(), app?.stop()]);
  await Promise.all([baton?.stop(), idp?.stop()]);
});

describe('upstream tokens handed to hooks', () => {
  it('a Baton refresh after the upstream access token expired gives the hook a renewed one that the upstream accepts', async () => {
    const started = await openAuthorize(page, baton.url, app, 'web', TEST_ENV.WEB_SECRET, { scope: 'openid email orders:read', resource: API });
    await signInAtUpstream(page, 'ann', 'ann-pw');
    const tokens = await redeem(started, await backAtApp(page, app));
    await new Promise((resolve) => setTimeout(resolve, 2500));

    seen.length = 0;
    const refreshes = idp.counters.refresh;
    await client.refreshTokenGrant(started.rp, tokens.refresh_token!, { resource: API });
    expect(seen).toEqual([{ grantType: 'refresh_token', upstream: true, accessToken: true, userinfo: 200 }]);
    // Renewed once, for the hook: the `never` policy kept the refresh itself away from the upstream.
    expect(idp.counters.refresh - refreshes).toBe(1);
  });

  it('an upstream that cannot renew: the hook gets no access token rather than an expired one', async () => {
    await browser.context.clearCookies();
    const started = await openAuthorize(page, baton.url, app, 'web', TEST_ENV.WEB_SECRET, { scope: 'openid email orders:read', resource: API });
    await signInAtUpstream(page, 'ann', 'ann-pw');
    const tokens = await redeem(started, await backAtApp(page, app));
    await new Promise((resolve) => setTimeout(resolve, 2500));

    seen.length = 0;
    idp.fail('error', ['token']);
    try {
      await client.refreshTokenGrant(started.rp, tokens.refresh_token!, { resource: API });
    } finally {
      idp.fail('none');
    }
    expect(seen).toEqual([{ grantType: 'refresh_token', upstream: true, accessToken: false }]);
  });
});
