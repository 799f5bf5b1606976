// The decision cache: a repeated decision makes no HTTP call (counted server-side) until the TTL
// passes on the injected clock; other scopes, subjects or sign-in contexts are decided anew;
// failures are never cached.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Authorizers, DECISION_KIND, cacheKey, type DecisionRequest } from '../../../src/orchestration/authorizers/index.ts';
import { authorizerConfig, captureLogger, createSigner, grantAll, memoryStore, startAuthorizer, testClock, type Handler, type Signer, type TestAuthorizer } from './helpers.ts';

let signer: Signer;
let server: TestAuthorizer | undefined;

beforeAll(async () => { signer = await createSigner(); });
afterEach(async () => { await server?.close(); server = undefined; });

async function setup(handler: Handler = grantAll, cacheTTL = 30) {
  server = await startAuthorizer('orders', signer.publicKey, handler);
  const clock = testClock();
  const log = captureLogger();
  const authorizers = new Authorizers([authorizerConfig('orders', server.url, { cacheTTL })], {
    sign: signer.sign, store: memoryStore(clock.now), logger: log.logger, clock: clock.now,
  });
  return { server, clock, log, authorizers };
}

const request = (scopes: string[], extra: Partial<DecisionRequest> = {}): DecisionRequest => ({
  subject: 'alice', clientId: 'web', grantType: 'authorization_code', resource: 'https://orders.api.test', scopes, claims: {},
  upstream: { idp: 'entra', acr: 'mfa', amr: ['pwd', 'otp'] }, ...extra,
});

