// Token exchange on the lean token path (src/grants/lean-registered-grant.ts) against the full Koa
// pipeline of the same provider: the same request to both answers alike, successes and the errors
// the grant handler throws (answered by the lean path itself, since a single-use token may be spent);
// a subject or actor token is spent once whichever path it reaches; storage down is 503 on both.

import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { completeFromResponse } from '../../src/explain/edge.ts';
import { TraceRecorder } from '../../src/explain/recorder.ts';
import type { DecisionTrace } from '../../src/explain/trace.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic } from '../helpers/rp.ts';
import { switchableStore } from '../helpers/failing-store.ts';
import { fullPipeline, sendForm as send, type Answer } from '../helpers/two-paths.ts';
import { startIssuer, TE, TYPE, type Issuer } from './environment.ts';

const API = 'https://orders.api.example';
const AUDIT = 'https://audit.api.example';
const PARTNER = 'https://partner.example';
const store = { down: false };
const traces: DecisionTrace[] = [];
const issued: Array<Record<string, unknown>> = [];
let partner: Issuer;
let baton: RunningBaton;
let full: { port: number; close(): Promise<void> };
let leanPort: number;
let fullPort: number;

const failingStore = () => switchableStore(store);

beforeAll(async () => {
  partner = await startIssuer(PARTNER);
  baton = await startBaton({
    resources: [{ id: API, scopes: ['orders:read', 'orders:write'] }, { id: AUDIT, scopes: ['audit:read'], accessTokenFormat: 'opaque' }],
    tokenExchange: { trustedIssuers: [{ issuer: PARTNER, jwksUri: partner.jwksUri, audiences: ['baton'] }] },
    clients: [
      { client_id: 'gateway', client_secret: '${SERVICE_SECRET}', grant_types: [TE, 'client_credentials'], resources: [{ id: API }, { id: AUDIT }], tokenExchange: { subjectTokenTypes: ['jwt', 'access_token'], issuers: [PARTNER], beyondSubjectScopes: true, actors: true } },
      { client_id: 'no-policy', client_secret: '${SERVICE_SECRET}', grant_types: [TE], resources: [{ id: API }] },
    ],
  }, { store: failingStore(), traces: {
    // As the explain edge's lean traces do (src/explain/edge.ts), kept here instead of stored.
    start: (id, at) => {
      const recorder = new TraceRecorder(id, at);
      recorder.request({ endpoint: 'token' });
      return recorder;
    },
    finish: (r, answered) => {
      if (answered) completeFromResponse(answered, r);
      traces.push(r.toTrace());
    },
  } });
  baton.baton.events.subscribe((event) => { if (event.type === 'token.issued') issued.push(event as unknown as Record<string, unknown>); });
  leanPort = Number(new URL(baton.url).port);
  full = await fullPipeline(baton);
  fullPort = full.port;
});

afterAll(async () => {
  await baton?.stop();
  await full?.close();
  await partner?.stop();
});

let seq = 0;
const form = (params: Record<string, string>) => new URLSearchParams({ grant_type: TE, ...params }).toString();
const gateway = () => basic('gateway', TEST_ENV.SERVICE_SECRET);

/** `make()` builds the request (a fresh single-use token each time): one for each path, same request id. */
async function both(make: () => Promise<string>, headers: Record<string, string> = { authorization: gateway() }): Promise<{ lean: Answer; koa: Answer }> {
  const id = `lean-te-${(seq += 1)}`;
  const lean = await send(leanPort, await make(), { 'x-request-id': id, ...headers });
  const koa = await send(fullPort, await make(), { 'x-request-id': id, ...headers });
  return { lean, koa };
}

const jwtSubject = (claims: Record<string, unknown> = {}) => async () => form({ subject_token: await partner.sign(claims), subject_token_type: TYPE.jwt, resource: API, scope: 'orders:read' });

