// The request on the wire and the transport's edge cases, against a raw HTTP server that sees the
// exact bytes: the body serialized once per decision is byte for byte the documented one, the
// path's query survives, a refused answer keeps its connection, 1xx is skipped, the limit holds
// without a declared length, and the deadline covers a body that stops half-way.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Authorizers, type DecisionRequest } from '../../../src/orchestration/authorizers/index.ts';
import { MAX_ANSWER_BYTES, requestBodies, requestBody } from '../../../src/orchestration/authorizers/protocol.ts';
import { Events, type BatonEvent } from '../../../src/observability/events.ts';
import { authorizerConfig, captureLogger, createSigner, memoryStore, type Signer } from './helpers.ts';

interface Seen { method: string; url: string; headers: string[]; body: string; socket: number }
interface Raw { url: string; seen: Seen[]; connections: () => number; close: () => Promise<void> }

let signer: Signer;
const servers: Raw[] = [];
beforeAll(async () => { signer = await createSigner(); });
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });

/** A server that records every request as received (raw header list, body text, which socket) and answers with `reply`. */
async function rawServer(reply: (req: IncomingMessage, res: ServerResponse) => void, path = '/decide'): Promise<Raw> {
  const seen: Seen[] = [];
  const sockets = new WeakMap<object, number>();
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.rawHeaders, body: Buffer.concat(chunks).toString('utf8'), socket: sockets.get(req.socket) ?? -1 });
      reply(req, res);
    });
  });
  server.on('connection', (socket) => { connections += 1; sockets.set(socket, connections); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const raw: Raw = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    seen,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  servers.push(raw);
  return raw;
}

const grant = (_req: IncomingMessage, res: ServerResponse) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"decision":"grant"}'); };

function fanout(configs: ReturnType<typeof authorizerConfig>[], events?: Events) {
  return new Authorizers(configs, { sign: signer.sign, store: memoryStore(Date.now), logger: captureLogger().logger, ...(events ? { events } : {}) });
}

const full: DecisionRequest = {
  subject: 'entra:tenant:5d1f', clientId: 'orders-web', grantType: 'authorization_code', resource: 'https://orders.api.example',
  scopes: ['openid', 'orders:read', 'billing:pay', 'orders:write'],
  upstream: { idp: 'entra', acr: 'mfa', amr: ['pwd', 'otp'], authTime: 1_767_225_600 },
  claims: { email: 'zoë@example.com', groups: ['staff', '"quoted"'], nested: { a: [1, null, true] } },
};

describe('the request body, serialized once per decision', () => {
  const cases: [string, DecisionRequest][] = [
    ['everything', full],
    ['no resource, no upstream, no claims', { subject: 's', clientId: 'c', grantType: 'client_credentials', scopes: ['x:y'], claims: {} }],
    ['an upstream without acr, amr or auth_time', { ...full, upstream: { idp: 'github' } }],
    ['a resource but no upstream', { ...full, upstream: undefined }],
    // Not what the types allow, but what a JavaScript caller could pass: still the same bytes.
    ['no subject, no claims', { clientId: 'c', grantType: 'client_credentials', scopes: [] } as unknown as DecisionRequest],
  ];
  it.each(cases)('is byte for byte JSON.stringify(requestBody()): %s', (_name, request) => {
    const bodies = requestBodies(request);
    for (const scopes of [[], ['orders:read'], ['orders:read', 'orders:write'], ['é"\\']]) {
      expect(bodies(scopes)).toBe(JSON.stringify(requestBody(request, scopes)));
    }
  });

  it('reaches each authorizer as documented: POST, the path and query of its URL, three headers in order, its own scopes', async () => {
    const orders = await rawServer(grant, '/decide?tenant=eu&v=2');
    const billing = await rawServer(grant);
    const result = await fanout([authorizerConfig('orders', orders.url), authorizerConfig('billing', billing.url)]).decide(full);
    expect(result.failed).toBeUndefined();
    for (const [server, scopes] of [[orders, ['orders:read', 'orders:write']], [billing, ['billing:pay']]] as const) {
      expect(server.seen).toHaveLength(1);
      const [seen] = server.seen as [Seen];
      expect(seen.method).toBe('POST');
      expect(seen.url).toBe(new URL(server.url).pathname + new URL(server.url).search);
      expect(seen.body).toBe(JSON.stringify(requestBody(full, scopes)));
      const names = seen.headers.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
      expect(names).toContain('host');
      const header = (name: string) => seen.headers[seen.headers.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name) + 1];
      expect(header('content-type')).toBe('application/json');
      expect(header('accept')).toBe('application/json');
      expect(header('authorization')).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      expect(header('content-length')).toBe(String(Buffer.byteLength(seen.body)));
      expect(names.filter((name) => ['content-type', 'accept', 'authorization'].includes(name))).toEqual(['content-type', 'accept', 'authorization']);
    }
    expect(orders.url).toContain('?tenant=eu&v=2');
  });
});

