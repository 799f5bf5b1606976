// The upstream identity provider goes down (its listener stops: connections refused) while users
// refresh at Baton, and comes back on the same port with its state. Inside `refreshGracePeriod`
// Baton refreshes on its own; after it the grant ends cleanly (invalid_grant, grant revoked, the
// `upstream.refresh` event says `ended`); once the upstream is back inside the period, refreshes
// reach it again. Each decision is audited (holder, grace, ended) and counted in baton_refresh_total.
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { Events, type BatonEvent } from '../../src/observability/events.ts';
import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { rejection } from '../helpers/rp.ts';
import { backAtApp, openAuthorize, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const SECRET = 'upstream-client-secret-0123456789';
const GRACE_SECONDS = 4;

let baton: RunningBaton;
let idp: Upstream;
let browser: LaunchedBrowser;
let app: RedirectTarget;
let page: Page;
let down = false;
const events = new Events();
const refreshEvents: Array<Extract<BatonEvent, { type: 'upstream.refresh' }>> = [];
events.subscribe((event) => { if (event.type === 'upstream.refresh') refreshEvents.push(event); });

beforeAll(async () => {
  const port = await freePort();
  [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
  idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: [`http://127.0.0.1:${port}/callback/corp`] }],
    users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true } }],
  });
  baton = await startBaton({
    upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET, refresh: 'always', refreshGracePeriod: `${GRACE_SECONDS}s`, timeout: '2s' }],
    clients: [{ client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri] }],
  }, { port, events });
});
afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop()]);
  await Promise.all([baton?.stop(), idp?.stop()]);
});
beforeEach(async () => {
  await browser.context.clearCookies();
  page = await browser.newPage();
  refreshEvents.length = 0;
});
afterEach(async () => {
  if (down) await idp.serveAgain();
  down = false;
  await page.close();
});

async function signIn() {
  const started = await openAuthorize(page, baton.url, app, 'web', TEST_ENV.WEB_SECRET);
  await signInAtUpstream(page, 'ann', 'ann-pw');
  const tokens = await redeem(started, await backAtApp(page, app));
  return { rp: started.rp, tokens, at: Date.now() };
}

async function stopUpstream() {
  await idp.stopServing();
  down = true;
}

async function metric(outcome: string): Promise<number> {
  const text = await (await fetch(`${baton.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`baton_refresh_total{outcome="${outcome}"}`));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('upstream unreachable at refresh, with a grace period', () => {
  it('refreshes continue inside the period and end cleanly after it: invalid_grant, grant ended, audited', async () => {
    const { rp, tokens, at } = await signIn();
    const [endedBefore, graceBefore, failedBefore] = [await metric('ended'), await metric('upstream_grace'), await metric('upstream_failed')];
    await stopUpstream();

    const inside = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(inside.access_token).toBeDefined();
    expect(refreshEvents.at(-1)).toMatchObject({ outcome: 'grace', role: 'holder', upstreamCall: 'failed', failure: 'unreachable', clientId: 'web' });
    expect([await metric('upstream_grace'), await metric('upstream_failed')]).toEqual([graceBefore + 1, failedBefore + 1]);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at + (GRACE_SECONDS + 1.5) * 1000 - Date.now())));
    expect(await rejection(client.refreshTokenGrant(rp, inside.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    expect(refreshEvents.at(-1)).toMatchObject({ outcome: 'ended', failure: 'unreachable' });
    expect(await metric('ended')).toBe(endedBefore + 1);

    // The grant is over, not just this request: back up, the upstream is not asked again for it.
    await idp.serveAgain();
    down = false;
    const refreshes = idp.counters.refresh;
    expect(await rejection(client.refreshTokenGrant(rp, inside.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    expect(idp.counters.refresh).toBe(refreshes);
  });

  it('work again once the upstream is back inside the period, and reach it again', async () => {
    const { rp, tokens } = await signIn();
    await stopUpstream();
    const inside = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(refreshEvents.at(-1)).toMatchObject({ outcome: 'grace' });

    await idp.serveAgain();
    down = false;
    // A failed holder answers its waiters for one second; after that the next refresh calls again.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const refreshes = idp.counters.refresh;
    const refreshedBefore = await metric('upstream_refreshed');
    const back = await client.refreshTokenGrant(rp, inside.refresh_token!);
    expect(back.access_token).toBeDefined();
    expect(idp.counters.refresh).toBe(refreshes + 1);
    expect(refreshEvents.at(-1)).toMatchObject({ outcome: 'refreshed', role: 'holder', upstreamCall: 'ok' });
    expect(await metric('upstream_refreshed')).toBe(refreshedBefore + 1);

    // Confirmed by the upstream again: the grace period counts from now, past the first one.
    await stopUpstream();
    const later = await client.refreshTokenGrant(rp, back.refresh_token!);
    expect(later.access_token).toBeDefined();
  });
});
