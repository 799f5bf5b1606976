// Device authorization (RFC 8628) end to end: openid-client's device API on the device, Chromium
// entering the code (lower case, no hyphen) on Baton's verification page, signing in at a real
// upstream, approving; then deny, expiry, slow_down and user-code guessing limits.
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { launchBrowser, signInAtUpstream, type LaunchedBrowser } from '../helpers/browser.ts';
import { freePort, startBaton, type RunningBaton } from '../helpers/baton.ts';
import { discover, postForm } from '../helpers/rp.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const SECRET = 'upstream-client-secret-0123456789';
const API = 'https://media.api.example';
let baton: RunningBaton;
let idp: Upstream;
let browser: LaunchedBrowser;
let page: Page;
let tv: client.Configuration;

beforeAll(async () => {
  const port = await freePort();
  browser = await launchBrowser();
  idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: [`http://127.0.0.1:${port}/callback/corp`] }],
    users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true, name: 'Ann' } }],
  });
  baton = await startBaton({
    upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET }],
    resources: [{ id: API, scopes: ['media:play'] }],
    // Long enough for the browser sign-in of the first test on a loaded machine; the expiry test waits it out.
    ttl: { deviceCode: '8s' },
    clients: [{
      client_id: 'living-room-tv', client_name: 'Living room TV', token_endpoint_auth_method: 'none',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      resources: [{ id: API }],
    }],
  }, { port });
  tv = await discover(baton.url, 'living-room-tv', undefined, 'none');
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([baton?.stop(), idp?.stop()]);
});
beforeEach(async () => {
  await browser.context.clearCookies();
  page = await browser.newPage();
});
afterEach(() => page.close());

const poll = (deviceCode: string) => postForm(`${baton.url}/token`, new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode, client_id: 'living-room-tv' }));

async function enterCode(userCode: string): Promise<void> {
  await page.goto(`${baton.url}/device`);
  await page.locator('input[name="user_code"]').fill(userCode.replace('-', '').toLowerCase());
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Connect Living room TV?' }).waitFor({ timeout: 10_000 });
}

describe('device flow', () => {
  it('pending, then slow_down, then approved through the upstream: tokens for the device', async () => {
    const device = await client.initiateDeviceAuthorization(tv, { scope: 'openid email media:play', resource: API });
    expect(device.verification_uri).toBe(`${baton.url}/device`);
    expect(device.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);

    expect((await poll(device.device_code)).json.error).toBe('authorization_pending');
    expect((await poll(device.device_code)).json.error).toBe('slow_down');

    await enterCode(device.user_code);
    expect(await page.locator('main').innerText()).toContain('media:play');
    await page.getByRole('button', { name: 'Continue' }).click();
    await signInAtUpstream(page, 'ann', 'ann-pw');
    await page.getByRole('heading', { name: 'Device connected' }).waitFor({ timeout: 10_000 });

    const tokens = await client.pollDeviceAuthorizationGrant(tv, { ...device, interval: 0.1 });
    expect(tokens.claims()).toMatchObject({ sub: 'corp:ann', email: 'ann@example.org', aud: 'living-room-tv' });
    expect(tokens.refresh_token).toBeDefined();
  });

  it('cancelling on the confirmation page gives the device access_denied', async () => {
    const device = await client.initiateDeviceAuthorization(tv, { scope: 'openid' });
    await enterCode(device.user_code);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForLoadState();
    expect((await poll(device.device_code)).json.error).toBe('access_denied');
  });

  it('an unknown code is refused on the page', async () => {
    await page.goto(`${baton.url}/device`);
    await page.locator('input[name="user_code"]').fill('BCDF-GHJK');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('That code is not valid or has expired').waitFor({ timeout: 10_000 });
  });

  it('an unused code expires: expired_token', async () => {
    const device = await client.initiateDeviceAuthorization(tv, { scope: 'openid' });
    await new Promise((resolve) => setTimeout(resolve, 8500));
    expect((await poll(device.device_code)).json.error).toBe('expired_token');
  });

  it('user-code guessing is limited per client address: at most 20 submissions per window, then 429', async () => {
    // This file's earlier tests submitted codes from the same address, inside the same window.
    const statuses: number[] = [];
    for (let i = 0; i < 22; i += 1) statuses.push((await postForm(`${baton.url}/device`, 'user_code=ZZZZZZZZ&xsrf=x')).status);
    expect(statuses[0]).toBe(200); // no session cookie: redirected back to the form (fetch follows), never a 500
    expect(statuses.filter((s) => s !== 429).length).toBeLessThanOrEqual(20);
    expect(statuses.slice(-2)).toEqual([429, 429]);
  });
});
