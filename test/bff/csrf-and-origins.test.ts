// What the BFF refuses (issue 14, RFC 10017 section 6.1.3.3): calls without the CSRF header or from
// an origin not on the allowlist (same site, another port: SameSite does not stop it) have no
// effect and get no CORS grant; a tampered cookie, a returnTo elsewhere, paths and methods outside
// the configured routes, and credentials the browser tries to forward to the API.
import { request } from 'node:http';

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchBrowser, signInAtUpstream, type LaunchedBrowser } from '../helpers/browser.ts';
import { startBffWorld, type BffWorld } from './environment.ts';

let world: BffWorld;
let browser: LaunchedBrowser;
let spa: Page;
let cookie: string;

type Answer = { status: number; body: string };
const call = (page: Page, path: string, init: Record<string, unknown> = {}, csrf = true): Promise<Answer> =>
  page.evaluate(([p, i, c]) => (window as unknown as { bff: (p: string, i: unknown, c: boolean) => Promise<Answer> }).bff(p, i, c), [path, init, csrf] as const);

beforeAll(async () => {
  [world, browser] = await Promise.all([startBffWorld(), launchBrowser()]);
  spa = await browser.newPage();
  await spa.goto(`${world.spaOrigin}/`);
  await spa.evaluate(() => (window as unknown as { login: () => void }).login());
  await spa.waitForURL((url) => url.href.startsWith(world.idp.url));
  await signInAtUpstream(spa, 'ann', 'ann-pw');
  await spa.waitForURL((url) => url.origin === world.spaOrigin, { timeout: 15_000 });
  cookie = (await browser.context.cookies(world.baton.url)).find((c) => c.name === 'baton-bff-spa')!.value;
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await world?.stop();
});

/** A request exactly as written (no URL normalisation, any header), as an attacker's client would send it. */
function raw(path: string, headers: Record<string, string>, method = 'GET', chunks: string[] = []): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(world.baton.url);
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const bff = (path: string) => `${world.baton.url}/bff/spa/${path}`;
const asSpa = (extra: Record<string, string> = {}) => ({ cookie: `baton-bff-spa=${cookie}`, origin: world.spaOrigin, 'x-csrf': '1', ...extra });