describe('decision cache', () => {
  it('answers an identical request from the cache, without an HTTP call, until the TTL passes', async () => {
    const { server, clock, log, authorizers } = await setup(() => ({ body: { decision: 'grant', scopes: ['orders:read'], claims: { region: 'eu' } } }));
    const first = await authorizers.decide(request(['openid', 'orders:read', 'orders:write']));
    expect(server.hits).toBe(1);
    expect(first.traces[0]?.cached).toBe(false);

    clock.advance(29_000);
    // Same scopes in another order, and a refresh: the same decision.
    const second = await authorizers.decide(request(['orders:write', 'openid', 'orders:read'], { grantType: 'refresh_token' }));
    expect(server.hits).toBe(1);
    expect(second.traces[0]).toMatchObject({ cached: true, outcome: 'granted', granted: ['orders:read'] });
    expect(second.scopes).toEqual(['openid', 'orders:read']);
    expect(second.claims).toEqual({ orders: { region: 'eu' } });
    expect(log.lines.filter((l) => l.event === 'authorizer.decision').map((l) => (l.trace as { cached: boolean }).cached)).toEqual([false, true]);

    clock.advance(1_000);
    const third = await authorizers.decide(request(['openid', 'orders:read', 'orders:write']));
    expect(server.hits).toBe(2);
    expect(third.traces[0]?.cached).toBe(false);
  });

  it('asks again for other scopes, subject, client, resource or sign-in context', async () => {
    const { server, authorizers } = await setup();
    await authorizers.decide(request(['orders:read']));
    const variants: DecisionRequest[] = [
      request(['orders:read', 'orders:write']),
      request(['orders:read'], { subject: 'bob' }),
      request(['orders:read'], { clientId: 'mobile' }),
      request(['orders:read'], { resource: 'https://other.api.test' }),
      request(['orders:read'], { resource: undefined }),
      request(['orders:read'], { upstream: { idp: 'entra', acr: 'pwd-only', amr: ['pwd', 'otp'] } }),
      request(['orders:read'], { upstream: { idp: 'google', acr: 'mfa', amr: ['pwd', 'otp'] } }),
      // A client whose id equals a user's subject is another principal.
      request(['orders:read'], { subject: 'web', grantType: 'client_credentials', upstream: undefined }),
      request(['orders:read'], { subject: 'web', grantType: 'authorization_code', upstream: undefined }),
    ];
    for (const [i, variant] of variants.entries()) {
      const result = await authorizers.decide(variant);
      expect(result.traces[0]?.cached, `variant ${i}`).toBe(false);
      expect(server.hits).toBe(i + 2);
    }
    // Scopes outside the namespace are not part of the key.
    const again = await authorizers.decide(request(['openid', 'orders:read', 'profile']));
    expect(again.traces[0]?.cached).toBe(true);
    expect(server.hits).toBe(variants.length + 1);
  });

  it('caches denials too', async () => {
    const { server, authorizers } = await setup(() => ({ body: { decision: 'deny', reason: 'no' } }));
    await authorizers.decide(request(['orders:read']));
    const second = await authorizers.decide(request(['orders:read']));
    expect(server.hits).toBe(1);
    expect(second.traces[0]).toMatchObject({ cached: true, outcome: 'denied', reason: 'no', granted: [] });
    expect(second.scopes).toEqual([]);
  });

  it('never caches a failure', async () => {
    let fail = true;
    const { server, authorizers } = await setup(() => (fail ? { status: 500, body: {} } : { body: { decision: 'grant' } }));
    const first = await authorizers.decide(request(['orders:read']));
    expect(first.failed).toEqual({ authorizer: 'orders', reason: 'answered HTTP 500' });
    const second = await authorizers.decide(request(['orders:read']));
    expect(server.hits).toBe(2);
    expect(second.traces[0]).toMatchObject({ cached: false, outcome: 'failed' });
    fail = false;
    const third = await authorizers.decide(request(['orders:read']));
    expect(third.traces[0]).toMatchObject({ cached: false, outcome: 'granted' });
    expect(server.hits).toBe(3);
    expect((await authorizers.decide(request(['orders:read']))).traces[0]?.cached).toBe(true);
    expect(server.hits).toBe(3);
  });

  it('reads a stored decision whose claims are unsafe (written by an older version) as a miss', async () => {
    const clock = testClock();
    const store = memoryStore(clock.now);
    server = await startAuthorizer('orders', signer.publicKey, () => ({ body: { decision: 'grant', claims: { region: 'eu' } } }));
    const config = authorizerConfig('orders', server.url, { cacheTTL: 30 });
    const asked = request(['orders:read']);
    const poisoned = JSON.parse('{"decision":"grant","granted":["orders:read"],"dropped":[],"claims":{"constructor":{"prototype":{"admin":true}}}}');
    await store.putRecord(DECISION_KIND, cacheKey(config, asked, ['orders:read']), { decision: poisoned, expiresAt: clock.now() + 30_000 }, { expiresIn: 30 });
    const authorizers = new Authorizers([config], { sign: signer.sign, store, logger: captureLogger().logger, clock: clock.now });
    const result = await authorizers.decide(asked);
    expect(result.traces[0]).toMatchObject({ cached: false, outcome: 'granted' });
    expect(result.claims).toEqual({ orders: { region: 'eu' } });
    expect(server.hits).toBe(1);
  });

  it('is off with cacheTTL 0', async () => {
    const { server, authorizers } = await setup(grantAll, 0);
    await authorizers.decide(request(['orders:read']));
    const second = await authorizers.decide(request(['orders:read']));
    expect(server.hits).toBe(2);
    expect(second.traces[0]?.cached).toBe(false);
  });

  it('treats a failing store as a miss, never as a decision', async () => {
    server = await startAuthorizer('orders', signer.publicKey, grantAll);
    const store = memoryStore(Date.now);
    await store.close();
    const log = captureLogger();
    const authorizers = new Authorizers([authorizerConfig('orders', server.url, { cacheTTL: 30 })], { sign: signer.sign, store, logger: log.logger });
    const result = await authorizers.decide(request(['orders:read']));
    expect(result.traces[0]).toMatchObject({ cached: false, outcome: 'granted' });
    expect(log.lines.filter((l) => l.event === 'authorizer.cache_error')).toHaveLength(2);
  });
});
