// A Baton session reused for a second application (no new upstream sign-in): that application's
// own decision (upstreams allow-list, the upstream's emailDomains, rules, isAuthorized) runs for the
// session's account, with and without prompt=none; a refusal is access_denied at its redirect_uri,
// never a code, and an application that accepts the account still gets single sign-on.
import { fileURLToPath } from 'node:url';

import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ACCOUNT_KIND, type AccountRecord } from '../../src/provider/accounts.ts';
import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { backAtApp, openAuthorize, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { decided, refusing } from './fixtures/refusing-hooks.ts';

const SECRET = 'upstream-client-secret-0123456789';
let baton: RunningBaton;
let idp: Upstream;
let browser: LaunchedBrowser;
let app: RedirectTarget;
let page: Page;

const app_ = (client_id: string, extra: Record<string, unknown> = {}) => ({ client_id, client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], ...extra });

beforeAll(async () => {
  const port = await freePort();
  [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
  idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: ['corp', 'partner'].map((id) => `http://127.0.0.1:${port}/callback/${id}`) }],
    users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true, name: 'Ann' } }],
  });
  const upstream = { issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET };
  baton = await startBaton({
    upstreams: [{ id: 'corp', ...upstream, emailDomains: ['example.org'] }, { id: 'partner', ...upstream }],
    clients: [
      app_('first', { upstreams: ['corp'] }),
      app_('accepting'),
      app_('rules', { rules: [{ deny: { emailDomain: ['example.org'] }, reason: 'example.org accounts are not accepted here' }, { allow: {} }] }),
      app_('hooked', { hooks: { module: './refusing-hooks.ts' } }),
      app_('changing', { hooks: { module: './refusing-hooks.ts' } }),
      app_('broken', { hooks: { module: './refusing-hooks.ts' } }),
      app_('partners-only', { upstreams: ['partner'] }),
      { client_id: 'kiosk', client_name: 'Kiosk', token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], rules: [{ deny: { emailDomain: ['example.org'] }, reason: 'example.org accounts are not accepted here' }, { allow: {} }] },
    ],
  }, { port, configDir: fileURLToPath(new URL('./fixtures/', import.meta.url)) });
});
afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop()]);
  await Promise.all([baton?.stop(), idp?.stop()]);
});
beforeEach(async () => {
  decided.length = 0;
  refusing.changing = false;
  await browser.context.clearCookies();
  page = await browser.newPage();
  // Signed in to the first application through the upstream: the Baton session every test reuses.
  const started = await openAuthorize(page, baton.url, app, 'first', TEST_ENV.WEB_SECRET);
  await signInAtUpstream(page, 'ann', 'ann-pw');
  expect((await redeem(started, await backAtApp(page, app))).claims()!.sub).toBe('corp:ann');
});
afterEach(() => page.close());

/** Opens the second application's /authorize in the same browser; no upstream sign-in may happen. */
async function reuse(clientId: string, extra: Record<string, string> = {}) {
  const upstreamBefore = idp.counters.authorize;
  const started = await openAuthorize(page, baton.url, app, clientId, TEST_ENV.WEB_SECRET, extra);
  const back = await backAtApp(page, app);
  expect(idp.counters.authorize).toBe(upstreamBefore);
  return { started, back };
}

function expectDenied(back: URL, state: string, description?: RegExp): void {
  expect(back.searchParams.get('error')).toBe('access_denied');
  expect(back.searchParams.has('code')).toBe(false);
  expect(back.searchParams.get('state')).toBe(state);
  if (description) expect(back.searchParams.get('error_description')).toMatch(description);
}

