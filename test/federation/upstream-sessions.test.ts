// The upstream session behind a Baton grant: refresh policy (never / when-expired / always), a
// non-rotating upstream (Google) refreshed twice, concurrent refreshes, the upstream down under a
// strict policy and under a grace period, and logout revoking the upstream refresh token.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm, rejection } from '../helpers/rp.ts';
import { backAtApp, openAuthorize, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';
const APPS = { always: 'always-app', lenient: 'lenient-app', never: 'never-app', whenExpired: 'when-expired-app', second: 'second-app' } as const;

let baton: RunningBaton;
let google: Upstream;
let browser: LaunchedBrowser;
let app: RedirectTarget;
let page: Page;
let backchannel: { uri: string; tokens: string[]; stop: () => Promise<void> };

/** A client's back-channel logout endpoint: records every logout_token POSTed to it. */
async function startBackchannelReceiver(): Promise<typeof backchannel> {
  const { createServer } = await import('node:http');
  const tokens: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (token) tokens.push(token);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { uri: `http://127.0.0.1:${port}/backchannel-logout`, tokens, stop: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }) };
}

beforeAll(async () => {
  const port = await freePort();
  const batonUrl = `http://127.0.0.1:${port}`;
  [browser, app, backchannel] = await Promise.all([launchBrowser(), startRedirectTarget(), startBackchannelReceiver()]);
  const upstreamIds = ['google', 'google-lenient'];
  google = await startUpstream({
    profile: 'google',
    accessTokenTTL: 3600,
    clients: [{ client_id: 'baton', client_secret: UPSTREAM_SECRET, redirect_uris: upstreamIds.map((id) => `${batonUrl}/callback/${id}`) }],
    users: [{ username: 'bob@example.org', password: 'bob-pw', claims: { email: 'bob@example.org', name: 'Bob Example' } }],
  });
  const googleUpstream = { preset: 'google', issuer: google.issuer, clientId: 'baton', clientSecret: UPSTREAM_SECRET, refresh: 'always' };
  const appClient = (client_id: string, upstream: string, upstreamRefresh?: string) => ({
    client_id, client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], post_logout_redirect_uris: [app.redirectUri], upstreams: [upstream],
    ...(upstreamRefresh ? { upstreamRefresh } : {}),
  });
  baton = await startBaton({
    upstreams: [
      { id: 'google', ...googleUpstream },
      { id: 'google-lenient', ...googleUpstream, refreshGracePeriod: '1h' },
    ],
    clients: [
      appClient(APPS.always, 'google'),
      appClient(APPS.lenient, 'google-lenient'),
      { ...appClient(APPS.never, 'google', 'never'), backchannel_logout_uri: backchannel.uri, backchannel_logout_session_required: true },
      appClient(APPS.whenExpired, 'google', 'when-expired'),
      appClient(APPS.second, 'google'),
    ],
  }, { port, logger: (await import('pino')).pino({ level: process.env.BATON_TEST_LOG ?? 'silent' }) });
});

afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop(), backchannel?.stop()]);
  await Promise.all([baton?.stop(), google?.stop()]);
});

beforeEach(async () => {
  await browser.context.clearCookies();
  page = await browser.newPage();
});
afterEach(async () => {
  google.fail('none');
  await page.close();
});

async function signIn(clientId: string) {
  const started = await openAuthorize(page, baton.url, app, clientId, TEST_ENV.WEB_SECRET);
  await signInAtUpstream(page, 'bob@example.org', 'bob-pw');
  const tokens = await redeem(started, await backAtApp(page, app));
  expect(tokens.refresh_token).toBeDefined();
  return { rp: started.rp, tokens };
}

