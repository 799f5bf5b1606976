// The fan-out against real HTTP authorizers: the signed request (per-authorizer audience), true
// parallelism (a barrier no sequential caller could pass), who is called, pass-through scopes,
// claims namespacing, ownership and the decision log.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Authorizers, checkAuthorizerConfigs, type DecisionRequest } from '../../../src/orchestration/authorizers/index.ts';
import { authorizerConfig, barrier, captureLogger, createSigner, grantAll, ISSUER, memoryStore, startAuthorizer, testClock, type Signer, type TestAuthorizer } from './helpers.ts';

let signer: Signer;
const servers: TestAuthorizer[] = [];

beforeAll(async () => { signer = await createSigner(); });
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });

async function serve(audience: string, handler = grantAll): Promise<TestAuthorizer> {
  const server = await startAuthorizer(audience, signer.publicKey, handler);
  servers.push(server);
  return server;
}

function fanout(configs: Parameters<typeof authorizerConfig>[], log = captureLogger()) {
  const clock = testClock();
  return new Authorizers(configs.map((args) => authorizerConfig(...args)), { sign: signer.sign, store: memoryStore(clock.now), logger: log.logger, clock: clock.now });
}

const request = (scopes: string[], extra: Partial<DecisionRequest> = {}): DecisionRequest => ({
  subject: 'alice', clientId: 'web', grantType: 'authorization_code', scopes, claims: { email: 'alice@example.com' }, ...extra,
});

describe('the decision request', () => {
  it('carries a JWT for this authorizer (aud = id) and only the scopes of its namespace', async () => {
    const orders = await serve('orders');
    const authorizers = fanout([['orders', orders.url]]);
    const result = await authorizers.decide(request(['openid', 'orders:read', 'billing:pay', 'orders:write'], {
      resource: 'https://orders.api.test',
      upstream: { idp: 'entra', acr: 'mfa', amr: ['pwd', 'otp'], authTime: 1_900_000_000 },
    }));
    expect(result.scopes).toEqual(['openid', 'orders:read', 'billing:pay', 'orders:write']);
    expect(orders.calls).toHaveLength(1);
    const [{ body, jwt }] = orders.calls as [typeof orders.calls[number]];
    expect(body).toEqual({
      subject: 'alice', client_id: 'web', grant_type: 'authorization_code', resource: 'https://orders.api.test',
      scopes: ['orders:read', 'orders:write'],
      upstream: { idp: 'entra', acr: 'mfa', amr: ['pwd', 'otp'], auth_time: 1_900_000_000 },
      claims: { email: 'alice@example.com' },
    });
    expect(jwt).toMatchObject({ iss: ISSUER, aud: 'orders', sub: 'alice', client_id: 'web' });
    expect((jwt.exp ?? 0) - (jwt.iat ?? 0)).toBe(60);
    expect(typeof jwt.jti).toBe('string');
  });

  it('is refused by an authorizer expecting another audience (each gets its own JWT)', async () => {
    const billing = await serve('billing');
    // Baton believes this URL is the "orders" authorizer: the JWT says aud=orders, billing refuses it.
    const result = await fanout([['orders', billing.url]]).decide(request(['orders:read']));
    expect(billing.hits).toBe(1);
    expect(billing.calls).toHaveLength(0);
    expect(result.failed).toEqual({ authorizer: 'orders', reason: 'answered HTTP 401' });
    expect(result.scopes).toEqual([]);

    const direct = await fetch(billing.url, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await signer.sign('orders', { sub: 'alice' })}` }, body: '{}',
    });
    expect(direct.status).toBe(401);
    const right = await fetch(billing.url, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await signer.sign('billing', { sub: 'alice' })}` }, body: '{}',
    });
    expect(right.status).toBe(200);
  });
});

describe('parallelism', () => {
  it('asks all concerned authorizers at once: each answers only after all three were asked', async () => {
    const all = barrier(3);
    const waitForAll = (scope: string) => async () => { await all.arrive(); return { body: { decision: 'grant', scopes: [scope] } }; };
    const a = await serve('orders', waitForAll('orders:read'));
    const b = await serve('billing', waitForAll('billing:pay'));
    const c = await serve('stock', waitForAll('stock:view'));
    // A sequential caller would wait on `orders` forever: it would time out after 2 s and fail.
    const result = await fanout([['orders', a.url], ['billing', b.url], ['stock', c.url]])
      .decide(request(['orders:read', 'billing:pay', 'stock:view']));
    expect(result.failed).toBeUndefined();
    expect(result.traces.map((t) => [t.authorizer, t.outcome, t.granted])).toEqual([
      ['orders', 'granted', ['orders:read']], ['billing', 'granted', ['billing:pay']], ['stock', 'granted', ['stock:view']],
    ]);
    expect(result.scopes).toEqual(['orders:read', 'billing:pay', 'stock:view']);
    expect([a, b, c].map((s) => s.calls[0]?.jwt.aud)).toEqual(['orders', 'billing', 'stock']);
  });
});