describe('a reused Baton session runs the second application\'s decision', () => {
  for (const prompt of [{}, { prompt: 'none' }] as Array<Record<string, string>>) {
    const how = 'prompt' in prompt ? 'with prompt=none' : 'interactively';

    it(`rules that refuse the account: access_denied with their reason, no code, ${how}`, async () => {
      const { started, back } = await reuse('rules', prompt);
      expectDenied(back, started.state, /example\.org accounts are not accepted here/);
    });

    it(`an isAuthorized hook that refuses the account: access_denied with its reason, no code, ${how}`, async () => {
      const { started, back } = await reuse('hooked', prompt);
      expectDenied(back, started.state, /the roster service does not know you/);
      expect(decided).toEqual([{ client: 'hooked', sub: 'corp:ann' }]);
    });

    it(`an upstreams allow-list without the session's upstream: access_denied, no code, ${how}`, async () => {
      const { started, back } = await reuse('partners-only', prompt);
      expectDenied(back, started.state);
    });

    it(`the session's upstream emailDomains no longer matching the account: access_denied, no code, ${how}`, async () => {
      // The upstream reported another email since the sign-in (as an upstream refresh records it).
      const { store } = baton.baton;
      const account = (await store.getRecord<AccountRecord>(ACCOUNT_KIND, 'corp:ann'))!.value;
      await store.putRecord<AccountRecord>(ACCOUNT_KIND, 'corp:ann', { ...account, claims: { ...account.claims, email: 'ann@elsewhere.net' } });
      const { started, back } = await reuse('accepting', prompt);
      expectDenied(back, started.state, /elsewhere\.net/);
    });
  }

  it('an application that accepts the account gets single sign-on, then again with prompt=none', async () => {
    for (const extra of [{}, { prompt: 'none' }] as Array<Record<string, string>>) {
      const { started, back } = await reuse('accepting', extra);
      expect(back.searchParams.get('error')).toBeNull();
      expect((await redeem(started, back)).claims()!.sub).toBe('corp:ann');
    }
  });

  it('a grant the application already has in the session does not skip its decision (interactive and prompt=none)', async () => {
    const allowed = await reuse('changing');
    expect((await redeem(allowed.started, allowed.back)).claims()!.sub).toBe('corp:ann');
    refusing.changing = true;
    decided.length = 0;
    for (const extra of [{}, { prompt: 'none' }] as Array<Record<string, string>>) {
      const { started, back } = await reuse('changing', extra);
      expectDenied(back, started.state, /the roster service does not know you/);
    }
    expect(decided).toEqual([{ client: 'changing', sub: 'corp:ann' }, { client: 'changing', sub: 'corp:ann' }]);
  });

  it('an isAuthorized hook that fails: access_denied with a generic description, never its error', async () => {
    for (const extra of [{}, { prompt: 'none' }] as Array<Record<string, string>>) {
      const { started, back } = await reuse('broken', extra);
      expectDenied(back, started.state);
      expect(back.searchParams.get('error_description')).not.toContain('hunter2');
    }
  });

  it('device verification from the signed-in browser runs the device client\'s decision: the device gets access_denied', async () => {
    const form = (body: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
    const device = (await (await fetch(`${baton.url}/device/auth`, form({ client_id: 'kiosk', scope: 'openid email' }))).json()) as { device_code: string; user_code: string };
    const upstreamBefore = idp.counters.authorize;
    await page.goto(`${baton.url}/device`);
    await page.locator('input[name="user_code"]').fill(device.user_code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Connect Kiosk?' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForLoadState();
    const poll = await fetch(`${baton.url}/token`, form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'kiosk' }));
    const answer = (await poll.json()) as { error?: string; access_token?: string };
    expect(answer.access_token).toBeUndefined();
    expect(answer.error).toBe('access_denied');
    expect(idp.counters.authorize).toBe(upstreamBefore);
  });

  it('a refusal for one application leaves the session and the first application\'s sign-on intact', async () => {
    const refused = await reuse('rules');
    expectDenied(refused.back, refused.started.state);
    const { started, back } = await reuse('first', { prompt: 'none' });
    expect((await redeem(started, back)).claims()!.sub).toBe('corp:ann');
  });
});
