// A refresh fails closed when the upstream that authenticated the account is gone: removed from the
// configuration (Baton restarted on the same SQLite store), or no longer in the client's `upstreams`
// allow-list. The refresh answers invalid_grant and the grant ends (restoring the upstream does not
// bring it back), as session reuse refuses the account; a client that still accepts it refreshes.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { freePort, scratchDir, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { signInForTokens, type SignInTarget } from '../helpers/http-sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { tokenRequest } from '../helpers/token-request.ts';

const SECRET = 'upstream-client-secret-0123456789';
const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
const API = 'https://api.example';
const REDIRECT = 'https://app.example/cb';
const dir = scratchDir('baton-removed-upstream-');
let port: number;
let idp: Upstream;
let baton: RunningBaton | undefined;

/** Baton on the same port and SQLite file; `corp` configured or not, `strict`'s allow-list as given. */
async function start({ corp, strictAllows }: { corp: boolean; strictAllows: string[] }): Promise<RunningBaton> {
  const upstream = (id: string) => ({ id, issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET });
  const exchangeFrom = corp ? ['corp'] : ['partner'];
  const app = (client_id: string, extra: Record<string, unknown> = {}) => ({ client_id, client_secret: '${WEB_SECRET}', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], ...extra });
  baton = await startBaton({
    storage: { type: 'sqlite', path: join(dir.path, 'baton.db') },
    upstreams: [...(corp ? [{ ...upstream('corp'), emailDomains: ['example.org'] }] : []), upstream('partner')],
    resources: [{ id: API, scopes: ['api:read'] }],
    clients: [
      app('open', { resources: [{ id: API }] }),
      app('strict', { upstreams: strictAllows }),
      // A grant made by exchanging an upstream id_token holds no upstream session: only the decision can stop it.
      { client_id: 'exchanger', client_secret: '${SERVICE_SECRET}', grant_types: [TE, 'refresh_token'], resources: [{ id: API }], tokenExchange: { subjectTokenTypes: ['id_token'], upstreams: exchangeFrom, refreshToken: true } },
      { client_id: 'relay', client_secret: '${SERVICE_SECRET}', grant_types: [TE], resources: [{ id: API }], tokenExchange: { subjectTokenTypes: ['access_token'] } },
    ],
  }, { port });
  return baton;
}

async function restart(options: Parameters<typeof start>[0]): Promise<RunningBaton> {
  await baton?.stop();
  baton = undefined;
  return start(options);
}

beforeAll(async () => {
  port = await freePort();
  idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: ['corp', 'partner'].map((id) => `http://127.0.0.1:${port}/callback/${id}`) }],
    users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true } }],
  });
});
afterEach(async () => {
  await baton?.stop();
  baton = undefined;
});
afterAll(async () => {
  await idp?.stop();
  dir.remove();
});

const target = (b: RunningBaton, clientId: string): SignInTarget => ({ issuer: b.url, clientId, secret: TEST_ENV.WEB_SECRET, redirectUri: REDIRECT, scope: 'openid email offline_access', authorizeParams: { idp_hint: 'corp' } });

const post = (b: RunningBaton, clientId: string, secret: string, form: Record<string, string>) => tokenRequest(b.url, clientId, secret, form);

const refresh = (b: RunningBaton, clientId: string, refreshToken: string, secret = TEST_ENV.WEB_SECRET) =>
  post(b, clientId, secret, { grant_type: 'refresh_token', refresh_token: refreshToken });

function expectEnded(answer: { status: number; body: Record<string, unknown> }): void {
  expect(answer.status).toBe(400);
  expect(answer.body.error).toBe('invalid_grant');
  expect(answer.body.access_token).toBeUndefined();
}

async function signInAt(b: RunningBaton, clientId: string): Promise<string> {
  const tokens = await signInForTokens(target(b, clientId), 'ann', 'ann-pw');
  expect(tokens.refresh_token).toBeTruthy();
  return tokens.refresh_token!;
}

describe('refresh when the account\'s upstream is no longer configured', () => {
  it('signed in through corp, Baton restarted without corp: invalid_grant, and the grant stays ended when corp is back', async () => {
    const rt = await signInAt(await start({ corp: true, strictAllows: ['corp'] }), 'open');
    expectEnded(await refresh(await restart({ corp: false, strictAllows: ['partner'] }), 'open', rt));
    expectEnded(await refresh(await restart({ corp: true, strictAllows: ['corp'] }), 'open', rt));
  });

  it('a refresh token replayed inside the reuse grace after the restart: invalid_grant too', async () => {
    const first = await start({ corp: true, strictAllows: ['corp'] });
    const rt = await signInAt(first, 'open');
    expect((await refresh(first, 'open', rt)).status).toBe(200);
    expectEnded(await refresh(await restart({ corp: false, strictAllows: ['partner'] }), 'open', rt));
  });

  it('a grant from an exchanged corp id_token (no upstream session): its refresh is invalid_grant without corp', async () => {
    const first = await start({ corp: true, strictAllows: ['corp'] });
    const idToken = await idp.issueIdToken({ aud: 'baton', sub: `ann-${randomUUID()}`, email: 'ann@example.org', email_verified: true });
    const exchanged = await post(first, 'exchanger', TEST_ENV.SERVICE_SECRET, { grant_type: TE, subject_token: idToken, subject_token_type: ID_TOKEN, resource: API });
    expect(exchanged.status).toBe(200);
    const rt = String(exchanged.body.refresh_token);
    // Still configured: the refresh works (the control for the refusal below).
    const renewed = await refresh(first, 'exchanger', rt, TEST_ENV.SERVICE_SECRET);
    expect(renewed.status).toBe(200);
    const next = String(renewed.body.refresh_token);
    expectEnded(await refresh(await restart({ corp: false, strictAllows: ['partner'] }), 'exchanger', next, TEST_ENV.SERVICE_SECRET));
    expectEnded(await refresh(await restart({ corp: true, strictAllows: ['corp'] }), 'exchanger', next, TEST_ENV.SERVICE_SECRET));
  });
});

describe('token exchange of a Baton access token whose account\'s upstream is no longer configured', () => {
  it('is invalid_request (RFC 8693 section 2.2.2), as its refresh is invalid_grant', async () => {
    const first = await start({ corp: true, strictAllows: ['corp'] });
    const { access_token: accessToken } = await signInForTokens({ ...target(first, 'open'), resource: API, scope: 'openid email api:read' }, 'ann', 'ann-pw');
    const exchange = (b: RunningBaton) => post(b, 'relay', TEST_ENV.SERVICE_SECRET, { grant_type: TE, subject_token: accessToken, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', resource: API });
    expect((await exchange(first)).status).toBe(200);
    const refused = await exchange(await restart({ corp: false, strictAllows: ['partner'] }));
    expect(refused).toEqual({ status: 400, body: { error: 'invalid_request', error_description: 'the identity provider of this account is no longer configured' } });
  });
});

describe('refresh when the client no longer allows the account\'s upstream', () => {
  it('corp still configured but out of the client\'s upstreams: invalid_grant for it; a client without an allow-list still refreshes', async () => {
    const first = await start({ corp: true, strictAllows: ['corp'] });
    const strict = await signInAt(first, 'strict');
    const open = await signInAt(first, 'open');
    const changed = await restart({ corp: true, strictAllows: ['partner'] });
    expectEnded(await refresh(changed, 'strict', strict));
    expect((await refresh(changed, 'open', open)).status).toBe(200);
    expectEnded(await refresh(await restart({ corp: true, strictAllows: ['corp'] }), 'strict', strict));
  });
});