describe('the transport', () => {
  it('drains a refused answer and reuses its connection for the next call', async () => {
    let status = 503;
    const orders = await rawServer((_req, res) => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'x'.repeat(10_000) })); });
    const authorizers = fanout([authorizerConfig('orders', orders.url)]);
    expect((await authorizers.decide({ ...full, scopes: ['orders:read'] })).failed).toEqual({ authorizer: 'orders', reason: 'answered HTTP 503' });
    status = 200;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await authorizers.decide({ ...full, scopes: ['orders:read'] });
    expect(second.failed).toEqual({ authorizer: 'orders', reason: 'invalid answer: "decision" must be "grant" or "deny"' });
    expect(orders.seen.map((seen) => seen.socket)).toEqual([1, 1]);
    expect(orders.connections()).toBe(1);
  });

  it('fails a refused answer at its headers, and drops its connection when the body runs past the limit or the deadline', async () => {
    let closed = 0;
    let stall = false;
    const orders = await rawServer((req, res) => {
      req.socket.once('close', () => { closed += 1; });
      res.writeHead(503, { 'content-type': 'application/json' });
      if (stall) { res.write('{"error":'); return; }
      res.end('x'.repeat(MAX_ANSWER_BYTES + 10));
    });
    const authorizers = fanout([authorizerConfig('orders', orders.url, { timeout: 1 })]);
    expect((await authorizers.decide({ ...full, scopes: ['orders:read'] })).failed).toEqual({ authorizer: 'orders', reason: 'answered HTTP 503' });
    await expect.poll(() => closed).toBe(1);
    stall = true;
    const started = Date.now();
    expect((await authorizers.decide({ ...full, scopes: ['orders:read'] })).failed).toEqual({ authorizer: 'orders', reason: 'answered HTTP 503' });
    expect(Date.now() - started).toBeLessThan(900); // not held until the deadline
    // The stalled body is dropped at the deadline, not left holding a connection.
    await expect.poll(() => closed, { timeout: 3_000 }).toBe(2);
    expect(new Set(orders.seen.map((seen) => seen.socket)).size).toBe(2);
  });

  it('skips an informational 1xx answer and reads the 200 after it', async () => {
    const orders = await rawServer((_req, res) => { res.writeProcessing(); grant(_req, res); });
    const result = await fanout([authorizerConfig('orders', orders.url)]).decide({ ...full, scopes: ['orders:read'] });
    expect(result.failed).toBeUndefined();
    expect(result.scopes).toEqual(['orders:read']);
  });

  it('refuses a chunked 200 answer growing past the limit, with no declared length', async () => {
    const orders = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"decision":"grant","claims":{"blob":"');
      const chunk = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 5; i += 1) res.write(chunk);
      res.end('"}}');
    });
    const result = await fanout([authorizerConfig('orders', orders.url)]).decide({ ...full, scopes: ['orders:read'] });
    expect(result.failed).toEqual({ authorizer: 'orders', reason: `invalid answer: larger than ${MAX_ANSWER_BYTES} bytes` });
  });

  it('refuses a declared length over the limit before reading it', async () => {
    const orders = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_ANSWER_BYTES + 1) });
      res.write('{"decision":"grant"');
    });
    const result = await fanout([authorizerConfig('orders', orders.url)]).decide({ ...full, scopes: ['orders:read'] });
    expect(result.failed).toEqual({ authorizer: 'orders', reason: `invalid answer: larger than ${MAX_ANSWER_BYTES} bytes` });
  });

  it('holds the deadline over a body that stops half-way', async () => {
    const orders = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"decision":');
    });
    const started = Date.now();
    const result = await fanout([authorizerConfig('orders', orders.url, { timeout: 0.3 })]).decide({ ...full, scopes: ['orders:read'] });
    expect(result.failed).toEqual({ authorizer: 'orders', reason: 'no answer within 0.3s' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('refuses bytes that are not UTF-8', async () => {
    const orders = await rawServer((_req, res) => { res.writeHead(200).end(Buffer.from([0x7b, 0xff, 0x7d])); });
    const result = await fanout([authorizerConfig('orders', orders.url)]).decide({ ...full, scopes: ['orders:read'] });
    expect(result.failed).toEqual({ authorizer: 'orders', reason: 'invalid answer: not UTF-8' });
  });
});

