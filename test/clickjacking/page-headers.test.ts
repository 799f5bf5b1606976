// Clickjacking (RFC 9700 section 4.16): every HTML response Baton sends (interaction, chooser,
// consent, denial, device, logout, error pages, the provider's own pages and its form_post) carries
// `Content-Security-Policy` with `frame-ancestors 'none'` and a strict policy for the page's own
// content, and `X-Frame-Options: DENY`; a page on another origin that frames /authorize gets nothing.
import { createServer, type Server } from 'node:http';

import type { Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { backAtApp, openAuthorize } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

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
    clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: ['corp', 'other'].map((id) => `http://127.0.0.1:${port}/callback/${id}`) }],
    users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true, name: 'Ann' } }],
  });
  const upstream = { issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET };
  const web = (client_id: string, extra: Record<string, unknown> = {}) => ({ client_id, client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], post_logout_redirect_uris: [app.redirectUri], ...extra });
  baton = await startBaton({
    upstreams: [{ id: 'corp', ...upstream }, { id: 'other', ...upstream }],
    clients: [
      web('chooser'),
      web('web', { upstreams: ['corp'] }),
      web('asks', { upstreams: ['corp'], requireConsent: true }),
      web('refuses', { upstreams: ['corp'], rules: [{ deny: { emailDomain: ['example.org'] }, reason: 'not here' }, { allow: {} }] }),
      { client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'] },
    ],
  }, { port });
});
afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop()]);
  await Promise.all([baton?.stop(), idp?.stop()]);
});
beforeEach(async () => {
  await browser.context.clearCookies();
  page = await browser.newPage();
});
afterEach(() => page.close());

interface Seen { readonly status: number; readonly type: string; readonly csp: string | null; readonly xfo: string | null }

const seen = (res: globalThis.Response): Seen => ({
  status: res.status, type: res.headers.get('content-type') ?? '', csp: res.headers.get('content-security-policy'), xfo: res.headers.get('x-frame-options'),
});
const seenInBrowser = async (res: Response): Promise<Seen> => {
  const headers = await res.allHeaders();
  return { status: res.status(), type: headers['content-type'] ?? '', csp: headers['content-security-policy'] ?? null, xfo: headers['x-frame-options'] ?? null };
};

/** A page Baton sent: HTML, framing refused both ways, nothing but its own stylesheet allowed. */
function expectProtected(what: string, page: Seen): void {
  expect(page.type, what).toMatch(/^text\/html/);
  expect(page.xfo, what).toBe('DENY');
  const directives = Object.fromEntries((page.csp ?? '').split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
  expect(directives['frame-ancestors'], what).toEqual(["'none'"]);
  expect(directives['default-src'], what).toEqual(["'none'"]);
  expect(directives['base-uri'], what).toEqual(["'none'"]);
  expect(page.csp, what).not.toContain('unsafe-inline');
  expect(directives['style-src']?.every((v: string) => v.startsWith("'sha256-")), what).toBe(true);
}

/** Cookies a response sets, as a Cookie header. */
const cookiesOf = (res: globalThis.Response) => res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
const xsrfOf = (body: string) => /name="xsrf" value="([^"]+)"/.exec(body)?.[1] ?? '';

describe('HTML responses carry the framing and content policy (raw HTTP)', () => {
  it('chooser, error pages, device pages, logout pages', async () => {
    const url = (path: string) => `${baton.url}${path}`;
    // Chooser: /authorize, then the interaction with its cookie.
    const authorize = await fetch(url(`/authorize?client_id=chooser&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(app.redirectUri)}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`), { redirect: 'manual' });
    const chooser = await fetch(new URL(authorize.headers.get('location')!, baton.url), { headers: { cookie: cookiesOf(authorize) } });
    const chooserBody = await chooser.text();
    expect(chooserBody).toContain('Continue with');
    expectProtected('chooser', seen(chooser));

    // The provider's renderError (unknown client), Baton's error boundary page, the callback error page.
    expectProtected('renderError', seen(await fetch(url('/authorize?client_id=nobody&response_type=code&scope=openid'))));
    expectProtected('error boundary', seen(await fetch(url('/interaction/nothing'), { headers: { accept: 'text/html' } })));
    expectProtected('callback error', seen(await fetch(url('/callback/corp?state=forged&code=x'))));

    // Device: the code entry page, a wrong code, the confirmation page.
    const entry = await fetch(url('/device'));
    const cookie = cookiesOf(entry);
    expectProtected('device entry', seen(entry));
    const wrong = await fetch(url('/device'), { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ xsrf: xsrfOf(await entry.text()), user_code: 'ZZZZZZZZ' }) });
    const wrongBody = await wrong.text();
    expectProtected('device wrong code', seen(wrong));
    const device = (await (await fetch(url('/device/auth'), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'client_id=tv&scope=openid' })).json()) as { user_code: string };
    const confirm = await fetch(url('/device'), { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ xsrf: xsrfOf(wrongBody), user_code: device.user_code }) });
    expect(await confirm.text()).toContain('Connect');
    expectProtected('device confirm', seen(confirm));

    // Logout: the confirmation page, its success page, the upstream-logout return.
    const logout = await fetch(url('/logout'));
    const logoutBody = await logout.text();
    expectProtected('logout confirm', seen(logout));
    const confirmed = await fetch(url('/logout/confirm'), { method: 'POST', redirect: 'manual', headers: { cookie: cookiesOf(logout), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ xsrf: xsrfOf(logoutBody), logout: 'yes' }) });
    expectProtected('logout success', seen(await fetch(new URL(confirmed.headers.get('location')!, baton.url))));
    expectProtected('upstream logout return', seen(await fetch(url('/logout/upstream?state=unknown'))));
  });

  it('JSON answers are left as they are', async () => {
    const discovery = await fetch(`${baton.url}/.well-known/openid-configuration`);
    expect(discovery.headers.get('content-type')).toMatch(/json/);
    expect(discovery.headers.get('x-frame-options')).toBeNull();
  });
});

