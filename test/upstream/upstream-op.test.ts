// Smoke suite for the federation test infrastructure: openid-client as a relying party of the test
// upstream IdPs (Entra ID and Google profiles), signing in through their login pages in real Chromium.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { cancelAtUpstream, launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { discover, rejection } from '../helpers/rp.ts';
import { startUpstream, type Upstream, type UpstreamOptions, type UpstreamProfile } from '../helpers/upstream.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const SECRET = 'upstream-client-secret-0123456789';
const USERS = {
  entra: [
    { username: 'alice@contoso.com', password: 'alice-pw', claims: { name: 'Alice Contoso', preferred_username: 'alice@contoso.com', email: 'alice@contoso.com' } },
    { username: 'bob@contoso.com', password: 'bob-pw', claims: { name: 'Bob Contoso', preferred_username: 'bob@contoso.com' } },
  ],
  google: [
    { username: 'alice@example.org', password: 'alice-pw', claims: { email: 'alice@example.org', name: 'Alice Example', picture: 'https://example.org/alice.png' } },
  ],
};

let browser: LaunchedBrowser;
let target: RedirectTarget;
let page: Page;

beforeAll(async () => {
  [browser, target] = await Promise.all([launchBrowser(), startRedirectTarget()]);
});
afterAll(async () => {
  await Promise.all([browser?.close(), target?.stop()]);
});
beforeEach(async () => {
  // Upstreams share the host 127.0.0.1 (cookies ignore ports): every test starts signed out.
  await browser.context.clearCookies();
  page = await browser.newPage();
});
afterEach(async () => {
  await page.close();
});

async function start(profile: Extract<UpstreamProfile, 'entra' | 'google'>, extra: Partial<UpstreamOptions> = {}): Promise<{ upstream: Upstream; config: client.Configuration }> {
  const upstream = await startUpstream({
    ...extra,
    profile,
    tenantId: TENANT,
    clients: [{ client_id: 'baton-rp', client_secret: SECRET, redirect_uris: [target.redirectUri], token_endpoint_auth_method: 'client_secret_post' }],
    users: USERS[profile],
  });
  return { upstream, config: await discover(upstream.issuer, 'baton-rp', SECRET, 'post') };
}

interface Authorization {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

async function authorizationRequest(config: client.Configuration, extra: Record<string, string> = {}): Promise<Authorization> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: target.redirectUri, scope: 'openid profile email offline_access', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  return { url, verifier, state, nonce };
}

async function backAtRp(): Promise<URL> {
  await page.waitForURL((url) => url.href.startsWith(target.redirectUri));
  return new URL(page.url());
}

/** The whole browser flow: authorization request, upstream login form, code exchange. */
async function signIn(config: client.Configuration, username: string, password: string, extra: Record<string, string> = {}) {
  const request = await authorizationRequest(config, extra);
  await page.goto(request.url.href);
  await signInAtUpstream(page, username, password);
  const callback = await backAtRp();
  return client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
}

/** Behaviour every profile's login page shares. */
function loginPageBehaviour(getConfig: () => client.Configuration, username: string, title: string) {
  it(`renders a "${title}" form and re-renders it with an error on a wrong password`, async () => {
    await page.goto((await authorizationRequest(getConfig())).url.href);
    expect(await page.title()).toBe(title);
    await signInAtUpstream(page, username, 'wrong-password');
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Your account or password is incorrect.');
    expect(await page.locator('#username').inputValue()).toBe(username);
    expect(page.url().startsWith(target.redirectUri)).toBe(false);
  });

  it('returns error=access_denied with the state to the redirect_uri on Cancel', async () => {
    const request = await authorizationRequest(getConfig());
    await page.goto(request.url.href);
    await cancelAtUpstream(page);
    const callback = await backAtRp();
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(callback.searchParams.has('code')).toBe(false);
  });
}

