// Passthrough end to end: an app registered at the upstream (Entra ID, Google) keeps its client id,
// secret and authorize redirect there; it is configured with Baton's passthrough issuer only.
// Chromium signs in at the upstream; openid-client redeems the code at Baton and validates Baton's
// id_token; the access token carries what the authorizer decided; refresh tokens wrap the upstream's.
import { createHash } from 'node:crypto';

import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { tokenRef, type BatonEvent } from '../../src/observability/events.ts';
import { basic, postForm, rejection } from '../helpers/rp.ts';
import { app, authorize, ORDERS_API, redeem, SECRETS, startEnvironment, TENANT, type Environment } from './environment.ts';

const ALICE = { username: 'alice@contoso.com', password: 'alice-pw' };
const BOB = { username: 'bob@example.org', password: 'bob-pw' };

let env: Environment;
let page: Page;

beforeAll(async () => {
  // crm-handle: the same app at Contoso (a rotating upstream) with handle refresh tokens.
  env = await startEnvironment({ passthrough: [{ id: 'crm-handle', upstream: 'contoso', clients: ['crm-app'], resource: { id: ORDERS_API }, refreshTokens: 'handle', hooks: { module: './fixtures/hooks.ts' } }] });
});
afterAll(() => env?.stop());
beforeEach(async () => {
  await env.browser.context.clearCookies();
  page = await env.browser.newPage();
});
afterEach(() => page.close());

const crm = () => app(env.issuer('crm'), 'crm-app', SECRETS.crm);
const mail = (id: 'mail' | 'mail-jwe') => app(env.issuer(id), 'mail-app', SECRETS.mail);

/** A fresh sign-in at Contoso through the crm passthrough: tokens for crm-app. */
async function crmTokens(rp?: client.Configuration) {
  const config = rp ?? await crm();
  return { rp: config, tokens: await redeem(config, await authorize(page, env, config, ALICE)) };
}

