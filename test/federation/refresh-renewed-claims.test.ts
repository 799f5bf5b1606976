// A Baton refresh decides on the account as its upstream renewal left it. The re-authorization
// reuses the account record findAccount read at the start of the request (one store read less per
// refresh) only when no renewal may have rewritten it since: here the upstream's refresh answer
// moves the user out of the upstream's email domains, and that very refresh is refused
// (invalid_grant), the account holding the new claims; while the upstream session needs no
// renewal (policy never), a rewrite of the stored account is still seen by the next refresh.
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACCOUNT_KIND, type AccountRecord } from '../../src/provider/accounts.ts';
import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { rejection } from '../helpers/rp.ts';
import { backAtApp, openAuthorize, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const SECRET = 'upstream-client-secret-0123456789';

let baton: RunningBaton;
let idp: Upstream;
let browser: LaunchedBrowser;
let app: RedirectTarget;
let page: Page;
/** While set, the upstream's refresh answers carry an id_token for the same user with these claims. */
let renewedClaims: Record<string, unknown> | undefined;

beforeAll(async () => {
  const port = await freePort();
  [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
  idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: [`http://127.0.0.1:${port}/callback/corp`, `http://127.0.0.1:${port}/callback/corp-never`] }],
    users: [
      { username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true, name: 'Ann' } },
      { username: 'ben', password: 'ben-pw', claims: { email: 'ben@example.org', email_verified: true, name: 'Ben' } },
    ],
    refreshResponse: async (body) => {
      if (renewedClaims) body.id_token = await idp.issueIdToken(renewedClaims);
    },
  });
  const corp = { issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET, emailDomains: ['example.org'], claims: { email: 'email', email_verified: 'email_verified', name: 'name' } };
  baton = await startBaton({
    upstreams: [{ id: 'corp', ...corp, refresh: 'always' }, { id: 'corp-never', ...corp, refresh: 'never' }],
    clients: [
      { client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], upstreams: ['corp'] },
      { client_id: 'quiet', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], upstreams: ['corp-never'] },
    ],
  }, { port });
  page = await browser.newPage();
});
afterAll(async () => {
  await page?.close();
  await Promise.all([browser?.close(), app?.stop()]);
  await Promise.all([baton?.stop(), idp?.stop()]);
});

async function signIn(clientId: string, username: string) {
  await browser.context.clearCookies();
  const started = await openAuthorize(page, baton.url, app, clientId, TEST_ENV.WEB_SECRET, { scope: 'openid email profile' });
  await signInAtUpstream(page, username, `${username}-pw`);
  const tokens = await redeem(started, await backAtApp(page, app));
  return { rp: started.rp, tokens, sub: String(tokens.claims()!.sub) };
}

describe('the re-authorization of a refresh reads the account the renewal left', () => {
  it('claims the upstream renewal just rewrote decide that refresh: out of the email domains, invalid_grant', async () => {
    const { rp, tokens, sub } = await signIn('web', 'ann');
    // A renewal with unchanged claims: allowed.
    renewedClaims = { sub: 'ann', email: 'ann@example.org', email_verified: true, name: 'Ann' };
    const fine = await client.refreshTokenGrant(rp, tokens.refresh_token!);

    renewedClaims = { sub: 'ann', email: 'ann@elsewhere.example', email_verified: true, name: 'Ann' };
    try {
      expect(await rejection(client.refreshTokenGrant(rp, fine.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    } finally {
      renewedClaims = undefined;
    }
    const account = await baton.baton.store.getRecord<AccountRecord>(ACCOUNT_KIND, sub);
    expect(account?.value.claims).toMatchObject({ email: 'ann@elsewhere.example' });
  });

  it('without a renewal, the account as stored when the refresh starts decides it', async () => {
    const { rp, tokens, sub } = await signIn('quiet', 'ben');
    const fine = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    const { store } = baton.baton;
    const stored = (await store.getRecord<AccountRecord>(ACCOUNT_KIND, sub))!;
    await store.putRecord<AccountRecord>(ACCOUNT_KIND, sub, { ...stored.value, claims: { ...stored.value.claims, email: 'ben@elsewhere.example' } });
    expect(await rejection(client.refreshTokenGrant(rp, fine.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });
});