describe('entra upstream', () => {
  let upstream: Upstream;
  let config: client.Configuration;
  beforeAll(async () => ({ upstream, config } = await start('entra')));
  afterAll(() => upstream?.stop());

  it('signs in through the login page: tenant issuer, tid, oid, pairwise sub, rotated refresh tokens', async () => {
    const tokens = await signIn(config, 'alice@contoso.com', 'alice-pw');
    const claims = tokens.claims()!;
    expect(upstream.issuer).toBe(`${upstream.url}/${TENANT}/v2.0`);
    expect(claims).toMatchObject({ iss: upstream.issuer, aud: 'baton-rp', tid: TENANT, ver: '2.0', name: 'Alice Contoso', preferred_username: 'alice@contoso.com', email: 'alice@contoso.com' });
    expect(claims.oid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(claims.sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeProtectedHeader(tokens.id_token!).kid).toBe(upstream.currentKid);

    const first = tokens.refresh_token!;
    const second = await client.refreshTokenGrant(config, first);
    const third = await client.refreshTokenGrant(config, second.refresh_token!);
    expect(second.refresh_token).toMatch(/\S{20,}/);
    expect(new Set([first, second.refresh_token, third.refresh_token]).size).toBe(3);
    expect(third.claims()).toMatchObject({ sub: claims.sub, oid: claims.oid, tid: TENANT });
    expect(upstream.counters.refresh).toBe(2);
    // Rotation means the first refresh token is spent.
    expect(await rejection(client.refreshTokenGrant(config, first))).toMatchObject({ error: 'invalid_grant' });

    await client.tokenRevocation(config, third.refresh_token!, { token_type_hint: 'refresh_token' });
    expect(upstream.revoked).toEqual([third.refresh_token]);
    expect(upstream.counters.revocation).toBe(1);
    expect(await rejection(client.refreshTokenGrant(config, third.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });

  it('omits email for a user without one (Entra v2)', async () => {
    const claims = (await signIn(config, 'bob@contoso.com', 'bob-pw')).claims()!;
    expect(claims).not.toHaveProperty('email');
    expect(claims).toMatchObject({ name: 'Bob Contoso', tid: TENANT });
  });

  it('serves the multi-tenant discovery document with the {tenantid} issuer template', async () => {
    const [tenant, common] = await Promise.all([upstream.discoveryUrl, upstream.commonDiscoveryUrl!].map(async (u) => (await fetch(u)).json() as Promise<Record<string, unknown>>));
    expect(upstream.commonDiscoveryUrl).toBe(`${upstream.url}/common/v2.0/.well-known/openid-configuration`);
    expect(common!.issuer).toBe(`${upstream.url}/{tenantid}/v2.0`);
    expect({ ...common, issuer: tenant!.issuer }).toEqual(tenant);
    expect(tenant!.revocation_endpoint).toBe(`${upstream.issuer}/oauth2/v2.0/revoke`);
    expect(tenant!.end_session_endpoint).toBe(`${upstream.issuer}/oauth2/v2.0/logout`);
  });

  it("fail('down', ['token']) breaks the token endpoint at once; fail('none') restores it", async () => {
    const { refresh_token } = await signIn(config, 'alice@contoso.com', 'alice-pw');
    const before = upstream.counters.token;
    upstream.fail('down', ['token']);
    const started = Date.now();
    await expect(client.refreshTokenGrant(config, refresh_token!)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(upstream.counters.token).toBe(before + 1);
    upstream.fail('none');
    expect((await client.refreshTokenGrant(config, refresh_token!)).access_token).toBeTruthy();
  });

  it('honours prompt=login and max_age=0 with a live session, and skips the form without it', async () => {
    await signIn(config, 'alice@contoso.com', 'alice-pw');
    await page.goto((await authorizationRequest(config)).url.href);
    expect((await backAtRp()).searchParams.has('code')).toBe(true);
    for (const extra of [{ prompt: 'login' }, { max_age: '0' }] as Array<Record<string, string>>) {
      await page.goto((await authorizationRequest(config, extra)).url.href);
      await expect.poll(() => page.locator('#password').count()).toBe(1);
    }
  });

  it('rotateKeys() signs with a new kid published first in the JWKS; issueIdToken() signs test tokens', async () => {
    const previous = upstream.currentKid;
    await upstream.rotateKeys();
    const { keys } = (await (await fetch(`${upstream.issuer}/discovery/v2.0/keys`)).json()) as { keys: Array<{ kid: string }> };
    expect(keys.map((k) => k.kid)).toEqual([upstream.currentKid, previous]);
    const tokens = await signIn(config, 'alice@contoso.com', 'alice-pw');
    expect(decodeProtectedHeader(tokens.id_token!).kid).toBe(upstream.currentKid);

    const jwks = createRemoteJWKSet(new URL(`${upstream.issuer}/discovery/v2.0/keys`));
    const forged = await upstream.issueIdToken({ aud: 'someone-else', tid: 'other-tenant' });
    const { payload } = await jwtVerify(forged, jwks, { issuer: upstream.issuer });
    expect(payload).toMatchObject({ aud: 'someone-else', tid: 'other-tenant' });
    await expect(jwtVerify(await upstream.issueIdToken({}, { foreignKey: true }), jwks)).rejects.toThrow();
  });

  loginPageBehaviour(() => config, 'alice@contoso.com', 'Contoso sign-in');
});

describe('google upstream', () => {
  let upstream: Upstream;
  let config: client.Configuration;
  beforeAll(async () => ({ upstream, config } = await start('google')));
  afterAll(() => upstream?.stop());

  it('signs in: hd, email_verified, numeric sub, no jti, profile claims even for scope=openid', async () => {
    const tokens = await signIn(config, 'alice@example.org', 'alice-pw', { scope: 'openid' });
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({
      iss: upstream.url, aud: 'baton-rp', email: 'alice@example.org', email_verified: true, hd: 'example.org',
      name: 'Alice Example', picture: 'https://example.org/alice.png',
    });
    expect(claims.sub).toMatch(/^\d{21}$/);
    expect(claims).not.toHaveProperty('jti');
    expect(tokens.refresh_token).toBeTruthy();
  });

  it('does not rotate refresh tokens: no refresh_token in the response, the original works twice', async () => {
    const { refresh_token: original, claims } = await signIn(config, 'alice@example.org', 'alice-pw');
    const before = upstream.counters.refresh;
    for (let i = 0; i < 2; i += 1) {
      const refreshed = await client.refreshTokenGrant(config, original!);
      expect(refreshed.access_token).toBeTruthy();
      expect(Object.keys(refreshed)).not.toContain('refresh_token');
      // oidc-provider issues an id_token on refresh (as real Google does); omitIdTokenOnRefresh drops it.
      expect(refreshed.id_token).toBeTruthy();
      expect(refreshed.claims()?.sub).toBe(claims()!.sub);
    }
    expect(upstream.counters.refresh).toBe(before + 2);

    await client.tokenRevocation(config, original!);
    expect(upstream.revoked).toContain(original);
    expect(await rejection(client.refreshTokenGrant(config, original!))).toMatchObject({ error: 'invalid_grant' });
  });

  it("fail('error') answers 500 JSON, fail('slow') holds the response, fail('down') drops discovery", async () => {
    const { access_token, refresh_token, claims } = await signIn(config, 'alice@example.org', 'alice-pw');
    upstream.fail('error', ['token']);
    const failed = await client.refreshTokenGrant(config, refresh_token!).catch((err: unknown) => err as client.ClientError);
    expect(failed).toMatchObject({ code: 'OAUTH_RESPONSE_IS_NOT_CONFORM', cause: { status: 500 } });
    const direct = await fetch(config.serverMetadata().token_endpoint!, { method: 'POST' });
    expect([direct.status, await direct.json()]).toEqual([500, { error: 'server_error', error_description: 'injected upstream failure' }]);

    upstream.fail('slow', ['userinfo'], { delayMs: 400 });
    const started = Date.now();
    await expect(client.fetchUserInfo(config, access_token, claims()!.sub)).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);

    upstream.fail('down', ['discovery']);
    await expect(fetch(upstream.discoveryUrl)).rejects.toThrow();
    upstream.fail('none');
    expect((await fetch(upstream.discoveryUrl)).status).toBe(200);
    expect(await client.fetchUserInfo(config, access_token, claims()!.sub)).toMatchObject({ email: 'alice@example.org', hd: 'example.org' });
  });

  it('omitIdTokenOnRefresh: the refresh response carries neither id_token nor refresh_token', async () => {
    const other = await start('google', { omitIdTokenOnRefresh: true });
    try {
      const { refresh_token, id_token } = await signIn(other.config, 'alice@example.org', 'alice-pw');
      expect(id_token).toBeTruthy();
      const refreshed = await client.refreshTokenGrant(other.config, refresh_token!);
      expect(refreshed.access_token).toBeTruthy();
      expect(Object.keys(refreshed)).not.toContain('id_token');
      expect(Object.keys(refreshed)).not.toContain('refresh_token');
    } finally {
      await other.upstream.stop();
    }
  });

  loginPageBehaviour(() => config, 'alice@example.org', 'Sign in with Google');
});