describe('the authorizer.decision event', () => {
  it('reaches its subscribers with every field, once per authorizer', async () => {
    const orders = await rawServer(grant);
    const events = new Events();
    const received: BatonEvent[] = [];
    events.subscribe((event) => received.push(event), ['authorizer.decision']);
    const result = await fanout([authorizerConfig('orders', orders.url)], events).decide({ ...full, scopes: ['openid', 'orders:read'] });
    expect(received).toEqual([{
      type: 'authorizer.decision', authorizer: 'orders', sub: full.subject, clientId: full.clientId, grantType: full.grantType, resource: full.resource,
      outcome: 'granted', requested: ['orders:read'], granted: ['orders:read'], cached: false, latencyMs: result.traces[0]!.latencyMs,
    }]);
  });

  it('keeps its members in one order, resource and reason only when set', async () => {
    const orders = await rawServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"decision":"deny","reason":"not today"}'); });
    const events = new Events();
    const received: BatonEvent[] = [];
    events.subscribe((event) => received.push(event), ['authorizer.decision']);
    const authorizers = fanout([authorizerConfig('orders', orders.url)], events);
    await authorizers.decide({ ...full, scopes: ['orders:read'] });
    const { resource: _resource, ...withoutResource } = full;
    await authorizers.decide({ ...withoutResource, scopes: ['orders:read'] });
    expect(received.map((event) => Object.keys(event))).toEqual([
      ['type', 'authorizer', 'sub', 'clientId', 'grantType', 'resource', 'outcome', 'requested', 'granted', 'cached', 'latencyMs', 'reason'],
      ['type', 'authorizer', 'sub', 'clientId', 'grantType', 'outcome', 'requested', 'granted', 'cached', 'latencyMs', 'reason'],
    ]);
    expect(received[0]).toMatchObject({ resource: full.resource, outcome: 'denied', granted: [], reason: 'not today' });
  });

  it('is not built when nobody subscribes to it', async () => {
    const orders = await rawServer(grant);
    const events = new Events();
    const others: BatonEvent[] = [];
    events.subscribe((event) => others.push(event), ['token.issued']);
    let emitted = 0;
    const emit = events.emit.bind(events);
    events.emit = ((...args: Parameters<typeof emit>) => { emitted += 1; emit(...args); }) as typeof events.emit;
    const result = await fanout([authorizerConfig('orders', orders.url)], events).decide({ ...full, scopes: ['orders:read'] });
    expect(result.scopes).toEqual(['orders:read']);
    expect(emitted).toBe(0);
    expect(others).toEqual([]);
  });
});
