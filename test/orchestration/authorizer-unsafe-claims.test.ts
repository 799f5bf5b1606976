// Authorizer answers whose claims Baton must not use: object-prototype keys, absurd nesting or size,
// and protocol claims through `claimsNamespace: ""` (acr, amr, auth_time, may_act, sid, azp, nonce...).
// Such an answer is "could not decide" under the authorizer's failure policy (deny: 503
// temporarily_unavailable; ignore: its scopes not granted), never a 500, and it is not cached: the
// next good answer is used at once.
import { createServer, type Server } from 'node:http';

import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';

const API = 'https://orders.api.example';

/** What each authorizer answers next: the raw JSON text of its answer. */
const answers: Record<string, string> = {};
const calls: Record<string, number> = {};
let server: Server;
let baton: RunningBaton;

const GRANT = '{"decision":"grant","claims":{"region":"eu"}}';

/** Nested `{"a":{"a":...}}` `depth` levels deep. */
function nested(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

const UNSAFE: Array<[string, string]> = [
  ['a __proto__ claim', '{"decision":"grant","claims":{"__proto__":{"admin":true}}}'],
  ['a nested __proto__ claim', '{"decision":"grant","claims":{"profile":{"__proto__":{"admin":true}}}}'],
  ['a constructor claim', '{"decision":"grant","claims":{"constructor":{"prototype":{"admin":true}}}}'],
  ['a prototype claim', '{"decision":"grant","claims":{"prototype":1}}'],
  ['absurd nesting', `{"decision":"grant","claims":${nested(5000)}}`],
  ['nesting just past the bound', `{"decision":"grant","claims":${nested(33)}}`],
  ['too many claims', `{"decision":"grant","claims":{${Array.from({ length: 2000 }, (_, i) => `"c${i}":1`).join(',')}}}`],
];

beforeAll(async () => {
  server = createServer((req, res) => {
    const id = (req.url ?? '').slice(1);
    req.resume();
    req.on('end', () => {
      calls[id] = (calls[id] ?? 0) + 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(answers[id] ?? GRANT);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  baton = await startBaton({
    resources: [{ id: API, scopes: [...UNSAFE.map((_, i) => `orders:s${i}`), 'flat:read', 'soft:read', 'plain'] }],
    authorizers: [
      { id: 'orders', url: `${base}/orders`, namespace: 'orders:', cacheTTL: '30s' },
      { id: 'flat', url: `${base}/flat`, namespace: 'flat:', cacheTTL: '30s', claimsNamespace: '' },
      { id: 'soft', url: `${base}/soft`, namespace: 'soft:', cacheTTL: '30s', onFailure: 'ignore', claimsNamespace: '' },
    ],
    clients: [{ client_id: 'service', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API }] }],
  });
});

afterAll(async () => {
  await baton?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

async function token(scope: string) {
  return postForm(`${baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=${encodeURIComponent(scope)}`, {
    authorization: basic('service', TEST_ENV.SERVICE_SECRET),
  });
}

const claimsOf = async (accessToken: unknown) =>
  (await jwtVerify(String(accessToken), createRemoteJWKSet(new URL(`${baton.url}/jwks`)), { issuer: baton.url, audience: API })).payload;

describe('an authorizer answer with unsafe claims (onFailure: deny)', () => {
  // Each case asks for its own scope, so no decision cached by an earlier case answers it.
  it.each(UNSAFE.map(([name, answer], i) => [name, answer, `orders:s${i}`]))('%s: 503 temporarily_unavailable, not cached', async (_name, answer, scope) => {
    answers.orders = answer;
    const before = calls.orders ?? 0;
    const refused = await token(`${scope} plain`);
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ error: 'temporarily_unavailable' });
    expect(refused.json.access_token).toBeUndefined();

    // Not cached as a success (nor as a failure): the next good answer is asked for and used.
    answers.orders = GRANT;
    const granted = await token(`${scope} plain`);
    expect(granted.status).toBe(200);
    expect(calls.orders).toBe(before + 2);
    expect((await claimsOf(granted.json.access_token)).orders).toEqual({ region: 'eu' });
    delete answers.orders;
  });
});

describe('claimsNamespace "": the access token\'s reserved claims are Baton\'s', () => {
  const RESERVED = ['acr', 'amr', 'auth_time', 'may_act', 'sid', 'azp', 'nonce', 'at_hash', 'sub', 'scope', 'client_id', 'act'];

  it.each(RESERVED)('an answer setting %s is "could not decide": 503 under deny', async (claim) => {
    answers.flat = JSON.stringify({ decision: 'grant', claims: { [claim]: claim === 'amr' ? ['mfa'] : 'forged' } });
    const refused = await token('flat:read plain');
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ error: 'temporarily_unavailable' });
    delete answers.flat;
  });

  it('an answer setting acr under onFailure: ignore: its scopes are not granted, the rest goes through without the claim', async () => {
    answers.soft = '{"decision":"grant","claims":{"acr":"urn:forged:mfa","tier":"gold"}}';
    const res = await token('soft:read plain');
    expect(res.status).toBe(200);
    expect(res.json.scope).toBe('plain');
    const payload = await claimsOf(res.json.access_token);
    expect(payload.acr).toBeUndefined();
    expect(payload.tier).toBeUndefined();
    delete answers.soft;
  });

  it('ordinary top-level claims still go through', async () => {
    answers.flat = '{"decision":"grant","claims":{"tenant":"t1","roles":["a","b"]}}';
    const res = await token('flat:read');
    expect(res.status).toBe(200);
    const payload = await claimsOf(res.json.access_token);
    expect(payload).toMatchObject({ tenant: 't1', roles: ['a', 'b'], scope: 'flat:read' });
    delete answers.flat;
  });
});