describe('who is asked', () => {
  it('calls only the authorizers whose namespace is requested; other scopes pass through untouched, in order', async () => {
    const orders = await serve('orders', () => ({ body: { decision: 'grant', scopes: ['orders:read'] } }));
    const billing = await serve('billing');
    const authorizers = fanout([['orders', orders.url], ['billing', billing.url]]);
    expect(authorizers.concerns(['openid', 'profile'])).toBe(false);
    expect(authorizers.concerns(['openid', 'orders:read'])).toBe(true);

    const result = await authorizers.decide(request(['profile', 'orders:write', 'openid', 'orders:read', 'offline_access', 'profile']));
    expect(result.scopes).toEqual(['profile', 'openid', 'orders:read', 'offline_access']);
    expect(orders.calls).toHaveLength(1);
    expect(billing.hits).toBe(0);
    expect(result.traces).toHaveLength(1);
    expect(result.traces[0]).toMatchObject({ authorizer: 'orders', requested: ['orders:write', 'orders:read'], granted: ['orders:read'], outcome: 'granted', cached: false });
  });

  it('makes no call at all when no namespace is concerned', async () => {
    const orders = await serve('orders');
    const result = await fanout([['orders', orders.url]]).decide(request(['openid', 'email', 'ordersread']));
    expect(result).toEqual({ scopes: ['openid', 'email', 'ordersread'], claims: {}, traces: [] });
    expect(orders.hits).toBe(0);
  });

  it('gives a scope to the longest namespace that prefixes it', async () => {
    const orders = await serve('orders');
    const admin = await serve('orders-admin', () => ({ body: { decision: 'deny', reason: 'not an admin' } }));
    const result = await fanout([['orders', orders.url], ['orders-admin', admin.url, { namespace: 'orders:admin:' }]])
      .decide(request(['orders:read', 'orders:admin:refund']));
    expect(orders.calls[0]?.body.scopes).toEqual(['orders:read']);
    expect(admin.calls[0]?.body.scopes).toEqual(['orders:admin:refund']);
    expect(result.scopes).toEqual(['orders:read']);
    expect(result.traces[1]).toMatchObject({ authorizer: 'orders-admin', outcome: 'denied', reason: 'not an admin', granted: [] });
  });
});

describe('claims', () => {
  it('go under the id by default, under claimsNamespace when set, top-level for ""', async () => {
    const give = (claims: Record<string, unknown>) => () => ({ body: { decision: 'grant', claims } });
    const orders = await serve('orders', give({ region: 'eu', limits: { max: 500 } }));
    const billing = await serve('billing', give({ plan: 'gold' }));
    const flat = await serve('flat', give({ tenant: 't1' }));
    const result = await fanout([
      ['orders', orders.url], ['billing', billing.url, { claimsNamespace: 'https://billing.test/claims' }], ['flat', flat.url, { claimsNamespace: '' }],
    ]).decide(request(['orders:read', 'billing:pay', 'flat:x']));
    expect(result.claims).toEqual({ orders: { region: 'eu', limits: { max: 500 } }, 'https://billing.test/claims': { plan: 'gold' }, tenant: 't1' });
    expect(result.scopes).toEqual(['orders:read', 'billing:pay', 'flat:x']);
  });

  // Issue 12 item 10: a reserved claim at the top level was dropped and the rest used; it now makes
  // the whole answer invalid ("could not decide"), so a misbehaving authorizer grants nothing.
  it('top-level for "": an answer setting a reserved claim (sign-in claims and may_act included) could not decide', async () => {
    const reserved = { tenant: 't1', sub: 'mallory', scope: 'admin', client_id: 'x', act: { sub: 'y' }, cnf: {}, iss: 'evil', aud: 'a', exp: 1, iat: 1, nbf: 1, jti: 'j', acr: 'x', amr: ['x'], auth_time: 1, may_act: { sub: 'z' }, sid: 's', azp: 'p', nonce: 'n' };
    const flat = await serve('flat', () => ({ body: { decision: 'grant', claims: reserved } }));
    const log = captureLogger();
    const result = await fanout([['flat', flat.url, { claimsNamespace: '' }]], log).decide(request(['flat:x', 'openid']));
    expect(result.claims).toEqual({});
    expect(result.scopes).toEqual(['openid']);
    expect(result.failed?.authorizer).toBe('flat');
    expect(result.failed?.reason).toMatch(/^invalid answer: reserved claims sub, scope, client_id, act, cnf, iss, aud, exp, iat, nbf, jti, acr, amr, auth_time, may_act, sid, azp, nonce/);
    const flatLog = log.lines.find((l) => (l.trace as { authorizer?: string } | undefined)?.authorizer === 'flat');
    expect(flatLog).toMatchObject({ level: 'warn', event: 'authorizer.decision', trace: { outcome: 'failed' } });
  });

  it('are not added from a deny', async () => {
    const orders = await serve('orders', () => ({ body: { decision: 'deny', claims: { region: 'eu' } } }));
    const result = await fanout([['orders', orders.url]]).decide(request(['orders:read']));
    expect(result.claims).toEqual({});
  });
});