describe('upstream refresh policy', () => {
  it('always: each Baton refresh refreshes upstream; a non-rotating upstream works twice in a row', async () => {
    const { rp, tokens } = await signIn(APPS.always);
    const before = google.counters.refresh;
    const first = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    const second = await client.refreshTokenGrant(rp, first.refresh_token!);
    expect(second.access_token).toBeDefined();
    expect(google.counters.refresh - before).toBe(2);
  });

  it('never: Baton refreshes without calling the upstream', async () => {
    const { rp, tokens } = await signIn(APPS.never);
    const before = google.counters.refresh;
    await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(google.counters.refresh).toBe(before);
  });

  it('when-expired: no upstream call while the upstream access token is valid', async () => {
    const { rp, tokens } = await signIn(APPS.whenExpired);
    const before = google.counters.refresh;
    await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(google.counters.refresh).toBe(before);
  });

  it('concurrent refreshes of one grant: all succeed with one successor, and one upstream call', async () => {
    const { tokens } = await signIn(APPS.always);
    const before = google.counters.refresh;
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    const results = await Promise.all(Array.from({ length: 5 }, () => postForm(`${baton.url}/token`, body, { authorization: basic(APPS.always, TEST_ENV.WEB_SECRET) })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(results.map((r) => r.json.refresh_token)).size).toBe(1);
    // One rotation renews the upstream session (policy always); the grace replays answer that same rotation.
    expect(google.counters.refresh - before).toBe(1);
  });
});

describe('a second app signed in through the existing Baton session (no new upstream sign-in)', () => {
  /** App one signs in at the upstream; app two, in the same browser, gets its tokens from the Baton session. */
  async function twoApps() {
    const one = await signIn(APPS.always);
    const started = await openAuthorize(page, baton.url, app, APPS.second, TEST_ENV.WEB_SECRET);
    const two = await redeem(started, await backAtApp(page, app));
    expect(two.refresh_token).toBeDefined();
    return { one, two: { rp: started.rp, tokens: two } };
  }

  it('its refreshes consult the upstream session the first sign-in opened', async () => {
    const logins = google.counters.authorize;
    const { two } = await twoApps();
    expect(google.counters.authorize - logins).toBe(1);
    const before = google.counters.refresh;
    await client.refreshTokenGrant(two.rp, two.tokens.refresh_token!);
    expect(google.counters.refresh - before).toBe(1);
  });

  it('it ends when the upstream sign-in it relied on ends (the first app\'s grant revoked)', async () => {
    const { one, two } = await twoApps();
    const revoked = await postForm(`${baton.url}/revoke`, new URLSearchParams({ token: one.tokens.refresh_token!, token_type_hint: 'refresh_token' }), { authorization: basic(APPS.always, TEST_ENV.WEB_SECRET) });
    expect(revoked.status).toBe(200);
    await expect.poll(() => google.revoked.length > 0).toBe(true);
    expect(await rejection(client.refreshTokenGrant(two.rp, two.tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('upstream unreachable during a refresh', () => {
  it('strict (no grace period): the Baton refresh fails with invalid_grant', async () => {
    const { rp, tokens } = await signIn(APPS.always);
    google.fail('down', ['token']);
    expect(await rejection(client.refreshTokenGrant(rp, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });

  it('with a grace period: the Baton refresh succeeds on its own', async () => {
    const { rp, tokens } = await signIn(APPS.lenient);
    google.fail('down', ['token']);
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(refreshed.access_token).toBeDefined();
  });

  it('never: a Baton refresh does not depend on the upstream at all', async () => {
    const { rp, tokens } = await signIn(APPS.never);
    google.fail('down');
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(refreshed.access_token).toBeDefined();
  });

  it('an upstream answering 500 is treated like an unreachable one', async () => {
    const { rp, tokens } = await signIn(APPS.always);
    google.fail('error', ['token']);
    expect(await rejection(client.refreshTokenGrant(rp, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('logout', () => {
  it('RP-initiated logout ends the grant, revokes the upstream refresh token, and notifies the client on its back channel', async () => {
    const { rp, tokens } = await signIn(APPS.never);
    const revokedBefore = google.revoked.length;
    const logout = client.buildEndSessionUrl(rp, { post_logout_redirect_uri: app.redirectUri, id_token_hint: tokens.id_token!, state: 'bye' });
    await page.goto(logout.href);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    const back = await backAtApp(page, app);
    expect(back.searchParams.get('state')).toBe('bye');
    await expect.poll(() => google.revoked.length, { timeout: 5000 }).toBe(revokedBefore + 1);
    expect(await rejection(client.refreshTokenGrant(rp, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });

    await expect.poll(() => backchannel.tokens.length, { timeout: 5000 }).toBe(1);
    const { payload, protectedHeader } = await jwtVerify(backchannel.tokens[0]!, createRemoteJWKSet(new URL(`${baton.url}/jwks`)), { issuer: baton.url, audience: APPS.never });
    expect(protectedHeader.typ).toBe('logout+jwt');
    expect(payload.sub).toBe(tokens.claims()!.sub);
    expect(payload.sid).toBe(tokens.claims()!.sid);
    expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
  });
});
