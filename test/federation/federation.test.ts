// Brokered sign-in end to end: an app (openid-client) signs in at Baton, the user signs in at a
// real upstream OpenID Provider (playing multi-tenant Entra ID, or Google) in real Chromium, and
// the app receives Baton's tokens. Routing, claim mapping, stable subjects and the error paths.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ORDERS_API } from '../fixtures/standard.ts';
import { cancelAtUpstream, launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { backAtApp as returnedToApp, openAuthorize as openAuthorizeAt, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const TENANT = '9b1f6c2e-3d4a-4e5f-8a7b-1c2d3e4f5a6b';
const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';

let baton: RunningBaton;
let entra: Upstream;
let google: Upstream;
let plain: Upstream;
let browser: LaunchedBrowser;
let app: RedirectTarget;
let page: Page;

beforeAll(async () => {
  const port = await freePort();
  const batonUrl = `http://127.0.0.1:${port}`;
  [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
  entra = await startUpstream({
    profile: 'entra',
    tenantId: TENANT,
    clients: [{ client_id: 'baton-at-entra', client_secret: UPSTREAM_SECRET, token_endpoint_auth_method: 'client_secret_post', redirect_uris: ['contoso', 'other-tenant', 'any-tenant'].map((id) => `${batonUrl}/callback/${id}`) }],
    users: [
      { username: 'alice@contoso.com', password: 'alice-pw', claims: { name: 'Alice Contoso', preferred_username: 'alice@contoso.com', email: 'alice@contoso.com' } },
      // A token whose tid contradicts its issuer: what a forged or misrouted token looks like.
      { username: 'mallory@contoso.com', password: 'mallory-pw', claims: { tid: '11111111-1111-1111-1111-111111111111' } },
    ],
  });
  google = await startUpstream({
    profile: 'google',
    clients: [{ client_id: 'baton-at-google', client_secret: UPSTREAM_SECRET, redirect_uris: [`${batonUrl}/callback/google`] }],
    users: [{ username: 'bob@example.org', password: 'bob-pw', claims: { email: 'bob@example.org', name: 'Bob Example' } }],
  });
  // A plain OAuth 2 upstream (GitHub-like): explicit endpoints and a userinfo URL, no discovery.
  plain = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton-at-plain', client_secret: UPSTREAM_SECRET, redirect_uris: [`${batonUrl}/callback/plain`] }],
    users: [{ username: 'carol', password: 'carol-pw', claims: { email: 'carol@plain.example', email_verified: true, name: 'Carol Plain' } }],
  });
  const plainMetadata = (await (await fetch(plain.discoveryUrl)).json()) as Record<string, string>;
  const entraUpstream = {
    preset: 'entra',
    issuer: `${entra.url}/{tenantid}/v2.0`,
    discoveryUrl: entra.commonDiscoveryUrl,
    clientId: 'baton-at-entra',
    clientSecret: UPSTREAM_SECRET,
    tokenEndpointAuthMethod: 'client_secret_post',
  };
  baton = await startBaton({
    upstreams: [
      { id: 'contoso', name: 'Contoso', tenants: [TENANT], ...entraUpstream },
      { id: 'any-tenant', name: 'Any tenant', ...entraUpstream },
      { id: 'other-tenant', name: 'Other tenant', tenants: ['00000000-0000-0000-0000-000000000000'], ...entraUpstream },
      {
        id: 'plain', type: 'oauth2', name: 'Plain OAuth', clientId: 'baton-at-plain', clientSecret: UPSTREAM_SECRET,
        authorizationEndpoint: plainMetadata.authorization_endpoint, tokenEndpoint: plainMetadata.token_endpoint, userinfoEndpoint: plainMetadata.userinfo_endpoint,
        scopes: ['openid', 'email', 'profile'], subject: ['sub'],
      },
      { id: 'google', preset: 'google', issuer: google.issuer, clientId: 'baton-at-google', clientSecret: UPSTREAM_SECRET, emailDomains: ['example.org'] },
    ],
    resources: [{ id: ORDERS_API, scopes: ['orders:read'] }],
    clients: [
      { client_id: 'web', client_name: 'Orders', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], upstreams: ['contoso', 'google'], resources: [{ id: ORDERS_API }] },
      { client_id: 'contoso-app', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], upstreams: ['contoso'] },
      {
        client_id: 'rules-app', client_name: 'Back office', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], upstreams: ['contoso'],
        rules: [{ deny: { emailDomain: ['contoso.com'] }, reason: 'Contoso accounts are not accepted here' }, { allow: {} }],
      },
      { client_id: 'any-tenant-app', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], upstreams: ['any-tenant'] },
      { client_id: 'oauth2-app', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], upstreams: ['plain'] },
      { client_id: 'strict-app', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], upstreams: ['other-tenant'] },
    ],
  }, { port, logger: (await import('pino')).pino({ level: process.env.BATON_TEST_LOG ?? 'silent' }) });
});

afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop()]);
  await Promise.all([baton?.stop(), entra?.stop(), google?.stop(), plain?.stop()]);
});

beforeEach(async () => {
  await browser.context.clearCookies();
  page = await browser.newPage();
});
afterEach(() => page.close());

const openAuthorize = (clientId: string, extra: Record<string, string> = {}) => openAuthorizeAt(page, baton.url, app, clientId, TEST_ENV.WEB_SECRET, extra);
const backAtApp = () => returnedToApp(page, app);

describe('routing to an upstream', () => {
  it('goes straight to the only upstream a client allows, and maps Entra claims to a stable namespaced sub', async () => {
    const started = await openAuthorize('contoso-app');
    expect(page.url().startsWith(entra.url)).toBe(true);
    await signInAtUpstream(page, 'alice@contoso.com', 'alice-pw');
    const tokens = await redeem(started, await backAtApp());
    const claims = tokens.claims()!;
    expect(claims.sub).toMatch(new RegExp(`^contoso:${TENANT}:[0-9a-f-]{36}$`));
    expect(claims).toMatchObject({ iss: baton.url, aud: 'contoso-app', email: 'alice@contoso.com', name: 'Alice Contoso', preferred_username: 'alice@contoso.com' });
    expect(claims).not.toHaveProperty('tid');

    // The same person signing in again gets the same subject.
    await browser.context.clearCookies();
    const again = await openAuthorize('contoso-app', { prompt: 'login' });
    await signInAtUpstream(page, 'alice@contoso.com', 'alice-pw');
    expect((await redeem(again, await backAtApp())).claims()!.sub).toBe(claims.sub);
  });

  it('shows a chooser when several upstreams are allowed, then signs in with the chosen one', async () => {
    const started = await openAuthorize('web', { resource: ORDERS_API, scope: 'openid email orders:read' });
    await page.getByRole('heading', { name: 'Sign in to Orders' }).waitFor({ timeout: 10_000 });
    const choices = await page.getByRole('link').allTextContents();
    expect(choices).toEqual(['Continue with Contoso', 'Continue with Google']);
    await page.getByRole('link', { name: 'Continue with Google' }).click();
    expect(page.url().startsWith(google.url)).toBe(true);
    await signInAtUpstream(page, 'bob@example.org', 'bob-pw');
    const tokens = await redeem(started, await backAtApp());
    expect(tokens.claims()!.sub).toMatch(/^google:\d{21}$/);
    expect(tokens.claims()).toMatchObject({ email: 'bob@example.org', email_verified: true });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${baton.url}/jwks`)), { issuer: baton.url, audience: ORDERS_API });
    expect(payload).toMatchObject({ sub: tokens.claims()!.sub, scope: 'orders:read', client_id: 'web' });
  });

  it('signs in through a plain OAuth 2 upstream, identity from its userinfo URL', async () => {
    const started = await openAuthorize('oauth2-app');
    expect(page.url().startsWith(plain.url)).toBe(true);
    await signInAtUpstream(page, 'carol', 'carol-pw');
    const claims = (await redeem(started, await backAtApp())).claims()!;
    expect(claims.sub).toBe('plain:carol');
    expect(claims).toMatchObject({ email: 'carol@plain.example', name: 'Carol Plain' });
  });

  it('idp_hint selects the upstream directly', async () => {
    await openAuthorize('web', { idp_hint: 'contoso' });
    expect(page.url().startsWith(entra.url)).toBe(true);
  });

  it('login_hint with an email routes by domain (home realm discovery) and is passed upstream', async () => {
    await openAuthorize('web', { login_hint: 'bob@example.org' });
    expect(page.url().startsWith(google.url)).toBe(true);
  });

  it('an unknown idp_hint falls back to the chooser', async () => {
    await openAuthorize('web', { idp_hint: 'nope' });
    expect(page.url().startsWith(baton.url)).toBe(true);
    expect(await page.getByRole('link').count()).toBe(2);
  });
});

describe('errors on the way back', () => {
  it('a user who cancels at the upstream reaches the app as access_denied with its state', async () => {
    const started = await openAuthorize('contoso-app');
    await cancelAtUpstream(page);
    const back = await backAtApp();
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe(started.state);
    expect(back.searchParams.get('iss')).toBe(baton.url);
  });

  it('a tenant that is not allowed reaches the app as access_denied', async () => {
    await openAuthorize('strict-app');
    await signInAtUpstream(page, 'alice@contoso.com', 'alice-pw');
    const back = await backAtApp();
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toMatch(/tenant/);
  });

  it('an id_token whose issuer does not match its tid fails validation: error page, no redirect', async () => {
    await openAuthorize('any-tenant-app');
    const seenByApp = app.received.length;
    await signInAtUpstream(page, 'mallory@contoso.com', 'mallory-pw');
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor({ timeout: 10_000 });
    expect(page.url().startsWith(baton.url)).toBe(true);
    expect(app.received.length).toBe(seenByApp);
  });

  it('a rule that denies shows the user why, then returns access_denied with that reason to the app', async () => {
    const started = await openAuthorize('rules-app');
    await signInAtUpstream(page, 'alice@contoso.com', 'alice-pw');
    await page.getByRole('heading', { name: 'Access denied' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('main').innerText()).toContain('Contoso accounts are not accepted here');
    await page.getByRole('button', { name: 'Return to the application' }).click();
    const back = await backAtApp();
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toBe('Contoso accounts are not accepted here');
    expect(back.searchParams.get('state')).toBe(started.state);
  });

  it('a replayed callback is refused on an error page, without a redirect', async () => {
    await openAuthorize('contoso-app');
    let callback: string | undefined;
    page.on('request', (request) => {
      if (request.url().startsWith(`${baton.url}/callback/`)) callback ??= request.url();
    });
    await signInAtUpstream(page, 'alice@contoso.com', 'alice-pw');
    await backAtApp();
    const replay = await page.goto(callback!);
    expect(replay?.status()).toBe(400);
    await page.getByRole('heading', { name: 'This sign-in link is no longer valid' }).waitFor({ timeout: 10_000 });
    expect(page.url().startsWith(baton.url)).toBe(true);
  });

  it('a forged state is refused on an error page', async () => {
    const response = await page.goto(`${baton.url}/callback/contoso?code=abc&state=forged`);
    expect(response?.status()).toBe(400);
    expect(await page.content()).not.toMatch(/node_modules|at .+:\d+:\d+/);
  });

  it('an upstream token endpoint that is down gives an error page, not a redirect', async () => {
    await openAuthorize('contoso-app');
    const seenByApp = app.received.length;
    entra.fail('down', ['token']);
    try {
      await signInAtUpstream(page, 'alice@contoso.com', 'alice-pw');
      await page.getByRole('heading', { name: 'The identity provider is not answering' }).waitFor({ timeout: 10_000 });
      expect(page.url()).toMatch(new RegExp(`^${baton.url}/interaction/[^/]+/callback/contoso\\?`));
      expect(app.received.length).toBe(seenByApp);
    } finally {
      entra.fail('none');
    }
  });

  it('signs in after the upstream rotated its signing key (unknown kid: one JWKS refetch)', async () => {
    await entra.rotateKeys();
    const started = await openAuthorize('contoso-app');
    await signInAtUpstream(page, 'alice@contoso.com', 'alice-pw');
    expect((await redeem(started, await backAtApp())).claims()!.sub).toMatch(/^contoso:/);
  });
});
