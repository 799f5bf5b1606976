// Mirrors `oidcc-ensure-post-request-succeeds`: the authorization request sent as a form POST (OIDC
// Core section 3.1.2.1: the endpoint MUST support GET and POST) completes and reaches the
// redirect_uri, from raw HTTP and from Chromium submitting a form on another site; single sign-on
// still works for a cross-site POST (the session cookie stays SameSite=Lax: http/post-as-get.ts).
// RP-Initiated Logout section 2 asks the same of the end-session endpoint.
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { escapeHtml } from '../../src/http/html.ts';
import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { backAtApp } from '../helpers/sign-in.ts';
import { authorize, redeem, startCertification, SUITE_REDIRECT, suiteClient, suiteRp, type Certification } from './certification.ts';

let cert: Certification;
let browser: LaunchedBrowser;
let app: RedirectTarget;
beforeAll(async () => {
  [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
  cert = await startCertification({ clients: [suiteClient({ redirect_uris: [SUITE_REDIRECT, app.redirectUri], post_logout_redirect_uris: [app.redirectUri] })] });
});
afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop()]);
  await cert?.stop();
});

const post = (path: string, body: string, contentType = 'application/x-www-form-urlencoded') =>
  fetch(`${cert.baton.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body, redirect: 'manual' });

describe('oidcc-ensure-post-request-succeeds', () => {
  it('raw HTTP: a form POST to /authorize signs in and reaches the redirect_uri with a code that redeems', async () => {
    const authorized = await authorize(cert.baton.url, { scope: 'openid email' }, undefined, 'POST');
    expect(authorized.callback.searchParams.get('error')).toBeNull();
    expect(authorized.upstreamLogins).toBe(1);
    expect((await redeem(await suiteRp(cert.baton.url), authorized)).claims()!.email).toBe('ann@example.org');
  });

  it('the POST is answered with a 303 to the same request as GET, whatever the path\'s spelling', async () => {
    for (const path of ['/authorize', '/Authorize/']) {
      const response = await post(path, 'client_id=oidf-suite&response_type=code&scope=openid&redirect_uri=x');
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe(`${path}?client_id=oidf-suite&response_type=code&scope=openid&redirect_uri=x`);
    }
  });

  it('a body that is not a form is invalid_request (400), never a redirect', async () => {
    const response = await fetch(`${cert.baton.url}/authorize`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{"client_id":"oidf-suite"}', redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('an oversized form is refused with 413 invalid_request', async () => {
    const response = await fetch(`${cert.baton.url}/authorize`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: `client_id=oidf-suite&login_hint=${'a'.repeat(20_000)}`, redirect: 'manual' });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('Chromium: a form on another site POSTs to /authorize; the second POST reuses the Baton session (no upstream sign-in)', async () => {
    const page = await browser.newPage();
    try {
      const rp = await suiteRp(cert.baton.url);
      // The relying party's page, on another site than Baton (localhost vs 127.0.0.1).
      const rpOrigin = new URL(app.redirectUri.replace('127.0.0.1', 'localhost')).origin;
      const submit = async () => {
        const state = client.randomState();
        const nonce = client.randomNonce();
        await page.goto(`${rpOrigin}/start`);
        const fields = { client_id: 'oidf-suite', response_type: 'code', scope: 'openid profile', redirect_uri: app.redirectUri, state, nonce };
        await page.setContent(`<form method="post" action="${escapeHtml(`${cert.baton.url}/authorize`)}">${Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${k}" value="${escapeHtml(v)}">`).join('')}<button>Sign in</button></form>`);
        await page.getByRole('button', { name: 'Sign in' }).click();
        return { state, nonce };
      };

      const first = await submit();
      await signInAtUpstream(page, 'ann', 'ann-pw');
      const callback = await backAtApp(page, app);
      const tokens = await client.authorizationCodeGrant(rp, callback, { expectedState: first.state, expectedNonce: first.nonce });
      expect(tokens.claims()!.name).toBe('Ann Example');

      const upstreamBefore = cert.idp.counters.authorize;
      const second = await submit();
      const again = await backAtApp(page, app);
      expect(cert.idp.counters.authorize).toBe(upstreamBefore);
      expect((await client.authorizationCodeGrant(rp, again, { expectedState: second.state, expectedNonce: second.nonce })).claims()!.sub).toBe('corp:ann');
    } finally {
      await page.close();
    }
  });

  it('RP-Initiated Logout: a form POST to /logout is served like the GET (the confirmation page)', async () => {
    const response = await post('/logout', `client_id=oidf-suite&post_logout_redirect_uri=${encodeURIComponent(app.redirectUri)}&state=s1`);
    expect(response.status).toBe(303);
    const page = await fetch(new URL(response.headers.get('location')!, cert.baton.url));
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<form[^>]+logout\/confirm/);
  });
});
