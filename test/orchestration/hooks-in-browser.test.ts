// Authorization-flow hooks with a real upstream and a real browser: authenticate before routing,
// loadAttrs and isAuthorized after the upstream sign-in, isAuthenticated before reusing a session.
import { fileURLToPath } from 'node:url';

import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { backAtApp, openAuthorize, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { calls } from './fixtures/flow-hooks.ts';

const SECRET = 'upstream-client-secret-0123456789';
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
    clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: [`http://127.0.0.1:${port}/callback/corp`] }],
    users: [
      { username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true, name: 'Ann' } },
      { username: 'blocked', password: 'blocked-pw', claims: { email: 'blocked@example.org', email_verified: true } },
    ],
  });
  baton = await startBaton({
    upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET }],
    clients: [{ client_id: 'hooked', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], hooks: { module: './flow-hooks.ts' } }],
  }, { port, configDir: fileURLToPath(new URL('./fixtures/', import.meta.url)) });
});
afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop()]);
  await Promise.all([baton?.stop(), idp?.stop()]);
});
beforeEach(async () => {
  calls.length = 0;
  await browser.context.clearCookies();
  page = await browser.newPage();
});
afterEach(() => page.close());

const names = () => calls.map((c) => c.hook);

describe('authorization-flow hooks', () => {
  it('authenticate, then loadAttrs and isAuthorized after the upstream; loaded attributes reach the id_token', async () => {
    const started = await openAuthorize(page, baton.url, app, 'hooked', TEST_ENV.WEB_SECRET);
    await signInAtUpstream(page, 'ann', 'ann-pw');
    const tokens = await redeem(started, await backAtApp(page, app));
    expect(names()).toEqual(['authenticate', 'loadAttrs', 'isAuthorized', 'buildAccessTokenClaims', 'buildIDTokenClaims']);
    expect(tokens.claims()).toMatchObject({ sub: 'corp:ann', department: 'sales' });

    // A second request with the Baton session: isAuthenticated says yes, no upstream sign-in.
    calls.length = 0;
    const again = await openAuthorize(page, baton.url, app, 'hooked', TEST_ENV.WEB_SECRET);
    const back = await backAtApp(page, app);
    expect(names()).toContain('isAuthenticated');
    expect(names()).not.toContain('loadAttrs');
    expect((await redeem(again, back)).claims()!.sub).toBe('corp:ann');
  });

  it('isAuthorized refusing shows the user its reason', async () => {
    await openAuthorize(page, baton.url, app, 'hooked', TEST_ENV.WEB_SECRET);
    await signInAtUpstream(page, 'blocked', 'blocked-pw');
    await page.getByRole('heading', { name: 'Access denied' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('main').innerText()).toContain('blocked by the HR system');
    await page.getByRole('button', { name: 'Return to the application' }).click();
    expect((await backAtApp(page, app)).searchParams.get('error')).toBe('access_denied');
  });

  it('authenticate denying stops the sign-in before any upstream', async () => {
    const upstreamBefore = idp.counters.authorize;
    await openAuthorize(page, baton.url, app, 'hooked', TEST_ENV.WEB_SECRET, { login_hint: 'nobody@example.org' });
    await page.getByRole('heading', { name: 'Access denied' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('main').innerText()).toContain('this application does not know you');
    expect(page.url().startsWith(baton.url)).toBe(true);
    expect(idp.counters.authorize).toBe(upstreamBefore);
  });
});