describe('CSRF and origins', () => {
  it('an api/ call or a logout without the CSRF header is refused with no effect', async () => {
    const before = world.calls.length;
    const get = await call(spa, 'api/orders/items', {}, false);
    expect(get.status).toBe(403);
    expect(JSON.parse(get.body)).toMatchObject({ error: 'forbidden' });
    // A "simple" POST (no preflight), as a form would send it.
    const post = await call(spa, 'api/orders/items', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }, false);
    expect(post.status).toBe(403);
    const out = await call(spa, 'logout', { method: 'POST' }, false);
    expect(out.status).toBe(403);
    expect(world.calls.length).toBe(before);
    expect((await call(spa, 'user')).status).toBe(200);
  });

  it('another origin of the same site gets no CORS grant and changes nothing, with or without the header', async () => {
    const evil = await browser.newPage();
    await evil.goto(`${world.evilOrigin}/`);
    const before = world.calls.length;
    // With the header: the preflight is refused, so the request is never sent.
    expect((await call(evil, 'api/orders/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(0);
    expect((await call(evil, 'logout', { method: 'POST' })).status).toBe(0);
    expect((await call(evil, 'user')).status).toBe(0);
    // Without it: a simple request reaches Baton with the cookie, is refused, and is unreadable.
    expect((await call(evil, 'api/orders/items', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }, false)).status).toBe(0);
    expect((await call(evil, 'logout', { method: 'POST' }, false)).status).toBe(0);
    await evil.close();
    expect(world.calls.length).toBe(before);
    expect((await call(spa, 'user')).status).toBe(200);

    const preflight = await fetch(bff('api/orders/items'), { method: 'OPTIONS', headers: { origin: world.evilOrigin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-csrf' } });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const refused = await fetch(bff('user'), { headers: asSpa({ origin: world.evilOrigin }) });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  }, 30_000);

  it('answers the listed origin\'s preflight with credentials, and only for the route\'s methods', async () => {
    const ok = await fetch(bff('api/orders/items'), { method: 'OPTIONS', headers: { origin: world.spaOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf, content-type' } });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(world.spaOrigin);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-methods')).toBe('GET, POST');
    const wrongMethod = await fetch(bff('api/orders/items'), { method: 'OPTIONS', headers: { origin: world.spaOrigin, 'access-control-request-method': 'DELETE' } });
    expect(wrongMethod.status).toBe(405);
    const authorization = await fetch(bff('api/orders/items'), { method: 'OPTIONS', headers: { origin: world.spaOrigin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    expect(authorization.status).toBe(403);
  });
});

describe('sessions and routes', () => {
  it('a tampered or unknown cookie is no session', async () => {
    const flipped = `${cookie.slice(0, -1)}${cookie.endsWith('A') ? 'B' : 'A'}`;
    for (const value of [flipped, 'not-a-session', `${cookie}x`]) {
      const response = await fetch(bff('user'), { headers: asSpa({ cookie: `baton-bff-spa=${value}` }) });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'unauthenticated' });
    }
  });

  it('returnTo must be on one of the app\'s origins', async () => {
    const spaHost = new URL(world.spaOrigin).host;
    for (const returnTo of [`${world.evilOrigin}/`, 'https://evil.example/', '//evil.example/', 'javascript:alert(1)', `blob:${world.spaOrigin}/0b7c7f3e-5b43-4b8e-9a57-1f0c2f9d6a10`,
      `http://ann:secret@${spaHost}/`]) {
      const response = await fetch(`${bff('login')}?returnTo=${encodeURIComponent(returnTo)}`, { redirect: 'manual' });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_request' });
    }
    const fine = await fetch(`${bff('login')}?returnTo=${encodeURIComponent(`${world.spaOrigin}/orders?x=1`)}&idp_hint=corp&login_hint=ann%40example.org&prompt=login&scope=admin`, { redirect: 'manual' });
    expect(fine.status).toBe(302);
    const authorize = new URL(fine.headers.get('location')!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${world.baton.url}/authorize`);
    // The hints pass through; what the SPA cannot choose (scope, client, redirect) does not.
    expect(Object.fromEntries(['idp_hint', 'login_hint', 'prompt', 'client_id', 'redirect_uri', 'code_challenge_method'].map((k) => [k, authorize.searchParams.get(k)]))).toEqual({
      idp_hint: 'corp', login_hint: 'ann@example.org', prompt: 'login', client_id: 'spa-bff', redirect_uri: `${world.baton.url}/bff/spa/callback`, code_challenge_method: 'S256',
    });
    expect(authorize.searchParams.get('scope')).not.toContain('admin');
    expect(authorize.searchParams.getAll('resource').length).toBeGreaterThan(1);
  });

  it('prompt=none without a session at Baton comes back to returnTo with error=login_required', async () => {
    const { CookieAgent } = await import('../helpers/browser-less.ts');
    const agent = new CookieAgent();
    let response = await agent.request(`${bff('login')}?prompt=none&returnTo=${encodeURIComponent(`${world.spaOrigin}/app`)}`);
    for (let hops = 0; hops < 10 && response.status >= 300 && response.status < 400; hops += 1) {
      const next = new URL(response.headers.get('location')!, world.baton.url);
      if (next.origin === world.spaOrigin) {
        expect(next.pathname).toBe('/app');
        expect(next.searchParams.get('error')).toBe('login_required');
        expect(agent.cookie('baton-bff-spa')).toBeUndefined();
        return;
      }
      response = await agent.request(next);
    }
    throw new Error(`never came back to the SPA (${response.status})`);
  });

  it('only configured routes and methods reach an API; dot segments cannot climb out of a route', async () => {
    const before = world.calls.length;
    expect((await fetch(bff('api/admin/users'), { headers: asSpa() })).status).toBe(404);
    expect((await fetch(bff('api/orders/items'), { method: 'DELETE', headers: asSpa() })).status).toBe(405);
    expect((await fetch(bff('api/orders/..%2Fstatus'), { headers: asSpa() })).status).toBe(400);
    expect((await raw('/bff/spa/api/orders/%2e%2e/status', asSpa())).status).toBe(400);
    expect((await raw('/bff/spa/api/orders/../../../status', asSpa())).status).toBe(400);
    expect(world.calls.length).toBe(before);
  });

  it('the browser\'s Cookie and Authorization headers never reach the API; its Set-Cookie never reaches the browser', async () => {
    const response = await raw('/bff/spa/api/orders/items', asSpa({ cookie: `baton-bff-spa=${cookie}; other=value`, authorization: 'Bearer forged', connection: 'x-secret', 'x-secret': 'hop' }));
    expect(response.status).toBe(200);
    expect(response.headers['set-cookie']).toBeUndefined();
    const seen = world.calls.at(-1)!;
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers.authorization).toMatch(/^Bearer eyJ/);
    expect(seen.headers['x-secret']).toBeUndefined();
    expect(seen.claims?.aud).toBeDefined();
  });

  it('without a session every route is 401 before the API is called: a client-credentials or none route is no open relay', async () => {
    const before = world.calls.length;
    for (const path of ['api/reports/daily', 'api/status', 'api/orders/items']) {
      const response = await fetch(bff(path), { headers: asSpa({ cookie: '' }) });
      expect([path, response.status, (await response.json() as { error?: string }).error]).toEqual([path, 401, 'unauthenticated']);
    }
    expect(world.calls.length).toBe(before);
  });

  it('path parameters and encoded percent signs are refused (..; and %252e%252e climb out on some servers)', async () => {
    const before = world.calls.length;
    for (const path of ['/bff/spa/api/orders/..;/status', '/bff/spa/api/orders/items;jsessionid=1', '/bff/spa/api/orders/%252e%252e/status', '/bff/spa/api/orders/%2e%2e%3b/status', '/bff/spa/api/reports/..%3B/orders/x']) {
      expect([path, (await raw(path, asSpa())).status]).toEqual([path, 400]);
    }
    expect(world.calls.length).toBe(before);
  });

  it('headers that would override the route\'s methods or claim another address never reach the API', async () => {
    const response = await raw('/bff/spa/api/orders/items', asSpa({ 'x-http-method-override': 'DELETE', 'x-real-ip': '10.0.0.1', 'true-client-ip': '10.0.0.2', 'x-original-url': '/admin', 'x-request-kind': 'kept' }));
    expect(response.status).toBe(200);
    const seen = world.calls.at(-1)!;
    for (const name of ['x-http-method-override', 'x-real-ip', 'true-client-ip', 'x-original-url']) expect(seen.headers[name]).toBeUndefined();
    expect(seen.headers['x-request-kind']).toBe('kept');
  });

  it('an API cannot speak for Baton\'s origin: no HSTS, site-data, CORS, framing or policy headers of its own, no shared caching, no redirect', async () => {
    const response = await raw('/bff/spa/api/status/hostile', asSpa());
    expect(response.status).toBe(200);
    for (const name of ['strict-transport-security', 'clear-site-data']) expect(response.headers[name]).toBeUndefined();
    expect(response.headers['access-control-allow-origin']).toBe(world.spaOrigin);
    expect(response.headers['access-control-allow-credentials']).toBe('true');
    expect(String(response.headers.vary).toLowerCase().split(/\s*,\s*/)).toEqual(expect.arrayContaining(['origin', 'accept']));
    expect(response.headers['x-frame-options']).not.toBe('ALLOWALL');
    expect(response.headers['content-security-policy'] ?? '').not.toContain('frame-ancestors *');
    expect(response.headers['cache-control']).toBe('private, max-age=60');
    expect([response.headers.etag, response.headers['x-api-version']]).toEqual(['"v1"', '7']);
    const moved = await raw('/bff/spa/api/status/moved', asSpa());
    expect([moved.status, moved.headers.location]).toEqual([302, undefined]);
  });

  it('a body sent after Expect: 100-continue reaches the API (the BFF has answered the expectation itself)', async () => {
    const response = await raw('/bff/spa/api/orders/items', asSpa({ 'content-type': 'application/json', expect: '100-continue' }), 'POST', ['{"item":"pen"}']);
    expect(response.status).toBe(200);
    const seen = world.calls.at(-1)!;
    expect(seen.body).toBe('{"item":"pen"}');
    expect(seen.headers.expect).toBeUndefined();
  });

  it('a request body over the limit is refused with 413 before it reaches the API', async () => {
    const before = world.calls.length;
    const response = await fetch(bff('api/orders/items'), { method: 'POST', headers: asSpa({ 'content-type': 'application/json' }), body: JSON.stringify({ blob: 'x'.repeat(4096) }) });
    expect(response.status).toBe(413);
    // Streamed without a length: counted on the way through.
    const chunked = await raw('/bff/spa/api/orders/items', asSpa({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }), 'POST', ['{"blob":"', 'x'.repeat(800), 'x'.repeat(800), '"}']);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ error: 'payload_too_large' });
    expect(world.calls.filter((c) => c.body.length > 1024)).toEqual([]);
  });

  it('logout from a form-like navigation (Accept: text/html) still needs the header, and then redirects to Baton\'s end-session URL', async () => {
    const { CookieAgent } = await import('../helpers/browser-less.ts');
    const { signInWithoutBrowser } = await import('./environment.ts');
    const other = await signInWithoutBrowser(world, new CookieAgent());
    const response = await raw('/bff/spa/logout', asSpa({ cookie: `baton-bff-spa=${other}`, accept: 'text/html' }), 'POST');
    expect(response.status).toBe(303);
    const location = new URL(response.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(`${world.baton.url}/logout`);
    expect(location.searchParams.get('post_logout_redirect_uri')).toBe(`${world.spaOrigin}/`);
    expect((await fetch(bff('user'), { headers: asSpa({ cookie: `baton-bff-spa=${other}` }) })).status).toBe(401);
  });

  it('an API that does not answer in time is 504, one that cannot be reached 502, both as JSON errors', async () => {
    const slow = await fetch(bff('api/slow/x'), { headers: asSpa() });
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ error: 'gateway_timeout' });
    const gone = await fetch(bff('api/gone/x'), { headers: asSpa() });
    expect(gone.status).toBe(502);
    expect(await gone.json()).toMatchObject({ error: 'bad_gateway' });
  });

  it('the token endpoint is off unless enabled', async () => {
    expect((await fetch(`${bff('token')}?resource=${encodeURIComponent('https://orders.api.example')}`, { headers: asSpa() })).status).toBe(404);
  });
});