describe('configuration', () => {
  it('refuses duplicate ids and namespaces, http to a remote host and a reserved claims namespace', () => {
    const problems = checkAuthorizerConfigs([
      authorizerConfig('orders', 'https://a.test'),
      authorizerConfig('orders', 'https://b.test', { namespace: 'other:' }),
      authorizerConfig('billing', 'http://billing.internal', { namespace: 'orders:' }),
      authorizerConfig('act', 'https://c.test'),
      authorizerConfig('ok', 'https://d.test', { claimsNamespace: 'scope' }),
      authorizerConfig('delegate', 'https://e.test', { claimsNamespace: 'may_act' }),
      authorizerConfig('constructor', 'https://f.test', { namespace: 'ctor:' }),
    ]);
    expect(problems).toEqual([
      'authorizers[1].id: "orders" is also the id of authorizers[0]',
      'authorizers[2].namespace: "orders:" is also owned by authorizers[0]',
      'authorizers[2].url: must use https (http is only allowed for localhost)',
      'authorizers[3].claimsNamespace: "act" is a reserved claim; set another claimsNamespace',
      'authorizers[4].claimsNamespace: "scope" is a reserved claim; set another claimsNamespace',
      'authorizers[5].claimsNamespace: "may_act" is a reserved claim; set another claimsNamespace',
      'authorizers[6].claimsNamespace: "constructor" is not a safe claim name; set another claimsNamespace',
    ]);
    expect(() => fanout([['act', 'https://c.test']])).toThrow(/reserved claim/);
  });
});

describe('the decision log', () => {
  it('has one authorizer.decision event per authorizer with its trace, and never a JWT', async () => {
    const orders = await serve('orders');
    const billing = await serve('billing', () => ({ status: 503, body: 'down' }));
    const log = captureLogger();
    const result = await fanout([['orders', orders.url], ['billing', billing.url, { onFailure: 'ignore' }]], log)
      .decide(request(['orders:read', 'billing:pay'], { grantType: 'refresh_token' }));
    const events = log.lines.filter((l) => l.event === 'authorizer.decision');
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ level: 'info', sub: 'alice', client_id: 'web', grant_type: 'refresh_token', trace: result.traces[0] });
    expect(events[1]).toMatchObject({ level: 'warn', trace: { authorizer: 'billing', outcome: 'ignored', reason: 'answered HTTP 503' } });
    expect(signer.issued.length).toBeGreaterThanOrEqual(2);
    for (const line of log.raw) {
      expect(line).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
      for (const jwt of signer.issued) expect(line).not.toContain(jwt);
    }
  });
  it('sends the decisions that went as expected to the request logger (buffered in a server), failures to the main one', async () => {
    const orders = await serve('orders');
    const billing = await serve('billing', () => ({ status: 503, body: 'down' }));
    const main = captureLogger();
    const requests = captureLogger();
    const clock = testClock();
    const authorizers = new Authorizers([authorizerConfig('orders', orders.url), authorizerConfig('billing', billing.url, { onFailure: 'ignore' })], {
      sign: signer.sign, store: memoryStore(clock.now), logger: main.logger, requestLogger: requests.logger, clock: clock.now,
    });
    await authorizers.decide(request(['orders:read', 'billing:pay']));
    expect(requests.lines.filter((l) => l.event === 'authorizer.decision')).toMatchObject([{ level: 'info', trace: { authorizer: 'orders', outcome: 'granted' } }]);
    expect(main.lines.filter((l) => l.event === 'authorizer.decision')).toMatchObject([{ level: 'warn', trace: { authorizer: 'billing', outcome: 'ignored' } }]);
  });
  it('warns with the claims it could not place (dropped_claims), as the last member of the line', async () => {
    const first = await serve('first', () => ({ body: { decision: 'grant', claims: { tenant: 't1' } } }));
    const second = await serve('second', () => ({ body: { decision: 'grant', claims: { tenant: 't2', plan: 'gold' } } }));
    const log = captureLogger();
    const result = await fanout([['first', first.url, { claimsNamespace: '' }], ['second', second.url, { claimsNamespace: '' }]], log)
      .decide(request(['first:x', 'second:x']));
    expect(result.claims).toEqual({ tenant: 't1', plan: 'gold' });
    const lines = log.lines.filter((l) => l.event === 'authorizer.decision');
    expect(lines[0]).toMatchObject({ level: 'info', trace: { authorizer: 'first' } });
    expect(lines[0]).not.toHaveProperty('dropped_claims');
    expect(lines[1]).toMatchObject({ level: 'warn', trace: { authorizer: 'second' }, dropped_claims: ['tenant'] });
    expect(Object.keys(lines[1]!)).toEqual(['level', 'time', 'service', 'event', 'sub', 'client_id', 'grant_type', 'trace', 'dropped_claims', 'msg']);
  });
});
