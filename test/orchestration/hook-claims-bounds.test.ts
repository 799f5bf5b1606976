// Claims hooks and the reserved claims of each token type: a buildIDTokenClaims hook cannot set
// acr or amr in an id_token, a buildAccessTokenClaims hook cannot set auth_time, sid, nonce,
// at_hash, acr or amr in an access token (removed, Baton's values kept). A claim set with an
// object-prototype key or beyond the size and depth bounds is a hook failure: a clean
// server_error, a `hook.failed` event, never a stack trace and never a token.
import { fileURLToPath } from 'node:url';

import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { Events, type BatonEvent } from '../../src/observability/events.ts';
import { WEB_REDIRECT } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, discover, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { answers } from './fixtures/claims-bounds-hooks.ts';

const API = 'https://orders.api.example';
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

let baton: RunningBaton;
const seen: BatonEvent[] = [];
beforeAll(async () => {
  const events = new Events();
  events.subscribe((event) => seen.push(event));
  baton = await startBaton({
    resources: [{ id: API, scopes: ['orders:read'] }],
    clients: [
      { client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT], resources: [{ id: API }], hooks: { module: './claims-bounds-hooks.ts' } },
      { client_id: 'service', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API }], hooks: { module: './claims-bounds-hooks.ts' } },
    ],
  }, { configDir: fixtures, events });
});
afterAll(() => baton.stop());
beforeEach(() => {
  answers.idToken = () => ({});
  answers.accessToken = () => ({});
  seen.length = 0;
});

const jwks = () => createRemoteJWKSet(new URL(`${baton.url}/jwks`));

async function codeExchange() {
  const rp = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
  const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, accountId: 'entra:ann', resource: API, resourceScope: 'orders:read' });
  return client.authorizationCodeGrant(rp, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
}

function clientCredentials() {
  return postForm(`${baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=orders:read`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
}

describe('reserved claims per token type', () => {
  it('buildIDTokenClaims cannot set acr or amr (nor the other sign-in claims) in the id_token', async () => {
    answers.idToken = () => ({ acr: 'urn:forged:loa4', amr: ['hwk', 'mfa'], auth_time: 1, sid: 'forged', azp: 'other', department: 'sales' });
    const tokens = await codeExchange();
    const id = tokens.claims()!;
    expect(id.department).toBe('sales');
    expect(id.acr).not.toBe('urn:forged:loa4');
    expect(id.amr).toBeUndefined();
    expect(id.auth_time).not.toBe(1);
    expect(id.sid).not.toBe('forged');
    expect(id.azp).not.toBe('other');
  });

  it('buildAccessTokenClaims cannot set auth_time, sid, nonce, at_hash, acr or amr in the access token', async () => {
    answers.accessToken = () => ({ auth_time: 1, sid: 'forged', nonce: 'forged', at_hash: 'forged', acr: 'forged', amr: ['forged'], c_hash: 'x', tier: 'gold' });
    const tokens = await codeExchange();
    const { payload } = await jwtVerify(tokens.access_token, jwks(), { issuer: baton.url, audience: API });
    expect(payload.tier).toBe('gold');
    for (const name of ['auth_time', 'sid', 'nonce', 'at_hash', 'acr', 'amr', 'c_hash']) expect(payload[name]).toBeUndefined();
  });

  it('may_act stays a claim the client\'s own hook may add (RFC 8693 section 4.4, docs/token-exchange.md)', async () => {
    answers.accessToken = () => ({ may_act: { sub: 'worker' } });
    const res = await clientCredentials();
    expect(res.status).toBe(200);
    const { payload } = await jwtVerify(String(res.json.access_token), jwks(), { issuer: baton.url, audience: API });
    expect(payload.may_act).toEqual({ sub: 'worker' });
  });
});

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < depth; i += 1) value = { a: value };
  return value;
}

const UNSAFE: Array<[string, () => unknown]> = [
  ['a constructor key', () => ({ constructor: { prototype: { admin: true } } })],
  ['a nested prototype key', () => ({ profile: { prototype: 1 } })],
  ['a __proto__ key', () => JSON.parse('{"__proto__":{"admin":true}}')],
  ['absurd nesting', () => nested(5000)],
  ['too many members', () => Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`c${i}`, i]))],
  ['too large', () => ({ blob: 'x'.repeat(200_000) })],
];

describe('unsafe or absurd claim sets are a hook failure', () => {
  it.each(UNSAFE)('buildAccessTokenClaims returning %s: server_error, hook.failed, no token, no internals', async (_name, answer) => {
    answers.accessToken = answer;
    const res = await clientCredentials();
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({ error: 'server_error' });
    expect(res.json.access_token).toBeUndefined();
    expect(res.text).not.toMatch(/claims-bounds-hooks|at .+:\d+|RangeError|stack/);
    expect(seen).toContainEqual(expect.objectContaining({ type: 'hook.failed', hook: 'buildAccessTokenClaims', kind: 'bad-shape', clientId: 'service' }));
  });

  it('buildIDTokenClaims returning a constructor key fails the code exchange cleanly', async () => {
    answers.idToken = () => ({ constructor: 'x' });
    const rp = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, accountId: 'entra:ann', resource: API, resourceScope: 'orders:read' });
    const res = await postForm(`${baton.url}/token`, new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier }), { authorization: basic('web', TEST_ENV.WEB_SECRET) });
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({ error: 'server_error' });
    expect(res.json.id_token).toBeUndefined();
    expect(seen).toContainEqual(expect.objectContaining({ type: 'hook.failed', hook: 'buildIDTokenClaims', kind: 'bad-shape' }));
    void rp;
  });
});
