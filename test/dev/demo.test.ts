// The one-command demo end to end, as a newcomer runs it: `node bin/baton.js dev` as a child
// process (free ports, temp data dir), then real Chromium through the demo app: alice signs in at
// the demo IdP and gets orders:write, calls the API, refreshes, signs out; bob gets read only;
// the device flow and the token exchange pages; a taken port; SIGTERM stops everything.
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

  it('refresh: new tokens, and the authorizer is asked again', async () => {
    const before = await page.locator('#access-token').innerText();
    await page.getByRole('button', { name: 'Refresh tokens' }).click();
    await page.getByText('Tokens refreshed').waitFor();
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
    await phone.locator('input[name="user_code"]').fill(userCode);
    await phone.getByRole('button', { name: 'Continue' }).click();
    await phone.getByRole('heading', { name: 'Connect Warehouse scanner?' }).waitFor();
    await phone.getByRole('button', { name: 'Continue' }).click();
    await signInAtUpstream(phone, 'alice', 'alice-password');
    await phone.getByRole('heading', { name: 'Device connected' }).waitFor();

    await device.locator('#device-status', { hasText: 'approved' }).waitFor({ timeout: 30_000 });
    const token = await device.locator('#device-access-token').innerText();
    expect(token).toContain('"client_id": "demo-device"');
    expect(token).toContain('"scope": "orders:read orders:write"');
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
