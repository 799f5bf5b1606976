// OIDC Core section 3.1.2.6 with prompt=none: with a Baton session (signed in through a real
// upstream) and no grant yet, a first-party client (no requireConsent: no consent page ever) gets a
// code, for the session's account, with the scopes and resource it asked; a client with
// requireConsent gets consent_required; without a session, login_required. The client's decision
// still runs first (access_denied, no grant made).
import { createHash, randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { CookieAgent, signInForTokens } from '../helpers/http-sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const SECRET = 'upstream-client-secret-0123456789';
const REDIRECT = 'https://app.example/cb';
const API = 'https://api.example';
let baton: RunningBaton;
let idp: Upstream;

beforeAll(async () => {
  const port = await freePort();
  idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: [`http://127.0.0.1:${port}/callback/corp`] }],
    users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true } }],
  });
  const app = (client_id: string, extra: Record<string, unknown> = {}) => ({ client_id, client_secret: '${WEB_SECRET}', redirect_uris: [REDIRECT], resources: [{ id: API }], ...extra });
  baton = await startBaton({
    upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET }],
    resources: [{ id: API, scopes: ['api:read', 'api:write'] }],
    clients: [
      app('home'),
      app('first-party', { resources: [{ id: API, scopes: ['api:read'] }] }),
      app('asks-consent', { requireConsent: true }),
      app('refusing', { rules: [{ deny: { emailDomain: ['example.org'] }, reason: 'example.org accounts are not accepted here' }, { allow: {} }] }),
    ],
  }, { port });
});
afterAll(async () => {
  await baton?.stop();
  await idp?.stop();
});

/** A signed-in browser: the Baton session of a sign-in to `home` through the upstream. */
async function signedIn(): Promise<CookieAgent> {
  const agent = new CookieAgent();
  await signInForTokens({ issuer: baton.url, clientId: 'home', secret: TEST_ENV.WEB_SECRET, redirectUri: REDIRECT, scope: 'openid' }, 'ann', 'ann-pw', agent);
  return agent;
}

interface Silent { readonly back: URL; readonly verifier: string }

/** An authorization request with prompt=none, followed through Baton to where it sends the browser. */
async function silently(agent: CookieAgent, clientId: string, extra: Record<string, string> = {}): Promise<Silent> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${baton.url}/authorize`);
  const redirectUri = REDIRECT;
  for (const [k, v] of Object.entries({
    client_id: clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid email', state: 'st-1', prompt: 'none',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', ...extra,
  })) url.searchParams.set(k, v);
  const response = await agent.follow(url, baton.url);
  expect(response.status).toBe(303);
  const back = new URL(response.headers.get('location')!);
  expect(back.href.startsWith(redirectUri)).toBe(true);
  return { back, verifier };
}

const basic = (clientId: string) => `Basic ${Buffer.from(`${clientId}:${TEST_ENV.WEB_SECRET}`).toString('base64')}`;

async function refresh(clientId: string, refreshToken: string) {
  const response = await fetch(`${baton.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId) }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function redeem(clientId: string, { back, verifier }: Silent, resource?: string) {
  const response = await fetch(`${baton.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${TEST_ENV.WEB_SECRET}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier, ...(resource ? { resource } : {}) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const claimsOf = (jwt: unknown) => JSON.parse(Buffer.from(String(jwt).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('prompt=none before any grant', () => {
  it('a first-party client with a session: a code for the session\'s account, no upstream round trip', async () => {
    const agent = await signedIn();
    const upstreamBefore = idp.counters.authorize;
    const silent = await silently(agent, 'first-party');
    expect(silent.back.searchParams.get('error')).toBeNull();
    expect(silent.back.searchParams.get('state')).toBe('st-1');
    expect(idp.counters.authorize).toBe(upstreamBefore);
    const tokens = await redeem('first-party', silent);
    expect(tokens.status).toBe(200);
    expect(claimsOf(tokens.body.id_token)).toMatchObject({ sub: 'corp:ann', aud: 'first-party', email: 'ann@example.org' });
    // Another silent request reuses the grant just made.
    expect((await redeem('first-party', await silently(agent, 'first-party'))).status).toBe(200);
  });

  it('the silent grant relies on the session\'s upstream sign-in: it ends with it, as an interactive one does', async () => {
    const agent = new CookieAgent();
    const home = await signInForTokens({ issuer: baton.url, clientId: 'home', secret: TEST_ENV.WEB_SECRET, redirectUri: REDIRECT, scope: 'openid' }, 'ann', 'ann-pw', agent);
    const tokens = await redeem('first-party', await silently(agent, 'first-party'));
    const renewed = await refresh('first-party', String(tokens.body.refresh_token));
    expect(renewed.status).toBe(200);
    // The sign-in's own grant ends (its refresh token revoked): the upstream session it held goes with it.
    const revoked = await fetch(`${baton.url}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('home') }, body: new URLSearchParams({ token: home.refresh_token! }) });
    expect(revoked.status).toBe(200);
    const next = await refresh('first-party', String(renewed.body.refresh_token));
    expect(next.body.error).toBe('invalid_grant');
  });

  it('resource scopes asked silently are granted within the client\'s configuration only, also added to an existing grant', async () => {
    const agent = await signedIn();
    expect((await redeem('first-party', await silently(agent, 'first-party'))).status).toBe(200);
    const silent = await silently(agent, 'first-party', { scope: 'openid api:read api:write', resource: API });
    const tokens = await redeem('first-party', silent, API);
    expect(tokens.status).toBe(200);
    expect(claimsOf(tokens.body.access_token)).toMatchObject({ aud: API, scope: 'api:read', sub: 'corp:ann' });
  });

  it('the code is the client\'s own: another client cannot redeem it, and it is single-use', async () => {
    const agent = await signedIn();
    const silent = await silently(agent, 'first-party');
    expect((await redeem('asks-consent', silent)).body.error).toBe('invalid_grant');
    expect((await redeem('first-party', silent)).status).toBe(200);
    expect((await redeem('first-party', silent)).body.error).toBe('invalid_grant');
  });

  it('a client with requireConsent: consent_required (the user must see its page)', async () => {
    const { back } = await silently(await signedIn(), 'asks-consent');
    expect(back.searchParams.get('error')).toBe('consent_required');
    expect(back.searchParams.has('code')).toBe(false);
  });

  it('a client whose decision refuses the account: access_denied, and no grant is made for it', async () => {
    const agent = await signedIn();
    const grantsOf = async (clientId: string) => (await Promise.all((await baton.baton.store.listModelIds('Grant')).map((id) => baton.baton.store.find('Grant', id))))
      .filter((grant) => grant?.clientId === clientId).length;
    const { back } = await silently(agent, 'refusing');
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.has('code')).toBe(false);
    expect(await grantsOf('refusing')).toBe(0);
    expect(await grantsOf('home')).toBeGreaterThan(0);
  });

  it('without a session: login_required, for a first-party client too', async () => {
    for (const clientId of ['first-party', 'asks-consent']) {
      const { back } = await silently(new CookieAgent(), clientId);
      expect(back.searchParams.get('error')).toBe('login_required');
      expect(back.searchParams.has('code')).toBe(false);
    }
  });
});