describe('authorization code through the passthrough issuer', () => {
  it('re-mints the upstream sign-in under the passthrough issuer: id_token, RFC 9068 access token with the authorizer\'s scopes, userinfo', async () => {
    const rp = await crm();
    const auth = await authorize(page, env, rp, ALICE);
    expect(new URL(rp.serverMetadata().authorization_endpoint!).origin).toBe(env.entra.url);
    // openid-client checked iss, aud, signature against the passthrough JWKS, nonce, exp.
    const tokens = await redeem(rp, auth);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({
      iss: env.issuer('crm'), aud: 'crm-app', nonce: auth.nonce, email: 'alice@contoso.com', name: 'Alice Contoso', department: 'sales',
    });
    expect(claims.sub).toMatch(new RegExp(`^contoso:${TENANT}:[0-9a-f-]{36}$`));
    expect(claims).not.toHaveProperty('tid');
    expect(typeof claims.auth_time).toBe('number');
    // OIDC Core 3.1.3.6: at_hash is the left half of SHA-256 of the access token (RS256).
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
    const digest = createHash('sha256').update(tokens.access_token).digest();
    expect(claims.at_hash).toBe(digest.subarray(0, 16).toString('base64url'));

    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${env.issuer('crm')}/jwks`)), { issuer: env.issuer('crm'), audience: ORDERS_API, typ: 'at+jwt' });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({ sub: claims.sub, client_id: 'crm-app', orders: { tier: 'gold' }, department: 'sales' });
    // The authorizer granted orders:read and not orders:write.
    expect(String(payload.scope).split(' ').sort()).toEqual(['email', 'openid', 'orders:read', 'profile']);
    expect(tokens.scope).toBe(payload.scope);
    expect(env.authorized).toContain(claims.sub);

    const info = await client.fetchUserInfo(rp, tokens.access_token, String(claims.sub));
    expect(info).toMatchObject({ sub: claims.sub, email: 'alice@contoso.com', name: 'Alice Contoso' });
    // The refresh token is Baton's JWE, never the upstream's.
    expect(tokens.refresh_token!.split('.')).toHaveLength(5);
    expect(decodeProtectedHeader(tokens.refresh_token!)).toMatchObject({ alg: 'dir', enc: 'A256GCM' });
  });

  it('forwards the PKCE verifier: a wrong one is refused by the upstream, relayed as invalid_grant', async () => {
    const rp = await crm();
    const auth = await authorize(page, env, rp, ALICE);
    const refused = await rejection(redeem(rp, auth, client.randomPKCECodeVerifier()));
    expect(refused).toMatchObject({ error: 'invalid_grant', status: 400 });
  });

  it('forwards client_secret_post as received (other-app authenticates that way upstream)', async () => {
    const rp = await app(env.issuer('crm'), 'other-app', SECRETS.other, 'post');
    const tokens = await redeem(rp, await authorize(page, env, rp, ALICE));
    expect(tokens.claims()).toMatchObject({ aud: 'other-app', iss: env.issuer('crm') });
  });

  it('runs the passthrough\'s rules and isAuthorized: a denied user gets invalid_grant with the reason', async () => {
    const rp = await crm();
    const byRule = await redeem(rp, await authorize(page, env, rp, { username: 'eve@fabrikam.com', password: 'eve-pw' })).catch((err: unknown) => err);
    expect(byRule).toMatchObject({ error: 'invalid_grant', error_description: 'Fabrikam accounts are not accepted here' });
    await env.browser.context.clearCookies();
    const byHook = await redeem(rp, await authorize(page, env, rp, { username: 'blocked@contoso.com', password: 'blocked-pw' })).catch((err: unknown) => err);
    expect(byHook).toMatchObject({ error: 'invalid_grant', error_description: 'blocked by the HR system' });
  });

  it('refuses clients it does not front (invalid_client, 401 with a Basic challenge) and unsupported grants', async () => {
    const token = `${env.issuer('crm')}/token`;
    const stranger = await postForm(token, 'grant_type=authorization_code&code=x', { authorization: basic('mail-app', SECRETS.mail) });
    expect(stranger.status).toBe(401);
    expect(stranger.json.error).toBe('invalid_client');
    expect(stranger.headers.get('www-authenticate')).toMatch(/^Basic realm=/);

    const grant = await postForm(token, 'grant_type=client_credentials', { authorization: basic('crm-app', SECRETS.crm) });
    expect(grant.json.error).toBe('unsupported_grant_type');
    const missing = await postForm(token, 'grant_type=authorization_code', { authorization: basic('crm-app', SECRETS.crm) });
    expect(missing).toMatchObject({ status: 400, json: { error: 'invalid_request', error_description: 'code is required' } });
    expect(missing.headers.get('cache-control')).toBe('no-store');
    const twice = await postForm(token, 'grant_type=authorization_code&code=a&code=b', { authorization: basic('crm-app', SECRETS.crm) });
    expect(twice.json).toMatchObject({ error: 'invalid_request', error_description: 'code must not be repeated' });
    const unknownCode = await postForm(token, 'grant_type=authorization_code&code=nope&redirect_uri=x', { authorization: basic('crm-app', SECRETS.crm) });
    expect(unknownCode).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    const wrongSecret = await postForm(token, 'grant_type=authorization_code&code=nope', { authorization: basic('crm-app', 'not-the-secret') });
    expect(wrongSecret).toMatchObject({ status: 401, json: { error: 'invalid_client' } });
    expect(wrongSecret.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('userinfo answers RFC 6750 challenges', async () => {
    const userinfo = `${env.issuer('crm')}/userinfo`;
    const none = await fetch(userinfo);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(`Bearer realm="${env.issuer('crm')}"`);
    const bad = await fetch(userinfo, { headers: { authorization: 'Bearer not.a.token' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
    // A Baton access token of another passthrough issuer is not one of this issuer's.
    const rp = await mail('mail');
    const tokens = await redeem(rp, await authorize(page, env, rp, BOB));
    const foreign = await fetch(userinfo, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(foreign.status).toBe(401);
  });
});

describe('refresh tokens wrapping the upstream\'s', () => {
  it.each(['mail', 'mail-jwe'] as const)('%s: two refreshes in a row with Google, which does not rotate its refresh token', async (id) => {
    const rp = await mail(id);
    const first = await redeem(rp, await authorize(page, env, rp, BOB));
    const sub = first.claims()!.sub;
    const before = env.google.counters.refresh;
    const second = await client.refreshTokenGrant(rp, first.refresh_token!);
    const third = await client.refreshTokenGrant(rp, second.refresh_token!);
    expect(env.google.counters.refresh - before).toBe(2);
    for (const tokens of [second, third]) {
      expect(tokens.claims()).toMatchObject({ iss: env.issuer(id), sub, aud: 'mail-app', email: 'bob@example.org' });
      expect(tokens.claims()!.auth_time).toBe(first.claims()!.auth_time);
      expect(tokens.claims()).not.toHaveProperty('nonce');
    }
    expect(await client.fetchUserInfo(rp, third.access_token, sub)).toMatchObject({ sub, email: 'bob@example.org' });
    if (id === 'mail') {
      // A handle is spent on use: the previous one is refused.
      expect(third.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await rejection(client.refreshTokenGrant(rp, first.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    }
  });

  it('Entra rotates its refresh token: the new one is wrapped', async () => {
    const { rp, tokens } = await crmTokens();
    const once = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    const twice = await client.refreshTokenGrant(rp, once.refresh_token!);
    expect(twice.claims()).toMatchObject({ sub: tokens.claims()!.sub, iss: env.issuer('crm'), department: 'sales' });
    // The upstream token wrapped by the first one was rotated away there: the upstream refuses it.
    expect(await rejection(client.refreshTokenGrant(rp, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant', status: 400 });
  });

  it('a tampered refresh token is invalid_grant', async () => {
    const { rp, tokens } = await crmTokens();
    const parts = tokens.refresh_token!.split('.');
    const ciphertext = parts[3]!;
    parts[3] = `${ciphertext.slice(0, 10)}${ciphertext[10] === 'A' ? 'B' : 'A'}${ciphertext.slice(11)}`;
    expect(await rejection(client.refreshTokenGrant(rp, parts.join('.')))).toMatchObject({ error: 'invalid_grant', status: 400 });
    const handleRp = await mail('mail');
    expect(await rejection(client.refreshTokenGrant(handleRp, 'A'.repeat(43)))).toMatchObject({ error: 'invalid_grant' });
  });

  it('client B presenting client A\'s refresh token is invalid_grant (JWE bound by aud), and A\'s token is not spent by it', async () => {
    const { rp, tokens } = await crmTokens();
    const other = await app(env.issuer('crm'), 'other-app', SECRETS.other, 'post');
    const upstreamCalls = env.entra.counters.refresh;
    expect(await rejection(client.refreshTokenGrant(other, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    expect(env.entra.counters.refresh).toBe(upstreamCalls);
    expect((await client.refreshTokenGrant(rp, tokens.refresh_token!)).access_token).toBeTruthy();
    // A refresh token of another passthrough issuer (same client id at another upstream) is refused too.
    const mailRp = await mail('mail-jwe');
    const mailTokens = await redeem(mailRp, await authorize(page, env, mailRp, BOB));
    const crossIssuer = await postForm(`${env.issuer('crm')}/token`, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: mailTokens.refresh_token! }), { authorization: basic('crm-app', SECRETS.crm) });
    expect(crossIssuer.json.error).toBe('invalid_grant');
  });

  it('upstream down: a clean 503 JSON body, and the same refresh token works once it is back', async () => {
    const rp = await mail('mail');
    const tokens = await redeem(rp, await authorize(page, env, rp, BOB));
    env.google.fail('down', ['token']);
    try {
      const down = await postForm(`${env.issuer('mail')}/token`, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }), { authorization: basic('mail-app', SECRETS.mail) });
      expect(down.status).toBe(503);
      expect(down.json).toEqual({ error: 'temporarily_unavailable', error_description: 'the upstream identity provider could not be reached; try again later' });
      env.google.fail('error', ['token']);
      const failing = await postForm(`${env.issuer('mail')}/token`, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }), { authorization: basic('mail-app', SECRETS.mail) });
      expect(failing.status).toBe(503);
      expect(failing.text).not.toMatch(/at .*\.ts/);
    } finally {
      env.google.fail('none');
    }
    expect((await client.refreshTokenGrant(rp, tokens.refresh_token!)).access_token).toBeTruthy();
  });
});

describe('a refresh failing after a rotating upstream answered', () => {
  const refreshAt = (refreshToken: string) => postForm(`${env.issuer('crm-handle')}/token`, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }), { authorization: basic('crm-app', SECRETS.crm) });
  const givenBack = async () => Number(/^baton_refresh_total\{outcome="given_back"\} (\d+)/m.exec(await (await fetch(`${env.baton.url}/metrics`)).text())?.[1] ?? 0);

  it('authorizer down: 503, the handle is given back wrapping Contoso\'s new token, and the same handle works once the authorizer is back', async () => {
    const rp = await app(env.issuer('crm-handle'), 'crm-app', SECRETS.crm);
    const tokens = await redeem(rp, await authorize(page, env, rp, ALICE));
    const refreshes = env.entra.counters.refresh;
    const given = await givenBack();
    env.authorizerMode('down');
    try {
      const down = await refreshAt(tokens.refresh_token!);
      expect(down.status).toBe(503);
      expect(down.json.error).toBe('temporarily_unavailable');
    } finally {
      env.authorizerMode('grant');
    }
    // Contoso rotated its refresh token during the failed attempt: the old one is gone there.
    expect(env.entra.counters.refresh).toBe(refreshes + 1);
    expect(await givenBack()).toBe(given + 1);
    const retried = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(retried.claims()).toMatchObject({ sub: tokens.claims()!.sub, iss: env.issuer('crm-handle') });
    expect(String(decodeJwt(retried.access_token).scope).split(' ')).toContain('orders:read');
    expect(env.entra.counters.refresh).toBe(refreshes + 2);
    // Spent by the retry as usual; its successor goes on.
    expect(retried.refresh_token).not.toBe(tokens.refresh_token);
    expect((await client.refreshTokenGrant(rp, retried.refresh_token!)).access_token).toBeTruthy();
  });

  it('a handle revoked while the upstream was failing is not revived: the client gets the upstream\'s 503, and the handle stays ended', async () => {
    const rp = await mail('mail');
    const tokens = await redeem(rp, await authorize(page, env, rp, BOB));
    const given = await givenBack();
    env.google.fail('slow', ['token'], { delayMs: 1500 });
    try {
      const refreshing = postForm(`${env.issuer('mail')}/token`, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }), { authorization: basic('mail-app', SECRETS.mail) });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await client.tokenRevocation(rp, tokens.refresh_token!);
      const failed = await refreshing;
      expect(failed.status).toBe(503);
      expect(failed.json.error).toBe('temporarily_unavailable');
    } finally {
      env.google.fail('none');
    }
    expect(await givenBack()).toBe(given);
    expect(await rejection(client.refreshTokenGrant(rp, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });

  it('the user is refused since signing in (isAuthorized): invalid_grant, and the handle is ended, not given back', async () => {
    const rp = await app(env.issuer('crm-handle'), 'crm-app', SECRETS.crm);
    const tokens = await redeem(rp, await authorize(page, env, rp, ALICE));
    const given = await givenBack();
    process.env.PASSTHROUGH_TEST_SUSPENDED = 'alice@contoso.com';
    let refused: Awaited<ReturnType<typeof refreshAt>>;
    try {
      refused = await refreshAt(tokens.refresh_token!);
    } finally {
      delete process.env.PASSTHROUGH_TEST_SUSPENDED;
    }
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('suspended by the HR system') });
    expect(await givenBack()).toBe(given);
    // No longer suspended: the handle stays ended all the same (a new sign-in is needed).
    expect((await refreshAt(tokens.refresh_token!)).json.error).toBe('invalid_grant');
  });

  it('an authorizer that denies takes its scopes away without refusing the refresh', async () => {
    const rp = await app(env.issuer('crm-handle'), 'crm-app', SECRETS.crm);
    const tokens = await redeem(rp, await authorize(page, env, rp, ALICE));
    env.authorizerMode('deny');
    try {
      const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
      expect(String(decodeJwt(refreshed.access_token).scope).split(' ')).not.toContain('orders:read');
    } finally {
      env.authorizerMode('grant');
    }
  });
});

describe('what operators see', () => {
  it('the audit events of a passthrough sign-in and refresh (tokens by reference), and the token and upstream metrics', async () => {
    const seen: BatonEvent[] = [];
    const unsubscribe = env.baton.baton.events.subscribe((event) => void seen.push(event));
    try {
      const rp = await mail('mail-jwe');
      const tokens = await redeem(rp, await authorize(page, env, rp, BOB));
      const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
      const sub = tokens.claims()!.sub;
      expect(seen.find((e) => e.type === 'user.signed_in')).toMatchObject({ sub, clientId: 'mail-app', upstream: 'google' });
      const issued = seen.find((e) => e.type === 'token.issued');
      expect(issued).toMatchObject({ grantType: 'authorization_code', clientId: 'mail-app', sub });
      const jti = String(decodeJwt(tokens.access_token).jti);
      expect(issued && 'tokens' in issued ? issued.tokens : undefined).toEqual({ access: tokenRef(jti), refresh: tokenRef(tokens.refresh_token!), id: tokenRef(tokens.id_token!) });
      expect(seen.find((e) => e.type === 'token.refreshed')).toMatchObject({ grantType: 'refresh_token', clientId: 'mail-app', sub });
      expect(JSON.stringify(seen)).not.toContain(refreshed.access_token);
    } finally {
      unsubscribe();
    }
    const metrics = await (await fetch(`${env.baton.url}/metrics`)).text();
    expect(metrics).toMatch(/baton_token_requests_total\{grant_type="refresh_token",client_id="mail-app",result="issued"\} [1-9]/);
    expect(metrics).toMatch(/baton_upstream_request_seconds_count\{upstream="google",operation="passthrough_code",result="ok"\} [1-9]/);
    expect(metrics).toMatch(/baton_upstream_request_seconds_count\{upstream="google",operation="passthrough_refresh",result="ok"\} [1-9]/);
  });
});

describe('logs', () => {
  it('name the request of each authorizer decision, as the passthrough.token line of that request does', async () => {
    const before = env.logs.length;
    await crmTokens();
    const lines = env.logs.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    const issued = lines.filter((line) => line.event === 'passthrough.token').map((line) => line.reqId);
    const decisions = lines.filter((line) => line.event === 'authorizer.decision');
    expect(issued).toHaveLength(1);
    expect(typeof issued[0]).toBe('string');
    expect(decisions.length).toBeGreaterThan(0);
    for (const decision of decisions) expect(decision.reqId).toBe(issued[0]);
  });

  it('never hold a secret, a code or a token, whatever the flow', async () => {
    const rp = await mail('mail-jwe');
    const auth = await authorize(page, env, rp, BOB);
    const tokens = await redeem(rp, auth);
    await client.refreshTokenGrant(rp, tokens.refresh_token!);
    await postForm(`${env.issuer('mail')}/token`, 'grant_type=refresh_token&refresh_token=forged', { authorization: basic('mail-app', SECRETS.mail) });
    const text = env.logs.join('\n');
    expect(text).toContain('passthrough.token');
    for (const secret of [SECRETS.crm, SECRETS.other, SECRETS.mail, auth.callback.searchParams.get('code')!, tokens.refresh_token!, tokens.access_token, tokens.id_token!]) {
      expect(text).not.toContain(secret);
    }
    // No JWT (Baton's or the upstream's) and no JWE anywhere.
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });
});

describe('revocation (RFC 7009)', () => {
  it('handle: deleted, the wrapped upstream token revoked upstream; answers 200 for unknown tokens too', async () => {
    const rp = await mail('mail');
    const tokens = await redeem(rp, await authorize(page, env, rp, BOB));
    const revocations = env.google.counters.revocation;
    await client.tokenRevocation(rp, tokens.refresh_token!);
    expect(env.google.counters.revocation).toBe(revocations + 1);
    expect(await rejection(client.refreshTokenGrant(rp, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    const unknown = await postForm(`${env.issuer('mail')}/revoke`, 'token=whatever', { authorization: basic('mail-app', SECRETS.mail) });
    expect(unknown.status).toBe(200);
  });

  it('JWE: the wrapped upstream token is revoked at the upstream, so the JWE stops working', async () => {
    const rp = await mail('mail-jwe');
    const tokens = await redeem(rp, await authorize(page, env, rp, BOB));
    await client.tokenRevocation(rp, tokens.refresh_token!);
    expect(await rejection(client.refreshTokenGrant(rp, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant', status: 400 });
  });
});

describe('client authentication before anything is spent (RFC 7009 section 2.1, RFC 6749 section 6)', () => {
  const WRONG = 'not-the-mail-app-secret-0123';
  const refreshAs = (secret: string, refreshToken: string) => postForm(`${env.issuer('mail')}/token`, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }), { authorization: basic('mail-app', secret) });

  it('a refresh with a wrong secret is 401 invalid_client and leaves the handle usable', async () => {
    const rp = await mail('mail');
    const tokens = await redeem(rp, await authorize(page, env, rp, BOB));
    const wrong = await refreshAs(WRONG, tokens.refresh_token!);
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe('invalid_client');
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const right = await refreshAs(SECRETS.mail, tokens.refresh_token!);
    expect(right.status).toBe(200);
    expect(right.json.access_token).toBeTruthy();
  });

  it('a revocation with a wrong secret is 401 invalid_client and ends nothing: the handle still refreshes', async () => {
    const rp = await mail('mail');
    const tokens = await redeem(rp, await authorize(page, env, rp, BOB));
    const wrong = await postForm(`${env.issuer('mail')}/revoke`, new URLSearchParams({ token: tokens.refresh_token! }), { authorization: basic('mail-app', WRONG) });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe('invalid_client');
    const right = await refreshAs(SECRETS.mail, tokens.refresh_token!);
    expect(right.status).toBe(200);
    // And with the right secret, revocation ends it.
    await client.tokenRevocation(rp, String(right.json.refresh_token));
    expect((await refreshAs(SECRETS.mail, String(right.json.refresh_token))).json.error).toBe('invalid_grant');
  });
});