describe('token exchange on the lean path issues what the full pipeline issues', () => {
  it('a trusted issuer\'s JWT: same status, headers in order, body members, token header and claims', async () => {
    const before = traces.length;
    const { lean, koa } = await both(jwtSubject());
    expect(lean.status).toBe(200);
    expect(lean.headers.filter(([n]) => n !== 'Content-Length')).toEqual(koa.headers.filter(([n]) => n !== 'Content-Length'));
    const [a, b] = [JSON.parse(lean.body), JSON.parse(koa.body)] as Array<Record<string, unknown>>;
    expect(Object.keys(a!)).toEqual(Object.keys(b!));
    expect({ ...a, access_token: 0 }).toEqual({ ...b, access_token: 0 });
    const [ta, tb] = [String(a!.access_token), String(b!.access_token)];
    expect(decodeProtectedHeader(ta)).toEqual(decodeProtectedHeader(tb));
    expect(Object.keys(decodeJwt(ta))).toEqual(Object.keys(decodeJwt(tb)));
    expect({ ...decodeJwt(ta), jti: 0, iat: 0, exp: 0 }).toEqual({ ...decodeJwt(tb), jti: 0, iat: 0, exp: 0 });
    expect(traces.length).toBe(before + 1);
    expect(traces[before]!.request).toMatchObject({ endpoint: 'token', clientId: 'gateway', grantType: TE, resources: [API], scopes: ['orders:read'], subjectTokenType: TYPE.jwt });
    expect(JSON.stringify(traces[before])).not.toContain(ta);
  });

  it('an opaque resource: the same answer and the same token.issued event (its subject included)', async () => {
    const before = issued.length;
    const { lean, koa } = await both(async () => form({ subject_token: await partner.sign({ sub: 'partner-user' }), subject_token_type: TYPE.jwt, resource: AUDIT }));
    expect(lean.status).toBe(200);
    expect(lean.headers.filter(([n]) => n !== 'Content-Length')).toEqual(koa.headers.filter(([n]) => n !== 'Content-Length'));
    expect({ ...JSON.parse(lean.body), access_token: 0 }).toEqual({ ...JSON.parse(koa.body), access_token: 0 });
    const [a, b] = issued.slice(before) as Array<{ tokens: unknown; sub?: string }>;
    expect(issued.length).toBe(before + 2);
    expect(a!.sub).toEqual(expect.any(String));
    expect({ ...a, tokens: 0 }).toEqual({ ...b, tokens: 0 });
  });

  it('a trusted issuer\'s actor token: the same answer and the same act claim', async () => {
    const { lean, koa } = await both(async () => form({ subject_token: await partner.sign({}), subject_token_type: TYPE.jwt, actor_token: await partner.sign({ sub: 'robot' }), actor_token_type: TYPE.jwt, resource: API }));
    expect(lean.status).toBe(200);
    expect(lean.headers.filter(([n]) => n !== 'Content-Length')).toEqual(koa.headers.filter(([n]) => n !== 'Content-Length'));
    const [ta, tb] = [String(JSON.parse(lean.body).access_token), String(JSON.parse(koa.body).access_token)];
    expect({ ...decodeJwt(ta), jti: 0, iat: 0, exp: 0 }).toEqual({ ...decodeJwt(tb), jti: 0, iat: 0, exp: 0 });
    expect(decodeJwt(ta).act).toEqual({ sub: 'robot', iss: PARTNER });
  });

  it('the token.issued event names who acts for whom (act), on both paths, for a JWT and for an opaque token alike', async () => {
    const before = issued.length;
    const withActor = (resource: string) => async () => form({ subject_token: await partner.sign({ sub: 'partner-user' }), subject_token_type: TYPE.jwt, actor_token: await partner.sign({ sub: 'robot' }), actor_token_type: TYPE.jwt, resource });
    for (const resource of [API, AUDIT]) expect(Object.values(await both(withActor(resource))).map((answer) => answer.status)).toEqual([200, 200]);
    // Without an actor, no act: the subject is the only party.
    expect(Object.values(await both(jwtSubject())).map((answer) => answer.status)).toEqual([200, 200]);
    const events = issued.slice(before) as Array<{ act?: unknown; resource?: string; tokens: unknown }>;
    expect(events).toHaveLength(6);
    for (const event of events.slice(0, 4)) expect(event.act).toEqual({ sub: 'robot', iss: PARTNER });
    for (const event of events.slice(4)) expect(event).not.toHaveProperty('act');
    expect(JSON.stringify(events)).not.toMatch(/eyJ/);
  });

  it('a client\'s own access token as subject is refused alike (not for a user)', async () => {
    const own = async () => {
      const res = await send(leanPort, `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=orders:read`, { authorization: gateway() });
      return form({ subject_token: String(JSON.parse(res.body).access_token), subject_token_type: TYPE.access_token, resource: API });
    };
    const { lean, koa } = await both(own);
    expect(lean).toEqual(koa);
    expect(JSON.parse(lean.body)).toEqual({ error: 'invalid_request', error_description: 'subject_token was issued to a client, not for a user' });
  });
});

