// Shadow authorizers against real HTTP authorizers: asked with the enforced one of the same
// namespace, never changing the result nor failing it, not waited for, their disagreements reported
// (metric callback) and written in the decision trace once they settle.
import providerContext from 'oidc-provider/lib/helpers/als.js';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { TraceRecorder } from '../../../src/explain/recorder.ts';
import { withTrace } from '../../../src/explain/trace-context.ts';
import { Authorizers, checkAuthorizerConfigs, type DecisionRequest } from '../../../src/orchestration/authorizers/index.ts';
import type { AuthorizerConfig } from '../../../src/config/orchestration.ts';
import { authorizerConfig, captureLogger, createSigner, grantAll, memoryStore, startAuthorizer, testClock, type Handler, type Signer, type TestAuthorizer } from './helpers.ts';

let signer: Signer;
const servers: TestAuthorizer[] = [];
beforeAll(async () => { signer = await createSigner(); });
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });

async function serve(audience: string, handler: Handler = grantAll): Promise<TestAuthorizer> {
  const server = await startAuthorizer(audience, signer.publicKey, handler);
  servers.push(server);
  return server;
}

const request: DecisionRequest = { subject: 'bob', clientId: 'web', grantType: 'authorization_code', resource: 'https://orders.test', scopes: ['openid', 'orders:read', 'orders:write'], claims: {} };
const onlyRead: Handler = () => ({ body: { decision: 'grant', scopes: ['orders:read'], claims: { tier: 'gold' } } });
const everything: Handler = ({ body }) => ({ body: { decision: 'grant', scopes: body.scopes, claims: { tier: 'platinum' } } });

function build(configs: AuthorizerConfig[], shadows: Array<[string, number]>) {
  const clock = testClock();
  return new Authorizers(configs, { sign: signer.sign, store: memoryStore(clock.now), logger: captureLogger().logger, clock: clock.now, onShadow: (id, n) => shadows.push([id, n]) });
}

describe('shadow authorizers', () => {
  it('never change the result; their disagreement is reported and traced once they answer', async () => {
    const enforced = await serve('orders', onlyRead);
    const shadow = await serve('orders-next', everything);
    const shadows: Array<[string, number]> = [];
    const authorizers = build([authorizerConfig('orders', enforced.url), authorizerConfig('orders-next', shadow.url, { shadow: true, namespace: 'orders:' })], shadows);
    const trace = new TraceRecorder('req-1', Date.now());
    const result = await withTrace(trace, () => authorizers.decide(request));
    expect(result.scopes).toEqual(['openid', 'orders:read']);
    expect(result.claims).toEqual({ orders: { tier: 'gold' } });
    expect(result.traces.map((t) => t.authorizer)).toEqual(['orders']);
    await trace.settled();
    expect(shadow.calls[0]?.body.scopes).toEqual(['orders:read', 'orders:write']);
    expect(shadows).toEqual([['orders-next', 1]]);
    expect(trace.steps).toContainEqual(expect.objectContaining({ kind: 'authorizer', authorizer: 'orders-next', shadow: true, granted: ['orders:read', 'orders:write'], disagreements: ['orders:write'] }));
    expect(trace.steps).toContainEqual(expect.objectContaining({ kind: 'authorizer', authorizer: 'orders', shadow: false, claims: ['orders'] }));
  });

  it('a slow shadow delays no one, and a failing shadow fails nothing', async () => {
    const enforced = await serve('orders', onlyRead);
    const slow = await serve('orders-slow', async (received) => {
      await new Promise((resolve) => setTimeout(resolve, 800));
      return everything(received);
    });
    const shadows: Array<[string, number]> = [];
    const authorizers = build([
      authorizerConfig('orders', enforced.url),
      authorizerConfig('orders-slow', slow.url, { shadow: true, namespace: 'orders:', timeout: 5 }),
      authorizerConfig('orders-down', 'http://127.0.0.1:9/nowhere', { shadow: true, namespace: 'orders:' }),
    ], shadows);
    const trace = new TraceRecorder('req-2', Date.now());
    const started = performance.now();
    const result = await withTrace(trace, () => authorizers.decide(request));
    expect(performance.now() - started).toBeLessThan(600);
    expect(result.failed).toBeUndefined();
    expect(result.scopes).toEqual(['openid', 'orders:read']);
    await trace.settled();
    expect(shadows.sort()).toEqual([['orders-down', 0], ['orders-slow', 1]]);
    expect(trace.steps).toContainEqual(expect.objectContaining({ authorizer: 'orders-down', shadow: true, outcome: 'failed', disagreements: [] }));
  });

  it('agreeing shadows report zero disagreements', async () => {
    const enforced = await serve('orders', onlyRead);
    const twin = await serve('orders-twin', onlyRead);
    const shadows: Array<[string, number]> = [];
    const authorizers = build([authorizerConfig('orders', enforced.url), authorizerConfig('orders-twin', twin.url, { shadow: true, namespace: 'orders:' })], shadows);
    const trace = new TraceRecorder('req-3', Date.now());
    await withTrace(trace, () => authorizers.decide(request));
    await trace.settled();
    expect(shadows).toEqual([['orders-twin', 0]]);
  });

  it('log their answer with the id of the request that asked, from its context or the decision request (passthrough)', async () => {
    const enforced = await serve('orders', onlyRead);
    const shadow = await serve('orders-next', everything);
    const log = captureLogger();
    const clock = testClock();
    const authorizers = new Authorizers([authorizerConfig('orders', enforced.url), authorizerConfig('orders-next', shadow.url, { shadow: true, namespace: 'orders:' })], {
      sign: signer.sign, store: memoryStore(clock.now), logger: log.logger, clock: clock.now,
    });
    // As on the provider's routes and the lean token path: the request context in oidc-provider's store.
    await providerContext.run({ state: { requestId: 'shadow-request-1' } } as never, () => authorizers.decide(request));
    await authorizers.decide({ ...request, subject: 'carol', requestId: 'shadow-request-2' });
    // Both given: the decision request's own id.
    await providerContext.run({ state: { requestId: 'shadow-context-3' } } as never, () => authorizers.decide({ ...request, subject: 'dave', requestId: 'shadow-request-3' }));
    const pairs = (event: string) => log.lines.filter((line) => line.event === event).map((line) => [line.sub, line.reqId]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    const expected = [['bob', 'shadow-request-1'], ['carol', 'shadow-request-2'], ['dave', 'shadow-request-3']];
    // A shadow is not waited for: its line comes when it answers.
    await vi.waitFor(() => expect(pairs('authorizer.shadow')).toEqual(expected), { timeout: 5000 });
    expect(pairs('authorizer.decision')).toEqual(expected);
  });

  it('configuration: a shadow shares the namespace of an enforced authorizer; two enforced ones may not', () => {
    expect(checkAuthorizerConfigs([authorizerConfig('orders', 'https://a.test'), authorizerConfig('orders-next', 'https://b.test', { shadow: true, namespace: 'orders:' })])).toEqual([]);
    expect(checkAuthorizerConfigs([authorizerConfig('orders', 'https://a.test'), authorizerConfig('orders-next', 'https://b.test', { shadow: true, namespace: 'billing:' })]))
      .toEqual(['authorizers[1].namespace: a shadow shadows the enforced authorizer of the same namespace; no enforced authorizer owns "billing:"']);
    expect(checkAuthorizerConfigs([authorizerConfig('orders', 'https://a.test'), authorizerConfig('orders-two', 'https://b.test', { namespace: 'orders:' })]))
      .toEqual(['authorizers[1].namespace: "orders:" is also owned by authorizers[0]']);
  });
});
