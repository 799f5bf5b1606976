// The one-command demo end to end, as a newcomer runs it: `node bin/baton.js dev` as a child
// process (free ports, temp data dir), then real Chromium through the demo app: alice signs in at
// the demo IdP and gets orders:write, calls the API, refreshes, signs out; bob gets read only, and
// the authorizer's policy changed live from the page takes effect at the next refresh (the change is
// CSRF-protected, the authorizer has no endpoint for it); readable token times; the upstream's own
// claims beside Baton's; the device flow (code field, approving account) and the token exchange
// pages; a taken port; SIGTERM stops everything.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/baton.ts';
import { launchBrowser, signInAtUpstream, type LaunchedBrowser } from '../helpers/browser.ts';
import { REPO, runCli, startDemoProcess, type DemoProcess } from './demo-process.ts';

const ARTIFACTS = join(REPO, 'test-artifacts');

let demo: DemoProcess;
let browser: LaunchedBrowser;
let page: Page;
let app: string;

beforeAll(async () => {
  [demo, browser] = await Promise.all([startDemoProcess(), launchBrowser()]);
  app = `http://localhost:${demo.ports.app}`;
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

async function signIn(username: string, password: string, screenshot?: string): Promise<void> {
  await page.goto(app);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.port === String(demo.ports.idp));
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  if (screenshot) await page.screenshot({ path: join(ARTIFACTS, screenshot) });
  await signInAtUpstream(page, username, password);
  await page.waitForURL((url) => url.port === String(demo.ports.app) && url.pathname === '/');
  await page.locator('#scopes').waitFor();
}

const granted = () => page.locator('#scopes .scope.granted').allInnerTexts();
const refused = () => page.locator('#scopes .scope.refused').allInnerTexts();

describe('baton dev', () => {
  it('prints every URL and credential', () => {
    const out = demo.stdout();
    for (const port of Object.values(demo.ports)) expect(out).toContain(`http://localhost:${port}`);
    expect(out).toMatch(/alice \/ alice-password\s+orders:read orders:write/);
    expect(out).toMatch(/bob \/ bob-password\s+orders:read\n/);
    expect(out).toContain('demo-app / dev-only-demo-app-secret');
  });

  it('alice signs in through the demo IdP and the orders authorizer grants her orders:write', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.setViewportSize({ width: 1280, height: 1000 });
    await signIn('alice', 'alice-password', 'demo-idp-sign-in.png');
    expect(await granted()).toEqual(['✓ orders:read', '✓ orders:write']);
    expect(await page.locator('h1').innerText()).toBe('Signed in as Alice Anderson');
    expect(await page.locator('#upstream-claims').innerText()).toContain('alice@contoso.example');
    const accessToken = await page.locator('#access-token').innerText();
    expect(accessToken).toContain('"aud": "https://orders.api.localhost"');
    expect(accessToken).toContain('"scope": "orders:read orders:write"');
    expect(accessToken).toContain('"approval_limit": 5000');
    expect(await page.locator('#id-token').innerText()).toContain('"sub": "contoso:alice"');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-signed-in.png'), fullPage: true });
  });

  it('token views show exp, iat and auth_time as readable times beside the epoch seconds', async () => {
    const payload = JSON.parse(await page.locator('#id-token pre:not(.jose-header)').innerText()) as Record<string, number>;
    const rows = await page.locator('#id-token-times tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    // The app asks for auth_time (claims parameter); Baton's id_token lists claims in this order.
    expect(rows.map((row) => row[0])).toEqual(['iat', 'auth_time', 'exp']);
    for (const [claim, seconds, readable] of rows) {
      expect(seconds).toBe(String(payload[claim!]));
      expect(readable).toBe(`${new Date(payload[claim!]! * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} ${readable!.slice(24)}`);
    }
    expect(rows.find((row) => row[0] === 'exp')?.[2]).toMatch(/ UTC \(in (59|60) min\)$/);
    expect(rows.find((row) => row[0] === 'iat')?.[2]).toMatch(/ UTC \((now|1 min ago)\)$/);
    expect(await page.locator('#access-token-times').innerText()).toMatch(/exp\s+\d{10}\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in (9|10) min\)/);
  });

  it('"From Contoso" shows the upstream\'s own id_token claims beside what Baton issued', async () => {
    const card = page.locator('#upstream-claims');
    const row = async (claim: string) => card.locator(`tr[data-claim="${claim}"] td`).allInnerTexts();
    expect(await row('iss')).toEqual(['iss', `http://localhost:${demo.ports.idp}`, `http://localhost:${demo.ports.baton}`]);
    expect(await row('sub')).toEqual(['sub', 'alice', 'contoso:alice']);
    expect(await row('aud')).toEqual(['aud', 'baton', 'demo-app']);
    expect(await row('email')).toEqual(['email', 'alice@contoso.example', 'alice@contoso.example']);
    expect(await card.locator('tr[data-claim="sub"] td.differs').count()).toBe(2);
    expect(await card.locator('tr[data-claim="email"] td.differs').count()).toBe(0);
    expect(await card.innerText()).toContain('read from the demo IdP itself');
  });

  it('alice calls the Orders API: 200 with her claims; placing an order is allowed', async () => {
    await page.getByRole('button', { name: 'Call the Orders API' }).click();
    const result = page.locator('#api-result');
    await result.waitFor();
    expect(await result.locator('h2').innerText()).toMatch(/→ 200$/);
    expect(await result.innerText()).toContain('"sub": "contoso:alice"');
    expect(await result.innerText()).toContain('"client_id": "demo-app"');
    await page.getByRole('button', { name: 'Place an order (needs orders:write)' }).click();
    expect(await page.locator('#api-result h2').innerText()).toMatch(/→ 201$/);
  });

  it('refresh: new tokens, the authorizer is asked again, and the previous API answer is cleared', async () => {
    const before = await page.locator('#access-token').innerText();
    expect(await page.locator('#api-result').count()).toBe(1);
    await page.getByRole('button', { name: 'Refresh tokens' }).click();
    await page.getByText('Tokens refreshed').waitFor();
    expect(await page.locator('#api-result').count()).toBe(0);
    expect(await page.locator('.lead').innerText()).toContain('refreshed 1 time');
    expect(await page.locator('#access-token').innerText()).not.toBe(before);
    expect(await granted()).toEqual(['✓ orders:read', '✓ orders:write']);
    expect(demo.stdout()).toContain('[authorizer] contoso:alice (refresh_token) asked orders:read orders:write: granted orders:read orders:write');
  });

  it('signs out at Baton (RP-initiated logout); bob then signs in and gets orders:read only', async () => {
    await page.locator('header').getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.port === String(demo.ports.baton));
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByText('You signed out at Baton.').waitFor();

    await signIn('bob', 'bob-password');
    expect(await granted()).toEqual(['✓ orders:read']);
    expect(await refused()).toEqual(['✗ orders:write']);
    await page.getByRole('button', { name: 'Call the Orders API' }).click();
    expect(await page.locator('#api-result h2').innerText()).toMatch(/→ 200$/);
    expect(await page.locator('#api-result').innerText()).toContain('"sub": "contoso:bob"');
    await page.getByRole('button', { name: 'Place an order (needs orders:write)' }).click();
    expect(await page.locator('#api-result h2').innerText()).toMatch(/→ 403$/);
    expect(await page.locator('#api-result').innerText()).toContain('insufficient_scope');

    // "Why these scopes?": the decision trace of the app's own token response (docs/explain.md).
    await page.locator('#why-scopes').click();
    const why = await page.locator('#why pre').innerText();
    expect(why).toMatch(/denied\s+orders:write\s+by authorizer:orders/);
    expect(why).toMatch(/identity contoso:bob/);
    expect(why).not.toMatch(/eyJ[\w-]+\.eyJ/);
    await page.getByRole('link', { name: 'Back' }).click();
    await page.locator('#scopes').waitFor();
  });

  it('the authorizer\'s policy changed live from the page: bob loses orders:read at the next refresh, then gets it back', async () => {
    const revoke = page.getByRole('button', { name: 'Revoke orders:read for contoso:bob' });
    await revoke.click();
    await page.getByText('Policy changed: contoso:bob may no longer get orders:read.').waitFor();
    // Tokens already issued keep their scopes until the next refresh.
    expect(await granted()).toEqual(['✓ orders:read']);
    await page.getByRole('button', { name: 'Refresh tokens' }).click();
    await page.getByText(/Tokens refreshed|Refresh failed/).waitFor();
    expect(demo.stdout()).toContain('[authorizer] contoso:bob (refresh_token) asked orders:read orders:write: denied (none of the requested orders scopes is allowed)');
    expect(await granted()).toEqual([]);
    expect(await refused()).toEqual(['✗ orders:read', '✗ orders:write']);
    await page.getByRole('button', { name: 'Call the Orders API' }).click();
    expect(await page.locator('#api-result h2').innerText()).toMatch(/→ 40[13]$/);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-policy-revoked.png'), fullPage: true });

    await page.getByRole('button', { name: 'Restore orders:read for contoso:bob' }).click();
    await page.getByText('Policy changed: contoso:bob may get orders:read.').waitFor();
    await page.getByRole('button', { name: 'Refresh tokens' }).click();
    await page.getByText('Tokens refreshed').waitFor();
    expect(await granted()).toEqual(['✓ orders:read']);
    expect(await page.getByRole('button', { name: 'Revoke orders:read for contoso:bob' }).count()).toBe(1);
  });

  it('the policy form refuses a cross-site post, another session\'s or no CSRF token, and a large body; the authorizer serves no policy endpoint', async () => {
    const token = await page.locator('#policy input[name="csrf"]').first().inputValue();
    const cookies = await browser.context.cookies(app);
    const cookie = cookies.filter((c) => c.name === 'demo_app_session').map((c) => `${c.name}=${c.value}`).join('; ');
    expect(cookie).not.toBe('');
    const other = (await fetch(`${app}/`)).headers.get('set-cookie')?.split(';')[0] ?? '';
    expect(other).toMatch(/^demo_app_session=/);
    const post = (headers: Record<string, string>, body: string) => fetch(`${app}/policy`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body,
    });
    const form = (csrf: string) => new URLSearchParams({ csrf, subject: 'contoso:bob', scope: 'orders:read', allow: 'no' }).toString();
    const refusals = [
      await post({}, form(token)), // no session cookie: a new session, whose token it is not
      await post({ cookie }, form('')), // no token
      await post({ cookie }, form(`${token.slice(0, -1)}x`)), // a wrong token
      await post({ cookie: other }, form(token)), // another session's token
      await post({ cookie, origin: 'http://evil.example' }, form(token)), // a cross-site form
      await post({ cookie }, `${form(token)}&pad=${'x'.repeat(8192)}`), // oversized
    ];
    expect(refusals.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403]);
    expect(await refusals[4]!.text()).toContain('cross-origin form post');
    expect((await post({ cookie, origin: app }, new URLSearchParams({ csrf: token, subject: 'contoso:mallory', scope: 'orders:read', allow: 'yes' }).toString())).status).toBe(400);
    // Nothing changed: bob keeps orders:read.
    await page.reload();
    expect(await page.getByRole('button', { name: 'Revoke orders:read for contoso:bob' }).count()).toBe(1);
    // The page cannot be framed, and the authorizer has no way in to its policy.
    const home = await fetch(`${app}/`, { headers: { cookie } });
    expect(home.headers.get('x-frame-options')).toBe('DENY');
    expect(home.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const api = `http://localhost:${demo.ports.api}`;
    for (const path of ['/authorizer/policy', '/authorizer', '/policy']) {
      expect((await fetch(`${api}${path}`, { method: 'POST', body: form(token) })).status).toBe(404);
    }
    expect((await fetch(`${api}/authorizer/decide`, { method: 'POST', body: JSON.stringify({ subject: 'contoso:bob', scopes: ['orders:read'] }) })).status).toBe(401);
  });

  it('token exchange: bob\'s Orders token becomes a Shipping token that only the Shipping API accepts', async () => {
    await page.goto(`${app}/exchange`);
    await page.getByRole('button', { name: 'Exchange for a Shipping API token' }).click();
    const response = await page.locator('#exchange-response').innerText();
    expect(response).toContain('"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"');
    const exchanged = await page.locator('#exchanged-token').innerText();
    expect(exchanged).toContain('"aud": "https://shipping.api.localhost"');
    expect(exchanged).toContain('"sub": "contoso:bob"');
    expect(await page.locator('#exchange-call-0 h2').innerText()).toMatch(/→ 200$/);
    expect(await page.locator('#exchange-call-1 h2').innerText()).toMatch(/→ 401$/);
    expect(await page.locator('#exchange-call-1').innerText()).toContain('invalid_token');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-token-exchange.png'), fullPage: true });
  });

  it('device flow: the page shows a code and polls; alice approves it at Baton on another tab', async () => {
    // A browser signed in nowhere: the approval signs in at the demo IdP.
    await browser.context.clearCookies();
    const device = await browser.newPage();
    await device.goto(`${app}/device`);
    await device.getByRole('button', { name: 'Start a device sign-in' }).click();
    const userCode = await device.locator('#user-code').innerText();
    expect(userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    const verification = await device.locator('#verification-uri').getAttribute('href');
    expect(verification).toBe(`http://localhost:${demo.ports.baton}/device`);
    await device.screenshot({ path: join(ARTIFACTS, 'demo-device.png') });

    const phone = await browser.newPage();
    await phone.goto(verification!);
    // A proper code field: labelled, the expected format, no autocomplete, shown upper case.
    const field = phone.getByLabel('Code');
    expect(await field.getAttribute('autocomplete')).toBe('off');
    expect(await field.getAttribute('placeholder')).toBe('XXXX-XXXX');
    expect(await field.getAttribute('inputmode')).toBe('text');
    expect(await field.getAttribute('autocapitalize')).toBe('characters');
    expect(await field.evaluate((el) => getComputedStyle(el).textTransform)).toBe('uppercase');
    expect(await phone.locator('#user_code_format').innerText()).toContain('XXXX-XXXX');
    await field.fill('BCD');
    await phone.getByRole('button', { name: 'Continue' }).click();
    expect(await field.evaluate((el) => (el as HTMLInputElement).validity.patternMismatch)).toBe(true);
    expect(phone.url()).toBe(verification);
    await field.fill(userCode.toLowerCase());
    await phone.getByRole('button', { name: 'Continue' }).click();
    await phone.getByRole('heading', { name: 'Connect Warehouse scanner?' }).waitFor();
    expect(await phone.locator('#approving-account').innerText()).toContain('Next you sign in; the device will act as the account you sign in with.');
    await phone.getByRole('button', { name: 'Continue' }).click();
    await signInAtUpstream(phone, 'alice', 'alice-password');
    await phone.getByRole('heading', { name: 'Device connected' }).waitFor();
    expect(await phone.locator('main').innerText()).toContain('Warehouse scanner is signed in as Alice Anderson (contoso:alice).');

    await device.locator('#device-status', { hasText: 'approved' }).waitFor({ timeout: 30_000 });
    expect(await device.locator('#device-approver').innerText()).toBe('Approved by Alice Anderson (contoso:alice): the device acts as this account.');
    const token = await device.locator('#device-access-token').innerText();
    expect(token).toContain('"client_id": "demo-device"');
    expect(token).toContain('"scope": "orders:read orders:write"');
    expect(await device.locator('#device-access-token-times').innerText()).toContain('UTC');

    // Signed in at Baton now: the confirmation names the account before it approves; cancel it.
    await device.getByRole('button', { name: 'Start again' }).click();
    const second = await device.locator('#user-code').innerText();
    await phone.goto(verification!);
    await phone.getByLabel('Code').fill(second);
    await phone.getByRole('button', { name: 'Continue' }).click();
    expect(await phone.locator('#approving-account').innerText()).toBe('You approve it as Alice Anderson (contoso:alice), signed in here: the device will act as this account.');
    await phone.screenshot({ path: join(ARTIFACTS, 'demo-device-confirm.png') });
    await phone.getByRole('button', { name: 'Cancel' }).click();
    await phone.getByText('The sign-in was cancelled.').waitFor();
    await device.locator('#device-status', { hasText: 'denied' }).waitFor({ timeout: 30_000 });
    await Promise.all([device.close(), phone.close()]);
  });

  it('the single-page app signs in through Baton\'s BFF and calls the Orders API with no token in the page', async () => {
    const seen: string[] = [];
    const spa = await browser.newPage();
    spa.on('response', (response) => { void response.text().then((text) => seen.push(text), () => undefined); });
    await spa.goto(`${app}/spa`);
    await spa.getByRole('button', { name: 'Sign in', exact: true }).click();
    // alice's Baton session (from the device approval) is reused; sign in at the IdP only if it asks.
    await spa.waitForURL((url) => url.port === String(demo.ports.idp) || (url.port === String(demo.ports.app) && url.pathname === '/spa'));
    if (spa.url().includes(`:${demo.ports.idp}`)) await signInAtUpstream(spa, 'alice', 'alice-password');
    await spa.waitForURL((url) => url.port === String(demo.ports.app) && url.pathname === '/spa');
    await spa.getByRole('button', { name: 'Call the Orders API' }).waitFor();
    expect(await spa.locator('#spa-user').innerText()).toContain('"sub": "contoso:alice"');
    await spa.getByRole('button', { name: 'Call the Orders API' }).click();
    await spa.locator('#spa-api', { hasText: '-> 200' }).waitFor();
    expect(await spa.locator('#spa-api').innerText()).toContain('"client_id": "demo-spa-bff"');
    expect(await spa.locator('#spa-scopes').innerText()).toContain('orders:write');
    await spa.getByRole('button', { name: 'Place an order' }).click();
    await spa.locator('#spa-api', { hasText: '-> 201' }).waitFor();
    expect(await spa.locator('#spa-cookie').innerText()).toContain('(empty');
    expect(seen.join('\n')).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
    await spa.screenshot({ path: join(ARTIFACTS, 'demo-spa.png'), fullPage: true });
    await spa.getByRole('button', { name: 'Sign out' }).click();
    await spa.waitForURL((url) => url.port === String(demo.ports.baton));
    await spa.close();
  });

  it('a port in use: a clear message naming the port and the flag, exit 1, no stack trace', async () => {
    const [baton, api, app] = await Promise.all([freePort(), freePort(), freePort()]);
    const taken = demo.ports.idp;
    const { code, stderr, stdout } = await runCli(['dev', '--baton-port', String(baton), '--idp-port', String(taken), '--api-port', String(api), '--app-port', String(app)]);
    expect(code).toBe(1);
    expect(stderr).toContain(`port ${taken} (demo IdP) is already in use`);
    expect(stderr).toContain('--idp-port');
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).not.toContain('Baton demo is running');
  });

  it('no token in what it printed or in Baton\'s log', () => {
    const jwt = /eyJ[\w-]+\.eyJ[\w-]+\./;
    const log = readFileSync(join(demo.dataDir, 'baton.log'), 'utf8');
    expect(log).toContain('"event":"authorizer.decision"');
    expect(log).not.toMatch(jwt);
    expect(demo.stdout()).not.toMatch(jwt);
    expect(existsSync(join(demo.dataDir, 'dev-master-secret'))).toBe(true);
    expect(demo.stdout()).not.toContain(readFileSync(join(demo.dataDir, 'dev-master-secret'), 'utf8').trim());
  });

  it('the audit log has the session\'s events and no token; /metrics counted them', async () => {
    const events = readFileSync(join(demo.dataDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const types = new Set(events.map((e) => e.type));
    for (const type of ['config.loaded', 'user.signed_in', 'token.issued', 'token.refreshed', 'authorizer.decision', 'user.logged_out']) expect(types).toContain(type);
    expect(events.find((e) => e.type === 'user.signed_in')).toMatchObject({ sub: 'contoso:alice', clientId: 'demo-app', upstream: 'contoso' });
    expect(readFileSync(join(demo.dataDir, 'audit.jsonl'), 'utf8')).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(demo.stdout()).toContain(`http://localhost:${demo.ports.baton}/metrics`);
    const metrics = await (await fetch(`http://localhost:${demo.ports.baton}/metrics`)).text();
    expect(metrics).toMatch(/baton_token_requests_total\{grant_type="authorization_code",client_id="demo-app",result="issued"\} [1-9]/);
    expect(metrics).toMatch(/baton_upstream_request_seconds_count\{upstream="contoso",operation="sign_in",result="ok"\} [1-9]/);
  });

  it('its configuration passes check-config', async () => {
    const ports = { BATON_PORT: '4000', IDP_PORT: '4001', API_PORT: '4002', APP_PORT: '4003', DATA_DIR: './data/dev' };
    const { code, stdout } = await runCli(['check-config', 'examples/dev/baton.yaml'], ports);
    expect(stdout).toBe('examples/dev/baton.yaml: valid (3 clients, 2 resources)\n');
    expect(code).toBe(0);
  });

  it('SIGTERM stops every component and exits 0', async () => {
    expect(await demo.stop()).toBe(0);
    expect(demo.stdout()).toContain('stopped');
    for (const port of Object.values(demo.ports)) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => { socket.destroy(); resolve(false); });
        socket.once('error', () => resolve(true));
      });
      expect(refused, `port ${port} still accepts connections`).toBe(true);
    }
  });
});