describe('errors the grant handler throws are answered alike', () => {
  const cases: Array<[string, () => Promise<string>, number, string, Record<string, string>?]> = [
    ['a JWT signed with another key', async () => form({ subject_token: await partner.sign({}, { foreignKey: true }), subject_token_type: TYPE.jwt, resource: API }), 400, 'invalid_request'],
    ['an unknown subject_token_type', async () => form({ subject_token: 'x', subject_token_type: 'urn:ietf:params:oauth:token-type:saml2', resource: API }), 400, 'invalid_request'],
    ['no subject_token', async () => form({ subject_token_type: TYPE.jwt, resource: API }), 400, 'invalid_request'],
    ['a scope outside the client\'s', async () => form({ subject_token: await partner.sign({}), subject_token_type: TYPE.jwt, resource: API, scope: 'orders:admin' }), 400, 'invalid_scope'],
    ['an unknown resource', async () => form({ subject_token: await partner.sign({}), subject_token_type: TYPE.jwt, resource: 'https://unknown.example' }), 400, 'invalid_target'],
    ['a client without a policy', async () => form({ subject_token: await partner.sign({}), subject_token_type: TYPE.jwt, resource: API }), 400, 'unauthorized_client', { authorization: basic('no-policy', TEST_ENV.SERVICE_SECRET) }],
    ['a wrong client secret (the full pipeline answers)', async () => form({ subject_token: 'x', subject_token_type: TYPE.jwt }), 401, 'invalid_client', { authorization: basic('gateway', 'wrong-secret-0123456789') }],
  ];
  for (const [name, make, status, error, headers] of cases) {
    it(`${name}: ${status} ${error}`, async () => {
      const { lean, koa } = await both(make, headers);
      expect(lean).toEqual(koa);
      expect(lean.status).toBe(status);
      expect(JSON.parse(lean.body)).toMatchObject({ error });
    });
  }

  it('a subject token spent on one path is refused on the other: single use whichever path it reaches', async () => {
    const body = form({ subject_token: await partner.sign({}), subject_token_type: TYPE.jwt, resource: API });
    const first = await send(leanPort, body, { authorization: gateway() });
    const again = await send(leanPort, body, { authorization: gateway(), 'x-request-id': 'again-lean' });
    const viaKoa = await send(fullPort, body, { authorization: gateway(), 'x-request-id': 'again-lean' });
    expect(first.status).toBe(200);
    expect(again).toEqual(viaKoa);
    expect(JSON.parse(again.body)).toMatchObject({ error: 'invalid_request', error_description: 'subject_token was already exchanged' });
  });

  it('an actor token spent on one path is refused on the other, alike; the subject presented with it stays unspent', async () => {
    const actor = await partner.sign({ sub: 'robot' });
    const withActor = (subject: string) => form({ subject_token: subject, subject_token_type: TYPE.jwt, actor_token: actor, actor_token_type: TYPE.jwt, resource: API });
    const first = await send(leanPort, withActor(await partner.sign({})), { authorization: gateway() });
    expect(first.status).toBe(200);
    expect(decodeJwt(String(JSON.parse(first.body).access_token)).act).toEqual({ sub: 'robot', iss: PARTNER });
    const subject = await partner.sign({});
    const again = await send(leanPort, withActor(subject), { authorization: gateway(), 'x-request-id': 'again-actor' });
    const viaKoa = await send(fullPort, withActor(subject), { authorization: gateway(), 'x-request-id': 'again-actor' });
    expect(again).toEqual(viaKoa);
    expect(JSON.parse(again.body)).toEqual({ error: 'invalid_request', error_description: 'actor_token was already exchanged' });
    const fresh = form({ subject_token: subject, subject_token_type: TYPE.jwt, actor_token: await partner.sign({ sub: 'robot' }), actor_token_type: TYPE.jwt, resource: API });
    expect((await send(fullPort, fresh, { authorization: gateway() })).status).toBe(200);
  });

  it('concurrent requests with one subject token: exactly one is issued', async () => {
    const body = form({ subject_token: await partner.sign({}), subject_token_type: TYPE.jwt, resource: API });
    const answers = await Promise.all([leanPort, leanPort, fullPort, leanPort].map((port) => send(port, body, { authorization: gateway() })));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
  });

  it('storage down while the subject token is spent: 503 temporarily_unavailable with Retry-After on both', async () => {
    store.down = true;
    try {
      const { lean, koa } = await both(jwtSubject());
      expect(lean).toEqual(koa);
      expect(lean.status).toBe(503);
      expect(JSON.parse(lean.body)).toMatchObject({ error: 'temporarily_unavailable' });
      expect(lean.headers).toContainEqual(['Retry-After', '5']);
    } finally {
      store.down = false;
    }
  });
});
