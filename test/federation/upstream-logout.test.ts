// Logout continued at the upstream (`continueLogout`): signing out of Baton sends the browser on to the
// upstream's end_session_endpoint with the upstream id_token as hint, back to Baton, then to the app's
// post_logout_redirect_uri with its state; the upstream session is over (the next sign-in asks for the
// password again). Without `continueLogout`, or when the user keeps the session, the IdP session stays.
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { backAtApp, openAuthorize, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';

let baton: RunningBaton;
let upstream: Upstream;
let browser: LaunchedBrowser;
let app: RedirectTarget;
let page: Page;

beforeAll(async () => {
  const port = await freePort();
  const batonUrl = `http://127.0.0.1:${port}`;
  [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
  upstream = await startUpstream({
    profile: 'generic',
    clients: [{
      client_id: 'baton', client_secret: UPSTREAM_SECRET,
      redirect_uris: [`${batonUrl}/callback/corp`, `${batonUrl}/callback/corp-local`],
      post_logout_redirect_uris: [`${batonUrl}/logout/upstream`],
    }],
    users: [{ username: 'carol', password: 'carol-pw', claims: { email: 'carol@corp.example', email_verified: true } }],
  });
  const corp = { issuer: upstream.issuer, clientId: 'baton', clientSecret: UPSTREAM_SECRET };
  baton = await startBaton({
    upstreams: [{ id: 'corp', ...corp, continueLogout: true }, { id: 'corp-local', ...corp }],
    clients: [
      { client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], post_logout_redirect_uris: [app.redirectUri], upstreams: ['corp'] },
      { client_id: 'local', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], post_logout_redirect_uris: [app.redirectUri], upstreams: ['corp-local'] },
    ],
  }, { port });
});
afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop()]);
  await Promise.all([baton?.stop(), upstream?.stop()]);
});
beforeEach(async () => {
  await browser.context.clearCookies();
  page = await browser.newPage();
});

async function signedIn(clientId: string) {
  const started = await openAuthorize(page, baton.url, app, clientId, TEST_ENV.WEB_SECRET);
  await signInAtUpstream(page, 'carol', 'carol-pw');
  return { rp: started.rp, tokens: await redeem(started, await backAtApp(page, app)) };
}

/** Whether a new sign-in through Baton needs the upstream's password form again. */
async function upstreamAsksAgain(clientId: string): Promise<boolean> {
  await openAuthorize(page, baton.url, app, clientId, TEST_ENV.WEB_SECRET);
  await page.waitForURL((url) => url.href.startsWith(app.redirectUri) || url.href.startsWith(upstream.url), { timeout: 15_000 });
  if (page.url().startsWith(app.redirectUri)) return false;
  await page.locator('#username').waitFor({ timeout: 5_000 });
  return true;
}

describe('continueLogout', () => {
  it('signs out at the upstream too, then returns to the app with its state', async () => {
    const { rp, tokens } = await signedIn('web');
    const returns: string[] = [];
    page.on('request', (request) => { if (request.url().startsWith(`${baton.url}/logout/upstream`)) returns.push(request.url()); });
    await page.goto(client.buildEndSessionUrl(rp, { post_logout_redirect_uri: app.redirectUri, id_token_hint: tokens.id_token!, state: 'bye' }).href);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();

    // At the upstream's own logout page, reached with the upstream id_token as hint and Baton's return address.
    await page.waitForURL((url) => url.href.startsWith(upstream.url));
    const atUpstream = new URL(page.url());
    expect(atUpstream.searchParams.get('post_logout_redirect_uri')).toBe(`${baton.url}/logout/upstream`);
    expect(atUpstream.searchParams.get('client_id')).toBe('baton');
    expect(atUpstream.searchParams.get('id_token_hint')).not.toBe(tokens.id_token);
    expect(atUpstream.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();

    const back = await backAtApp(page, app);
    expect(back.searchParams.get('state')).toBe('bye');
    expect(await upstreamAsksAgain('web')).toBe(true);

    // The return address worked once: replayed, it only shows Baton's signed-out page.
    expect(returns).toHaveLength(1);
    const replay = await fetch(returns[0]!, { redirect: 'manual' });
    expect(replay.status).toBe(200);
    expect(await replay.text()).toContain('You are signed out');
  });

  it('a confirmation posted to another spelling of /logout/confirm (the provider routes it the same) still continues at the upstream', async () => {
    const { rp, tokens } = await signedIn('web');
    await page.goto(client.buildEndSessionUrl(rp, { post_logout_redirect_uri: app.redirectUri, id_token_hint: tokens.id_token!, state: 'spelled' }).href);
    // The page's own form, sent to `/LOGOUT/Confirm/` (oidc-provider folds case and ignores the slash).
    await page.locator('form[id="op.logoutForm"]').evaluate((form) => form.setAttribute('action', form.getAttribute('action')!.replace('/logout/confirm', '/LOGOUT/Confirm/')));
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL((url) => url.href.startsWith(upstream.url) || url.href.startsWith(app.redirectUri));
    expect(page.url().startsWith(upstream.url)).toBe(true);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    expect((await backAtApp(page, app)).searchParams.get('state')).toBe('spelled');
    expect(await upstreamAsksAgain('web')).toBe(true);
  });

  it('"Stay signed in" keeps the upstream session', async () => {
    const { rp, tokens } = await signedIn('web');
    await page.goto(client.buildEndSessionUrl(rp, { post_logout_redirect_uri: app.redirectUri, id_token_hint: tokens.id_token!, state: 'stay' }).href);
    await page.getByRole('button', { name: 'Stay signed in', exact: true }).click();
    expect((await backAtApp(page, app)).searchParams.get('state')).toBe('stay');
    expect(await upstreamAsksAgain('web')).toBe(false);
  });

  it('without continueLogout the upstream session stays: the next sign-in needs no password', async () => {
    const { rp, tokens } = await signedIn('local');
    await page.goto(client.buildEndSessionUrl(rp, { post_logout_redirect_uri: app.redirectUri, id_token_hint: tokens.id_token!, state: 'bye' }).href);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    expect((await backAtApp(page, app)).searchParams.get('state')).toBe('bye');
    expect(await upstreamAsksAgain('local')).toBe(false);
  });
});
