// Regression (issue 12 item 7): a brokered refresh accepted the upstream's id_token for a different
// user and merged that user's claims into the account. OpenID Connect Core 12.2: the id_token of a
// refresh must carry the `sub` (and `iss`) of the original sign-in. A real upstream (oidc-provider)
// whose refresh answer carries another subject's properly signed id_token: the Baton refresh is
// invalid_grant, the account keeps its claims, the grant ends (its upstream refresh token revoked),
// and the decision is audited.
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Events, type BatonEvent } from '../../src/observability/events.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../../src/provider/accounts.ts';
import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm, rejection } from '../helpers/rp.ts';
import { backAtApp, openAuthorize, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const SECRET = 'upstream-client-secret-0123456789';

let baton: RunningBaton;
let idp: Upstream;
let browser: LaunchedBrowser;
let app: RedirectTarget;
let page: Page;
/** While set, the upstream's refresh answers carry an id_token for this other subject. */
let impersonate: Record<string, unknown> | undefined;
const events = new Events();
const refreshEvents: Array<Extract<BatonEvent, { type: 'upstream.refresh' }>> = [];
events.subscribe((event) => { if (event.type === 'upstream.refresh') refreshEvents.push(event); });

beforeAll(async () => {
  const port = await freePort();
  [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
  idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: [`http://127.0.0.1:${port}/callback/corp`] }],
    users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true, name: 'Ann' } }],
    refreshResponse: async (body) => {
      if (impersonate) body.id_token = await idp.issueIdToken(impersonate);
    },
  });
  baton = await startBaton({
    upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET, refresh: 'always', claims: { email: 'email', name: 'name' } }],
    clients: [{ client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri] }],
  }, { port, events });
  page = await browser.newPage();
});
afterAll(async () => {
  await page?.close();
  await Promise.all([browser?.close(), app?.stop()]);
  await Promise.all([baton?.stop(), idp?.stop()]);
});

describe('an upstream refresh that answers for another user', () => {
  it('ends the grant (OIDC Core 12.2) instead of merging the other user\'s claims; audited', async () => {
    const started = await openAuthorize(page, baton.url, app, 'web', TEST_ENV.WEB_SECRET, { scope: 'openid email profile' });
    await signInAtUpstream(page, 'ann', 'ann-pw');
    const tokens = await redeem(started, await backAtApp(page, app));
    const sub = String(tokens.claims()!.sub);
    // A first refresh with the same user is fine (and the check does not get in its way).
    const fine = await client.refreshTokenGrant(started.rp, tokens.refresh_token!);

    impersonate = { sub: 'mallory', email: 'mallory@evil.example', name: 'Mallory' };
    const revoked = idp.revoked.length;
    expect(await rejection(client.refreshTokenGrant(started.rp, fine.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    impersonate = undefined;

    const account = await baton.baton.store.getRecord<AccountRecord>(ACCOUNT_KIND, sub);
    expect(account?.value.claims).toMatchObject({ email: 'ann@example.org', name: 'Ann' });
    expect(refreshEvents.at(-1)).toMatchObject({ outcome: 'ended', failure: 'subject_changed', role: 'holder', upstreamCall: 'failed', sub });
    // The grant is over: its access token is no longer active, and the upstream refresh token was revoked.
    const introspected = await postForm(`${baton.url}/introspect`, new URLSearchParams({ token: fine.access_token }), { authorization: basic('web', TEST_ENV.WEB_SECRET) });
    expect(introspected.json.active).toBe(false);
    await expect.poll(() => idp.revoked.length).toBe(revoked + 1);
  });

  it('a different issuer for the same subject is another user too', async () => {
    await browser.context.clearCookies();
    const started = await openAuthorize(page, baton.url, app, 'web', TEST_ENV.WEB_SECRET, { scope: 'openid email profile' });
    await signInAtUpstream(page, 'ann', 'ann-pw');
    const tokens = await redeem(started, await backAtApp(page, app));
    // Same sub, but the answer claims another issuer: oauth4webapi refuses it (iss must be the upstream's), so does Baton.
    impersonate = { sub: 'ann', iss: 'https://other-idp.example' };
    expect(await rejection(client.refreshTokenGrant(started.rp, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    impersonate = undefined;
  });
});
