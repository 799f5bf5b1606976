// Browser and device flows across two Baton instances sharing PostgreSQL and Redis: a device code
// approved through A is polled at B; a sign-in at A is a session at B, and logout at A ends it at B.
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load.ts';
import { createBaton, type Baton } from '../../src/server.ts';
import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, TEST_ENV, TEST_MASTER_SECRET } from '../helpers/baton.ts';
import { discover, postForm } from '../helpers/rp.ts';
import { backAtApp, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';

const schema = uniqueSchema('flows');
const keyPrefix = uniquePrefix();
const SECRET = 'upstream-client-secret-0123456789';
let a: { baton: Baton; url: string };
let b: { baton: Baton; url: string };
let idp: Upstream;
let browser: LaunchedBrowser;
let app: RedirectTarget;
let page: Page;

beforeAll(async () => {
  await Promise.all([requirePostgres(), requireRedis()]);
  const [portA, portB] = [await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${portA}`;
  [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
  idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: [`${issuer}/callback/corp`] }],
    users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true } }],
  });
  const config = validateConfig({
    issuer,
    keys: { masterSecret: TEST_MASTER_SECRET },
    storage: { type: 'split', durable: { type: 'postgres', url: POSTGRES_URL, schema }, shortLived: { type: 'redis', url: REDIS_URL, keyPrefix } },
    upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET }],
    clients: [
      { client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], post_logout_redirect_uris: [app.redirectUri] },
      { client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'] },
    ],
  }, 'flows', { env: { ...process.env, ...TEST_ENV } });
  const start = async (port: number) => {
    const baton = await createBaton(config, { logger: pino({ level: 'silent' }), keyReloadInterval: 0 });
    await baton.listen(port, '127.0.0.1');
    return { baton, url: `http://127.0.0.1:${port}` };
  };
  a = await start(portA);
  b = await start(portB);
  page = await browser.newPage();
});
afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop()]);
  await Promise.all([a?.baton.close(), b?.baton.close(), idp?.stop()]);
  await dropSchema(schema);
  await dropPrefix(keyPrefix);
});

describe('flows across instances', () => {
  it('a device code approved through A is polled at B', async () => {
    const tv = await discover(a.url, 'tv', undefined, 'none');
    const device = await client.initiateDeviceAuthorization(tv, { scope: 'openid email' });
    await page.goto(`${a.url}/device`);
    await page.locator('input[name="user_code"]').fill(device.user_code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await signInAtUpstream(page, 'ann', 'ann-pw');
    await page.getByRole('heading', { name: 'Device connected' }).waitFor({ timeout: 10_000 });
    const polled = await postForm(`${b.url}/token`, new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'tv' }));
    expect(polled.status).toBe(200);
    expect(polled.json.access_token).toBeDefined();
  });

  it('the sign-in at A is a session at B; logout at A ends it at B', async () => {
    // The device approval above left a Baton session in this browser: B honours it (prompt=none).
    // Both instances serve one issuer (A's URL, as behind a load balancer): send B the request.
    const rp = await discover(a.url, 'web', TEST_ENV.WEB_SECRET);
    const atB = async (prompt?: string) => {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(rp, { redirect_uri: app.redirectUri, scope: 'openid', state, nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...(prompt ? { prompt } : {}) });
      await page.goto(url.href.replace(a.url, b.url));
      return { started: { rp, verifier, state, nonce }, back: await backAtApp(page, app) };
    };
    const upstreamSignIns = idp.counters.authorize;
    const first = await atB();
    expect(first.back.searchParams.get('code')).toBeTruthy();
    expect(idp.counters.authorize).toBe(upstreamSignIns); // no new upstream sign-in: B knew the session
    const tokens = await redeem(first.started, first.back);

    await page.goto(client.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: app.redirectUri }).href);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await backAtApp(page, app);

    const after = await atB('none');
    expect(after.back.searchParams.get('error')).toBe('login_required');
  });
});
