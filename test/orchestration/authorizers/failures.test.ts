// Every way an authorizer can fail or misbehave, under both failure policies, with the exact
// outcome; and the invariant behind all of them: the fan-out never widens the request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AuthorizerConfig } from '../../../src/config/orchestration.ts';
import { Authorizers, type DecisionRequest, type FanoutResult } from '../../../src/orchestration/authorizers/index.ts';
import { authorizerConfig, captureLogger, createSigner, freePortUrl, memoryStore, startAuthorizer, testClock, type Handler, type Reply, type Signer, type TestAuthorizer } from './helpers.ts';

const REQUESTED = ['openid', 'orders:read', 'orders:write', 'billing:pay'];
const never = () => new Promise<Reply>(() => undefined);

interface Case {
  name: string;
  reply?: Handler;
  /** Set when the case is a failure: the reason it reports. */
  failure?: string;
  /** Otherwise: what `orders` ends up granting, and its trace. */
  granted?: string[];
  trace?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

const CASES: Case[] = [
  { name: 'HTTP 500', reply: () => ({ status: 500, body: { decision: 'grant' } }), failure: 'answered HTTP 500' },
  { name: 'redirect (not followed)', reply: () => ({ status: 307, body: { decision: 'grant' } }), failure: 'answered HTTP 307' },
  { name: 'HTTP 403', reply: () => ({ status: 403, body: { decision: 'grant' } }), failure: 'answered HTTP 403' },
  { name: 'timeout', reply: never, failure: 'no answer within 0.3s' },
  { name: 'unreachable', failure: 'unreachable (ECONNREFUSED)' },
  { name: 'invalid JSON', reply: () => ({ body: '{"decision": "grant",' }), failure: 'invalid answer: not JSON' },
  { name: 'empty body', reply: () => ({ body: '' }), failure: 'invalid answer: not JSON' },
  { name: 'JSON array', reply: () => ({ body: ['orders:read'] }), failure: 'invalid answer: not a JSON object' },
  { name: 'unknown decision', reply: () => ({ body: { decision: 'allow' } }), failure: 'invalid answer: "decision" must be "grant" or "deny"' },
  { name: 'scopes as a string', reply: () => ({ body: { decision: 'grant', scopes: 'orders:read' } }), failure: 'invalid answer: "scopes" must be an array of strings' },
  { name: 'scopes with a number', reply: () => ({ body: { decision: 'grant', scopes: ['orders:read', 1] } }), failure: 'invalid answer: "scopes" must be an array of strings' },
  { name: 'claims as an array', reply: () => ({ body: { decision: 'grant', claims: ['admin'] } }), failure: 'invalid answer: "claims" must be a JSON object' },
  { name: 'claims null', reply: () => ({ body: { decision: 'grant', claims: null } }), failure: 'invalid answer: "claims" must be a JSON object' },
  { name: 'reason not a string', reply: () => ({ body: { decision: 'deny', reason: 42 } }), failure: 'invalid answer: "reason" must be a string' },
  { name: 'too large', reply: () => ({ body: { decision: 'grant', claims: { blob: 'x'.repeat(300_000) } } }), failure: 'invalid answer: larger than 262144 bytes' },
  {
    name: 'out-of-namespace and unrequested scopes',
    reply: () => ({ body: { decision: 'grant', scopes: ['orders:read', 'billing:pay', 'admin', 'orders:delete'], claims: { region: 'eu' } } }),
    granted: ['orders:read'],
    trace: { outcome: 'granted', granted: ['orders:read'], dropped: ['billing:pay', 'admin', 'orders:delete'] },
    claims: { region: 'eu' },
  },
  {
    name: 'explicit deny',
    reply: () => ({ body: { decision: 'deny', scopes: ['orders:read'], reason: 'account suspended' } }),
    granted: [],
    trace: { outcome: 'denied', granted: [], reason: 'account suspended' },
  },
  { name: 'narrowing grant', reply: () => ({ body: { decision: 'grant', scopes: ['orders:read'] } }), granted: ['orders:read'], trace: { outcome: 'granted', granted: ['orders:read'] } },
  { name: 'grant of all (scopes omitted)', reply: () => ({ body: { decision: 'grant' } }), granted: ['orders:read', 'orders:write'], trace: { outcome: 'granted', granted: ['orders:read', 'orders:write'] } },
];

let signer: Signer;
let billing: TestAuthorizer;
let orders: TestAuthorizer;
let closedUrl: string;
const results: { name: string; policy: string; request: DecisionRequest; result: FanoutResult }[] = [];

beforeAll(async () => {
  signer = await createSigner();
  // The healthy neighbour also tries to grant outside its namespace: it can never add orders:write.
  billing = await startAuthorizer('billing', signer.publicKey, () => ({ body: { decision: 'grant', scopes: ['billing:pay', 'orders:write'], claims: { plan: 'gold' } } }));
  orders = await startAuthorizer('orders', signer.publicKey, () => ({ body: { decision: 'grant' } }));
  closedUrl = await freePortUrl();
});
afterAll(async () => { await Promise.all([billing.close(), orders.close()]); });

async function run(testCase: Case, onFailure: AuthorizerConfig['onFailure']): Promise<FanoutResult> {
  if (testCase.reply) orders.handler = testCase.reply;
  const clock = testClock();
  const authorizers = new Authorizers([
    authorizerConfig('orders', testCase.reply ? orders.url : closedUrl, { onFailure, timeout: 0.3, cacheTTL: 30 }),
    authorizerConfig('billing', billing.url, { cacheTTL: 30 }),
  ], { sign: signer.sign, store: memoryStore(clock.now), logger: captureLogger().logger, clock: clock.now });
  const request: DecisionRequest = { subject: 'alice', clientId: 'web', grantType: 'authorization_code', scopes: REQUESTED, claims: {} };
  const result = await authorizers.decide(request);
  results.push({ name: testCase.name, policy: onFailure, request, result });
  return result;
}

describe.each(['deny', 'ignore'] as const)('onFailure: %s', (policy) => {
  it.each(CASES)('$name', async (testCase) => {
    const result = await run(testCase, policy);
    const billingTrace = { authorizer: 'billing', requested: ['billing:pay'], granted: ['billing:pay'], outcome: 'granted', cached: false, dropped: ['orders:write'] };
    expect(result.traces[1]).toEqual({ ...billingTrace, latencyMs: expect.any(Number) });
    if (testCase.failure) {
      expect(result.scopes).toEqual(['openid', 'billing:pay']);
      expect(result.claims).toEqual({ billing: { plan: 'gold' } });
      expect(result.traces[0]).toEqual({
        authorizer: 'orders', requested: ['orders:read', 'orders:write'], granted: [], outcome: policy === 'deny' ? 'failed' : 'ignored',
        cached: false, latencyMs: expect.any(Number), reason: testCase.failure,
      });
      if (policy === 'deny') expect(result.failed).toEqual({ authorizer: 'orders', reason: testCase.failure });
      else expect(result.failed).toBeUndefined();
    } else {
      expect(result.failed).toBeUndefined();
      expect(result.scopes).toEqual(['openid', ...(testCase.granted ?? []), 'billing:pay']);
      expect(result.claims).toEqual({ ...(testCase.claims ? { orders: testCase.claims } : {}), billing: { plan: 'gold' } });
      expect(result.traces[0]).toEqual({ authorizer: 'orders', requested: ['orders:read', 'orders:write'], cached: false, latencyMs: expect.any(Number), ...testCase.trace });
    }
  });
});

describe('never widening', () => {
  it('every result above is a subset of the request, and a failed namespace contributes nothing', () => {
    expect(results).toHaveLength(CASES.length * 2);
    for (const { request, result } of results) {
      expect(result.scopes.every((scope) => request.scopes.includes(scope))).toBe(true);
      for (const trace of result.traces) {
        if (trace.outcome === 'failed' || trace.outcome === 'ignored') expect(result.scopes.some((s) => s.startsWith(`${trace.authorizer}:`))).toBe(false);
        expect(trace.granted.every((scope) => trace.requested.includes(scope))).toBe(true);
      }
    }
  });

  it('holds for random requests and random answers', async () => {
    let seed = 7;
    const random = () => { seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31; return seed / 2 ** 31; };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const universe = ['openid', 'profile', 'orders:read', 'orders:write', 'orders:', 'billing:pay', 'billing:refund', 'admin', 'orders:read:all'];
    const answers: Reply[] = [
      { status: 500, body: {} }, { body: 'nope' }, { body: { decision: 'deny' } }, { body: { decision: 'grant' } },
      { body: { decision: 'grant', scopes: universe } }, { body: { decision: 'grant', scopes: [] } }, { body: { decision: 'grant', scopes: ['admin'] } },
      { body: { decision: 'grant', scopes: ['orders:write', 'billing:refund'] } }, { body: { decision: 'maybe', scopes: universe } },
    ];
    const store = memoryStore(Date.now);
    for (let i = 0; i < 60; i += 1) {
      const ordersReply = pick(answers);
      const billingReply = pick(answers);
      orders.handler = () => ordersReply;
      billing.handler = () => billingReply;
      const scopes = universe.filter(() => random() < 0.5);
      const policy = pick(['deny', 'ignore'] as const);
      const authorizers = new Authorizers([
        authorizerConfig('orders', orders.url, { onFailure: policy }), authorizerConfig('billing', billing.url, { onFailure: policy }),
      ], { sign: signer.sign, store, logger: captureLogger().logger });
      const result = await authorizers.decide({ subject: 'u', clientId: 'c', grantType: 'client_credentials', scopes, claims: {} });
      expect(result.scopes.every((scope) => scopes.includes(scope))).toBe(true);
      for (const scope of result.scopes.filter((s) => s.startsWith('orders:') || s.startsWith('billing:'))) {
        const reply = (scope.startsWith('orders:') ? ordersReply : billingReply);
        const body = reply.body as { decision?: string; scopes?: string[] };
        expect(reply.status ?? 200).toBe(200);
        expect(body.decision).toBe('grant');
        if (body.scopes) expect(body.scopes).toContain(scope);
      }
    }
    billing.handler = () => ({ body: { decision: 'grant', scopes: ['billing:pay', 'orders:write'], claims: { plan: 'gold' } } });
  });
});

describe('a signer that fails', () => {
  it('is a failure of that authorizer: no call, nothing granted', async () => {
    const before = orders.hits;
    orders.handler = () => ({ body: { decision: 'grant' } });
    const authorizers = new Authorizers([authorizerConfig('orders', orders.url)], {
      sign: async () => { throw new Error('no current ES256 signing key'); }, store: memoryStore(Date.now), logger: captureLogger().logger,
    });
    const result = await authorizers.decide({ subject: 'alice', clientId: 'web', grantType: 'authorization_code', scopes: ['openid', 'orders:read'], claims: {} });
    expect(result.scopes).toEqual(['openid']);
    expect(result.failed).toEqual({ authorizer: 'orders', reason: 'could not sign the request JWT' });
    expect(orders.hits).toBe(before);
  });
});
