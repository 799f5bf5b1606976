// The backend-for-frontend end to end (issue 14, RFC 10017): a SPA page on its own origin signs in
// through Baton's BFF in real Chromium (a real upstream OP behind), reads `user`, calls an API that
// verifies Baton's JWT through the proxy, survives access-token expiry, and logs out; and nothing
// token-like reaches the browser on the way.
import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { deriveKey } from '../../src/keys/seal.ts';
import { BffSessions } from '../../src/bff/index.ts';
import { cancelAtUpstream, launchBrowser, signInAtUpstream, type LaunchedBrowser } from '../helpers/browser.ts';
import { TEST_MASTER_SECRET } from '../helpers/baton.ts';
import { ORDERS, REPORTS, startBffWorld, type BffWorld } from './environment.ts';

let world: BffWorld;
let browser: LaunchedBrowser;
/** Everything the browser received: URL, headers and (where readable) body of every response. */
const seen: string[] = [];

beforeAll(async () => {
  [world, browser] = await Promise.all([startBffWorld({ accessTokenTTL: '4s' }), launchBrowser()]);
  browser.context.on('response', (response: Response) => {
    void (async () => {
      const entry = [response.url(), JSON.stringify(await response.allHeaders())];
      try {
        entry.push(await response.text());
      } catch {
        // redirects and aborted responses have no body
      }
      seen.push(entry.join('\n'));
    })();
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await world?.stop();
});

type Answer = { status: number; body: string };
const call = (page: Page, path: string, init: Record<string, unknown> = {}, csrf = true): Promise<Answer> =>
  page.evaluate(([p, i, c]) => (window as unknown as { bff: (p: string, i: unknown, c: boolean) => Promise<Answer> }).bff(p, i, c), [path, init, csrf] as const);

async function signIn(page: Page): Promise<void> {
  await page.goto(`${world.spaOrigin}/`);
  await page.evaluate(() => (window as unknown as { login: () => void }).login());
  await page.waitForURL((url) => url.href.startsWith(world.idp.url));
  await signInAtUpstream(page, 'ann', 'ann-pw');
  await page.waitForURL((url) => url.origin === world.spaOrigin, { timeout: 15_000 });
}

async function sessionCookie(): Promise<{ name: string; value: string; httpOnly: boolean; sameSite: string }> {
  const cookies = await browser.context.cookies(world.baton.url);
  const cookie = cookies.find((c) => c.name === 'baton-bff-spa');
  if (!cookie) throw new Error(`no session cookie; have ${cookies.map((c) => c.name).join(', ')}`);
  return cookie;
}

describe('a sign-in the user cancels', () => {
  it('comes back to returnTo with error=access_denied and no session', async () => {
    const page = await browser.newPage();
    await page.goto(`${world.spaOrigin}/`);
    await page.evaluate(() => (window as unknown as { login: (r: string) => void }).login(`${location.origin}/orders?tab=open`));
    await page.waitForURL((url) => url.href.startsWith(world.idp.url));
    await cancelAtUpstream(page);
    await page.waitForURL((url) => url.origin === world.spaOrigin, { timeout: 15_000 });
    const back = new URL(page.url());
    expect(back.pathname).toBe('/orders');
    expect(Object.fromEntries(back.searchParams)).toEqual({ tab: 'open', error: 'access_denied' });
    expect((await browser.context.cookies(world.baton.url)).some((c) => c.name === 'baton-bff-spa')).toBe(false);
    expect((await call(page, 'user')).status).toBe(401);
    await page.close();
  }, 30_000);
});

describe('a SPA signed in through the BFF', () => {
  let page: Page;
  const tokensSeen = new Set<string>();

  it('signs in, reads user, calls the API with a token for that API only, and survives access-token expiry', async () => {
    page = await browser.newPage();
    await signIn(page);
    const cookie = await sessionCookie();
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).toBe('');

    const me = await call(page, 'user');
    expect(me.status).toBe(200);
    const user = JSON.parse(me.body) as { sub: string; claims: Record<string, unknown>; session: { expiresAt: number }; logoutUrl: string };
    expect(user.sub).toMatch(/^corp:/);
    expect(user.claims).toMatchObject({ email: 'ann@example.org', name: 'Ann' });
    expect(user.claims).not.toHaveProperty('nonce');
    expect(user.logoutUrl).toBe(`${world.baton.url}/bff/spa/logout`);

    const first = await call(page, 'api/orders/items?page=2');
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ path: '/orders/items', sub: user.sub, aud: ORDERS, scope: 'orders:read orders:write', client_id: 'spa-bff' });
    const created = await call(page, 'api/orders/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"item":"book"}' });
    expect(created.status).toBe(200);
    const apiCalls = world.calls.filter((c) => c.path.startsWith('/orders'));
    expect(apiCalls.map((c) => [c.method, c.path, c.body])).toEqual([['GET', '/orders/items?page=2', ''], ['POST', '/orders/items', '{"item":"book"}']]);
    // The cached token served both calls; the API never saw the browser's cookies or its CSRF marker.
    expect(apiCalls[0]!.token).toBe(apiCalls[1]!.token);
    for (const c of apiCalls) {
      expect(c.headers.cookie).toBeUndefined();
      expect(c.headers['x-csrf']).toBeUndefined();
      tokensSeen.add(c.token!);
    }

    // A client-credentials route gets the BFF client's own token for its resource; a `none` route no token.
    const report = JSON.parse((await call(page, 'api/reports/daily')).body) as Record<string, unknown>;
    expect(report).toMatchObject({ aud: REPORTS, client_id: 'spa-bff', scope: 'reports:read' });
    expect(report.sub).not.toBe(user.sub);
    expect((await call(page, 'api/status')).status).toBe(200);
    expect(world.calls.at(-1)!.headers.authorization).toBeUndefined();
    world.calls.filter((c) => c.token).forEach((c) => tokensSeen.add(c.token!));

    // Silent refresh: the 4 s access token is renewed server-side, the SPA notices nothing.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    const later = await call(page, 'api/orders/items');
    expect(later.status).toBe(200);
    const renewed = world.calls.at(-1)!;
    expect(renewed.claims?.sub).toBe(user.sub);
    expect(renewed.token).not.toBe(apiCalls[0]!.token);
    tokensSeen.add(renewed.token!);

    // An API that refuses a token gets one refresh and retry on a GET.
    world.rejectNext(1);
    const retried = await call(page, 'api/orders/items');
    expect(retried.status).toBe(200);
    const [refused, retry] = world.calls.slice(-2);
    expect(refused!.token).not.toBe(retry!.token);
    tokensSeen.add(retry!.token!);
  }, 60_000);

  it('logs out: the refresh token is revoked at Baton, the cookie is gone and replaying it gets 401', async () => {
    const cookie = await sessionCookie();
    const sessions = new BffSessions(world.baton.baton.store, deriveKey(TEST_MASTER_SECRET, 'bff-sessions'), Date.now);
    const stored = await sessions.load(cookie.value, 'spa', { idle: 1800, absolute: 43200 });
    const refreshToken = stored!.tokens.refreshToken;
    tokensSeen.add(refreshToken);

    const out = await call(page, 'logout', { method: 'POST', headers: { accept: 'application/json' } });
    expect(out.status).toBe(200);
    const { endSessionUrl } = JSON.parse(out.body) as { endSessionUrl: string };
    const end = new URL(endSessionUrl);
    expect(end.origin + end.pathname).toBe(`${world.baton.url}/logout`);
    expect(end.searchParams.get('client_id')).toBe('spa-bff');
    expect(end.searchParams.has('id_token_hint')).toBe(false);
    expect((await browser.context.cookies(world.baton.url)).some((c) => c.name === 'baton-bff-spa')).toBe(false);
    expect((await call(page, 'user')).status).toBe(401);

    // The refresh token no longer works, and the old cookie replayed by hand finds nothing.
    expect(await world.baton.baton.store.find('Grant', stored!.grantId)).toBeUndefined();
    const replay = await fetch(`${world.baton.url}/bff/spa/api/orders/items`, { headers: { cookie: `baton-bff-spa=${cookie.value}`, origin: world.spaOrigin, 'x-csrf': '1' } });
    expect(replay.status).toBe(401);
    const before = world.calls.length;
    expect((await fetch(`${world.baton.url}/bff/spa/user`, { headers: { cookie: `baton-bff-spa=${cookie.value}`, origin: world.spaOrigin, 'x-csrf': '1' } })).status).toBe(401);
    expect(world.calls.length).toBe(before);
    await page.close();
  }, 30_000);

  it('let no token reach the browser: no JWT and none of the session\'s tokens in any response it received', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen.length).toBeGreaterThan(10);
    expect(tokensSeen.size).toBeGreaterThan(3);
    const all = seen.join('\n');
    expect(all).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
    for (const token of tokensSeen) expect(all.includes(token)).toBe(false);
    // The API's own Set-Cookie never reached the browser either.
    expect(all).not.toContain('from-the-api');
  });
});