describe('pages in a browser', () => {
  /** Every HTML document the browser receives from Baton while `run` goes on. */
  async function pagesDuring(run: () => Promise<void>): Promise<Array<{ url: string; seen: Seen }>> {
    const pages: Array<Promise<{ url: string; seen: Seen }>> = [];
    const listener = (res: Response) => {
      if (res.url().startsWith(baton.url) && res.request().resourceType() === 'document' && (res.status() < 300 || res.status() >= 400)) {
        pages.push(seenInBrowser(res).then((s) => ({ url: res.url(), seen: s })));
      }
    };
    page.on('response', listener);
    try {
      await run();
    } finally {
      page.off('response', listener);
    }
    return Promise.all(pages);
  }

  it('the consent page and the denial page', async () => {
    const consent = await pagesDuring(async () => {
      await openAuthorize(page, baton.url, app, 'asks', TEST_ENV.WEB_SECRET);
      await signInAtUpstream(page, 'ann', 'ann-pw');
      await page.getByRole('button', { name: 'Allow' }).waitFor();
    });
    expect(consent.length).toBeGreaterThan(0);
    for (const { url, seen: s } of consent) expectProtected(url, s);
    // The inline stylesheet is the one the policy allows: the page is styled.
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('main')!).borderTopLeftRadius)).toBe('12px');

    await browser.context.clearCookies();
    const denied = await pagesDuring(async () => {
      await openAuthorize(page, baton.url, app, 'refuses', TEST_ENV.WEB_SECRET);
      await signInAtUpstream(page, 'ann', 'ann-pw');
      await page.getByRole('heading', { name: 'Access denied' }).waitFor();
    });
    expect(denied.length).toBeGreaterThan(0);
    for (const { url, seen: s } of denied) expectProtected(url, s);
  });

  it('form_post still submits itself: the provider\'s inline script is allowed by its hash alone', async () => {
    await openAuthorize(page, baton.url, app, 'web', TEST_ENV.WEB_SECRET);
    await signInAtUpstream(page, 'ann', 'ann-pw');
    await backAtApp(page, app);
    const callbacks = () => app.received.filter((u) => u.pathname === '/callback').length;
    const before = callbacks();
    const posted = await pagesDuring(async () => {
      await openAuthorize(page, baton.url, app, 'web', TEST_ENV.WEB_SECRET, { response_mode: 'form_post' });
      await page.waitForURL((u) => u.href.startsWith(app.redirectUri), { timeout: 10_000 });
    });
    const formPost = posted.find((p) => p.seen.status === 200);
    expect(formPost).toBeDefined();
    expectProtected('form_post', formPost!.seen);
    expect(formPost!.seen.csp).toMatch(/script-src 'sha256-[^']+'(;|$)/);
    await expect.poll(callbacks).toBe(before + 1);
  });

  it('a page on another origin that frames /authorize does not get Baton\'s page in the frame', async () => {
    const target = `${baton.url}/authorize?client_id=chooser&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(app.redirectUri)}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`;
    const attacker: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>Win a prize</title><iframe id="victim" src="${target.replaceAll('&', '&amp;')}" width="600" height="400"></iframe>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.2', resolve));
    try {
      const { port } = attacker.address() as { port: number };
      // Baton answers the framed navigation (the interaction page, or its error page without the
      // cross-site cookie); the browser must not render it.
      const served = page.waitForResponse((res) => res.url().startsWith(`${baton.url}/interaction/`));
      await page.goto(`http://127.0.0.2:${port}/`);
      await served;
      await page.waitForTimeout(500);
      const frame = page.frames().find((f) => f !== page.mainFrame());
      expect(frame).toBeDefined();
      const rendered = await frame!.evaluate(() => document.body?.innerText ?? '').catch(() => '');
      expect(rendered).not.toContain('Baton');
      expect(frame!.url()).not.toContain('/interaction/');
    } finally {
      await new Promise<void>((resolve) => { attacker.close(() => resolve()); attacker.closeAllConnections(); });
    }
  });
});
