// The lean token path (src/http/lean-token.ts) against the full Koa pipeline of the same provider:
// the same request to both answers with the same status, headers (in order) and body, successes
// and every error alike; events, metrics, the access log line and the decision trace are recorded
// once; an authorizer is asked once per request even when the lean path hands the request over.
import { createServer, type Server } from 'node:http';

import { decodeJwt, decodeProtectedHeader } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TraceRecorder } from '../../src/explain/recorder.ts';
import type { DecisionTrace } from '../../src/explain/trace.ts';
import { BILLING_API, ORDERS_API, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic } from '../helpers/rp.ts';
import { switchableStore } from '../helpers/failing-store.ts';
import { fullPipeline, sendForm as send, type Answer } from '../helpers/two-paths.ts';

const OPAQUE_API = 'https://opaque.api.example';
const authorizer = { down: false, asked: 0 };
const store = { down: false };
const accessLines: Array<Record<string, unknown>> = [];
const issued: Array<Record<string, unknown>> = [];
const traces: DecisionTrace[] = [];
let authorizerServer: Server;
let full: { port: number; close(): Promise<void> };
let baton: RunningBaton;
let leanPort: number;
let fullPort: number;

const failingStore = () => switchableStore(store);

beforeAll(async () => {
  authorizerServer = createServer((req, res) => {
    req.resume().on('end', () => {
      authorizer.asked += 1;
      if (authorizer.down) res.writeHead(500).end('{}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: 'grant', claims: { tier: 'gold' } }));
    });
  });
  await new Promise<void>((resolve) => authorizerServer.listen(0, '127.0.0.1', resolve));
  const accessLogger = pino({ level: 'info' }, { write: (line: string) => accessLines.push(JSON.parse(line) as Record<string, unknown>) });
  baton = await startBaton({
    ...standardConfig,
    metrics: { enabled: true },
    resources: [...standardConfig.resources, { id: OPAQUE_API, scopes: ['opaque:read'], accessTokenFormat: 'opaque' }],
    authorizers: [{ id: 'orders', url: `http://127.0.0.1:${(authorizerServer.address() as { port: number }).port}/decide`, namespace: 'orders:', cacheTTL: 0 }],
    clients: [
      ...standardConfig.clients.map((c) => (c.client_id === 'service' ? { ...c, resources: [...c.resources, { id: OPAQUE_API }] } : c)),
    ],
  }, {
    accessLogger,
    store: failingStore(),
    traces: { start: (id, at) => new TraceRecorder(id, at), finish: (recorder) => traces.push(recorder.toTrace()) },
  });
  baton.baton.events.subscribe((event) => { if (event.type === 'token.issued') issued.push(event as unknown as Record<string, unknown>); });
  leanPort = Number(new URL(baton.url).port);
  // The full pipeline of the same provider (same keys, clients, store), on a second listener.
  full = await fullPipeline(baton);
  fullPort = full.port;
});

afterAll(async () => {
  await baton?.stop();
  await full?.close();
  await new Promise((resolve) => authorizerServer?.close(resolve));
});

let seq = 0;
/** The same request to both paths, with the same request id. */
async function both(body: string, headers: Record<string, string> = {}): Promise<{ lean: Answer; koa: Answer }> {
  const id = `lean-test-${(seq += 1)}`;
  const lean = await send(leanPort, body, { 'x-request-id': id, ...headers });
  const koa = await send(fullPort, body, { 'x-request-id': id, ...headers });
  return { lean, koa };
}

const service = () => basic('service', TEST_ENV.SERVICE_SECRET);
const orders = encodeURIComponent(ORDERS_API);

/** Two token responses alike but for what differs per token (jti, iat, exp: their difference must match). */
function expectSameTokenResponse(lean: Answer, koa: Answer): void {
  expect(lean.status).toBe(200);
  expect(lean.status).toBe(koa.status);
  const a = JSON.parse(lean.body) as Record<string, unknown>;
  const b = JSON.parse(koa.body) as Record<string, unknown>;
  expect(Object.keys(a)).toEqual(Object.keys(b));
  expect({ ...a, access_token: undefined }).toEqual({ ...b, access_token: undefined });
  expect(lean.headers.filter(([n]) => n !== 'Content-Length')).toEqual(koa.headers.filter(([n]) => n !== 'Content-Length'));
  const [ta, tb] = [String(a.access_token), String(b.access_token)];
  if (ta.includes('.')) {
    expect(decodeProtectedHeader(ta)).toEqual(decodeProtectedHeader(tb));
    const [pa, pb] = [decodeJwt(ta), decodeJwt(tb)];
    expect(Object.keys(pa)).toEqual(Object.keys(pb));
    expect({ ...pa, jti: 0, iat: 0, exp: 0 }).toEqual({ ...pb, jti: 0, iat: 0, exp: 0 });
    expect(pa.exp! - pa.iat!).toBe(pb.exp! - pb.iat!);
    expect(pa.jti).not.toBe(pb.jti);
  } else {
    expect(ta.length).toBe(tb.length);
  }
}

describe('the lean path issues what the full pipeline issues', () => {
  it('client_secret_basic, a resource and a scope the authorizer decides', async () => {
    const before = { asked: authorizer.asked, traces: traces.length };
    const { lean, koa } = await both(`grant_type=client_credentials&resource=${orders}&scope=orders:read`, { authorization: service() });
    expectSameTokenResponse(lean, koa);
    expect(decodeJwt(JSON.parse(lean.body).access_token as string)).toMatchObject({ orders: { tier: 'gold' }, scope: 'orders:read', sub: 'service', aud: ORDERS_API });
    expect(authorizer.asked - before.asked).toBe(2);
    // Only the lean path finishes traces here: the first request went the lean way.
    expect(traces.length - before.traces).toBe(1);
  });

  it('client_secret_post without a resource (the client\'s only one), openid-client\'s content type', async () => {
    const { lean, koa } = await both(`grant_type=client_credentials&client_id=single-api-service&client_secret=${TEST_ENV.SERVICE_SECRET}`, { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' });
    expectSameTokenResponse(lean, koa);
  });

  it('another resource with its own signing algorithm, and an opaque resource', async () => {
    expectSameTokenResponse(...Object.values(await both(`grant_type=client_credentials&resource=${encodeURIComponent(BILLING_API)}&scope=billing:read`, { authorization: service() })) as [Answer, Answer]);
    const { lean, koa } = await both(`grant_type=client_credentials&resource=${encodeURIComponent(OPAQUE_API)}&scope=opaque:read`, { authorization: service() });
    expectSameTokenResponse(lean, koa);
  });

  it('emits token.issued, counts the metric and writes the access log line as the full pipeline does', async () => {
    const metric = async () => {
      const text = await (await fetch(`${baton.url}/metrics`)).text();
      return Number(/baton_token_requests_total\{grant_type="client_credentials",client_id="service",result="issued"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const [count, events, lines] = [await metric(), issued.length, accessLines.length];
    const { lean, koa } = await both(`grant_type=client_credentials&resource=${orders}&scope=orders:read`, { authorization: service() });
    expectSameTokenResponse(lean, koa);
    expect(await metric()).toBe(count + 2);
    const [a, b] = issued.slice(events) as Array<{ tokens: unknown; reqId: string }>;
    expect(issued.length).toBe(events + 2);
    expect({ ...a, tokens: undefined }).toEqual({ ...b, tokens: undefined });
    expect(a!.tokens).toEqual({ access: expect.stringMatching(/^sha256:/) });
    const logged = accessLines.slice(lines).filter((l) => l.msg === 'request' && l.path === '/token');
    expect(logged).toHaveLength(2);
    expect(Object.keys(logged[0]!)).toEqual(Object.keys(logged[1]!));
    expect({ ...logged[0], ms: 0, time: 0 }).toEqual({ ...logged[1], ms: 0, time: 0 });
    expect(JSON.stringify(logged)).not.toContain(TEST_ENV.SERVICE_SECRET);
  });

  it('records the request and identity in the decision trace, without the secret or the token', async () => {
    const before = traces.length;
    const { lean } = await both(`grant_type=client_credentials&resource=${orders}&scope=orders:read`, { authorization: service() });
    expect(lean.status).toBe(200);
    const trace = traces[before]!;
    expect(trace.request).toEqual({ endpoint: 'token', clientId: 'service', grantType: 'client_credentials', resources: [ORDERS_API], scopes: ['orders:read'] });
    expect(trace.identity).toEqual({ sub: 'service', claims: {} });
    expect(trace.result.outcome).toBe('issued');
    expect(JSON.stringify(trace)).not.toContain(TEST_ENV.SERVICE_SECRET);
    expect(JSON.stringify(trace)).not.toContain(JSON.parse(lean.body).access_token as string);
  });
});

describe('every error is the full pipeline\'s own', () => {
  const cases: Array<[string, string, Record<string, string>, number, string]> = [
    ['no client authentication', 'grant_type=client_credentials', {}, 400, 'invalid_request'],
    ['a wrong secret (WWW-Authenticate)', 'grant_type=client_credentials', { authorization: basic('service', 'wrong-secret-0123456789') }, 401, 'invalid_client'],
    ['an unknown client', 'grant_type=client_credentials', { authorization: basic('nobody', 'whatever-0123456789') }, 401, 'invalid_client'],
    ['a secret in the body and the header', `grant_type=client_credentials&client_secret=${TEST_ENV.SERVICE_SECRET}`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) }, 400, 'invalid_request'],
    ['a client without the grant', 'grant_type=client_credentials', { authorization: basic('web', TEST_ENV.WEB_SECRET) }, 400, 'unauthorized_client'],
    ['a scope outside the client\'s', `grant_type=client_credentials&resource=${orders}&scope=orders:write`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) }, 400, 'invalid_scope'],
    ['an OpenID scope', `grant_type=client_credentials&resource=${orders}&scope=openid`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) }, 400, 'invalid_scope'],
    ['an unknown resource', `grant_type=client_credentials&resource=${encodeURIComponent('https://unknown.example')}`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) }, 400, 'invalid_target'],
    ['two resources', `grant_type=client_credentials&resource=${orders}&resource=${encodeURIComponent(BILLING_API)}`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) }, 400, 'invalid_target'],
    ['a repeated grant_type', 'grant_type=client_credentials&grant_type=client_credentials', { authorization: basic('service', TEST_ENV.SERVICE_SECRET) }, 400, 'invalid_request'],
    ['a malformed scope', `grant_type=client_credentials&resource=${orders}&scope=orders:read%20%20x`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) }, 400, 'invalid_scope'],
    ['a JSON body', '{"grant_type":"client_credentials"}', { authorization: basic('service', TEST_ENV.SERVICE_SECRET), 'content-type': 'application/json' }, 400, 'invalid_request'],
    ['a body over 56 KiB', `grant_type=client_credentials&pad=${'x'.repeat(60 * 1024)}`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) }, 400, 'invalid_request'],
    ['a malformed Authorization header', 'grant_type=client_credentials', { authorization: 'Basic !!!' }, 400, 'invalid_request'],
    ['an unsupported grant', 'grant_type=urn:example:nope', { authorization: basic('service', TEST_ENV.SERVICE_SECRET) }, 400, 'unsupported_grant_type'],
  ];
  for (const [name, body, headers, status, error] of cases) {
    it(`${name}: ${status} ${error}`, async () => {
      const before = traces.length;
      const { lean, koa } = await both(body, headers);
      expect(lean).toEqual(koa);
      expect(lean.status).toBe(status);
      expect(JSON.parse(lean.body)).toMatchObject({ error });
      expect(traces.length).toBe(before);
    });
  }

  it('a wrong secret answers with WWW-Authenticate on both paths', async () => {
    const { lean } = await both('grant_type=client_credentials', { authorization: basic('service', 'wrong-secret-0123456789') });
    expect(lean.headers.find(([n]) => n.toLowerCase() === 'www-authenticate')?.[1]).toMatch(/^Basic realm=/);
  });

  it('an authorizer that is down: 503 temporarily_unavailable, the authorizer asked once per request', async () => {
    authorizer.down = true;
    try {
      const asked = authorizer.asked;
      const { lean, koa } = await both(`grant_type=client_credentials&resource=${orders}&scope=orders:read`, { authorization: service() });
      expect(lean).toEqual(koa);
      expect(lean.status).toBe(503);
      expect(JSON.parse(lean.body)).toMatchObject({ error: 'temporarily_unavailable' });
      expect(authorizer.asked - asked).toBe(2);
    } finally {
      authorizer.down = false;
    }
  });

  it('storage down while an opaque token is stored: 503 temporarily_unavailable with Retry-After', async () => {
    store.down = true;
    try {
      const { lean, koa } = await both(`grant_type=client_credentials&resource=${encodeURIComponent(OPAQUE_API)}&scope=opaque:read`, { authorization: service() });
      expect(lean).toEqual(koa);
      expect(lean.status).toBe(503);
      expect(JSON.parse(lean.body)).toMatchObject({ error: 'temporarily_unavailable' });
      expect(lean.headers).toContainEqual(['Retry-After', '5']);
    } finally {
      store.down = false;
    }
  });
});
