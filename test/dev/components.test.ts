// The demo's parts on their own: the orders authorizer's decisions (and its live policy) and its request checks, the
// token views' readable times, the demo API's refusal of tokens for another audience or issuer, and the demo configuration file.
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfigFile } from '../../src/config/load.ts';
import { demoApis } from '../../src/dev/api.ts';
import { jwtCard, readableTime } from '../../src/dev/app/layout.ts';
import { decide, demoAuthorizer, ORDERS_POLICY } from '../../src/dev/authorizer.ts';
import { close, listen, type Handler } from '../../src/dev/http.ts';
import { LivePolicy } from '../../src/dev/live-policy.ts';
import { demoParts } from '../../src/dev/parts.ts';
import { resolvePorts } from '../../src/dev/ports.ts';

const ISSUER = 'http://localhost:4000';
const ORDERS = 'https://orders.api.localhost';
const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });

function sign(payload: JWTPayload, typ = 'JWT', key: CryptoKey = privateKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, iat: now, exp: now + 60, ...payload }).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ }).sign(key);
}

async function serve(handler: Handler): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = await listen(handler, 0, 'test', '--test', (err) => { throw err; });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stop: () => close(server) };
}

describe('the live policy (changed from the demo app\'s home page)', () => {
  const ask = (policy: LivePolicy, subject: string) => decide({ subject, client_id: 'demo-app', grant_type: 'refresh_token', scopes: ['orders:read', 'orders:write'] }, policy.current);

  it('revokes and restores one scope of one user; the next decision follows', () => {
    const policy = new LivePolicy(ORDERS_POLICY);
    expect(policy.set('contoso:bob', 'orders:read', false)).toBe(true);
    expect(ask(policy, 'contoso:bob')).toEqual({ decision: 'deny', reason: 'none of the requested orders scopes is allowed' });
    expect(ask(policy, 'contoso:alice')).toMatchObject({ decision: 'grant', scopes: ['orders:read', 'orders:write'] });
    expect(policy.set('contoso:bob', 'orders:write', true)).toBe(true);
    expect(ask(policy, 'contoso:bob')).toMatchObject({ decision: 'grant', scopes: ['orders:write'], claims: { team: 'sales' } });
    policy.reset();
    expect(policy.current).toBe(ORDERS_POLICY);
    expect(ORDERS_POLICY['contoso:bob']?.scopes).toEqual(['orders:read']);
  });

  it('changes nothing for a user or scope not in the table it started with', () => {
    const policy = new LivePolicy(ORDERS_POLICY);
    for (const [subject, scope] of [['contoso:mallory', 'orders:read'], ['contoso:bob', 'orders:admin'], ['__proto__', 'orders:read'], ['toString', 'orders:read']] as const) {
      expect(policy.set(subject, scope, true)).toBe(false);
    }
    expect(policy.current).toBe(ORDERS_POLICY);
    expect(policy.choices.map((c) => c.subject)).toEqual(['contoso:alice', 'contoso:bob']);
  });
});

describe('token views: times', () => {
  it('every time claim beside its epoch seconds, in UTC, with how long ago or how soon', async () => {
    const now = Date.UTC(2026, 11, 6, 12, 0, 0);
    expect(readableTime(now / 1000 + 600, now)).toBe('2026-12-06 12:10:00 UTC (in 10 min)');
    expect(readableTime(now / 1000 - 3600, now)).toBe('2026-12-06 11:00:00 UTC (60 min ago)');
    expect(readableTime(now / 1000 + 10, now)).toBe('2026-12-06 12:00:10 UTC (now)');
    const token = await sign({ sub: 'contoso:alice', auth_time: 1796560000, nbf: 1796560001 });
    const card = jwtCard('t', 'h', token, 'tok').value;
    for (const claim of ['iat', 'nbf', 'auth_time', 'exp']) expect(card).toMatch(new RegExp(`<td>${claim}</td><td>\\d{10}</td><td>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC \\(`));
    expect(card).toContain('<td>auth_time</td><td>1796560000</td><td>2026-12-06 12:26:40 UTC (');
  });
});

describe('orders authorizer: decisions', () => {
  const ask = (subject: string, scopes: string[]) => decide({ subject, client_id: 'demo-app', grant_type: 'authorization_code', scopes }, ORDERS_POLICY);

  it('grants alice read and write, with her claims', () => {
    expect(ask('contoso:alice', ['orders:read', 'orders:write'])).toEqual({ decision: 'grant', scopes: ['orders:read', 'orders:write'], claims: { team: 'purchasing', approval_limit: 5000 } });
  });

  it('narrows bob to read', () => {
    expect(ask('contoso:bob', ['orders:read', 'orders:write'])).toMatchObject({ decision: 'grant', scopes: ['orders:read'] });
  });

  it('denies bob a request for write alone, and anyone the policy does not know', () => {
    expect(ask('contoso:bob', ['orders:write'])).toMatchObject({ decision: 'deny' });
    expect(ask('contoso:mallory', ['orders:read'])).toMatchObject({ decision: 'deny' });
    expect(ask('toString', ['orders:read'])).toMatchObject({ decision: 'deny' });
  });

  it('never grants outside its namespace', () => {
    expect(ask('contoso:alice', ['orders:read', 'shipping:read'])).toMatchObject({ scopes: ['orders:read'] });
  });
});

describe('orders authorizer: the request protocol (docs/authorizers.md)', () => {
  let authorizer: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    authorizer = await serve(demoAuthorizer({ issuer: ISSUER, id: 'orders', namespace: 'orders:', policy: ORDERS_POLICY, jwks }));
  });
  afterAll(() => authorizer.stop());

  const body = { subject: 'contoso:alice', client_id: 'demo-app', grant_type: 'authorization_code', scopes: ['orders:read', 'orders:write'], claims: {} };
  const post = (token: string | undefined, json: unknown = body) => fetch(`${authorizer.url}/authorizer/decide`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(json),
  });

  it('answers a request Baton signed for it', async () => {
    const response = await post(await sign({ aud: 'orders', sub: 'contoso:alice', client_id: 'demo-app' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ decision: 'grant', scopes: ['orders:read', 'orders:write'] });
  });

  it('refuses with 401: no JWT, another audience, another issuer, a foreign key, a body about someone else', async () => {
    const stranger = (await generateKeyPair('ES256')).privateKey;
    const refused = [
      await post(undefined),
      await post(await sign({ aud: 'billing', sub: 'contoso:alice', client_id: 'demo-app' })),
      await post(await sign({ iss: 'http://localhost:9999', aud: 'orders', sub: 'contoso:alice', client_id: 'demo-app' })),
      await post(await sign({ aud: 'orders', sub: 'contoso:alice', client_id: 'demo-app' }, 'JWT', stranger)),
      await post(await sign({ aud: 'orders', sub: 'contoso:bob', client_id: 'demo-app' })),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
  });
});

describe('demo API: only Baton access tokens for its audience', () => {
  let api: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    api = await serve(demoApis({ issuer: ISSUER, jwks, apis: [{ path: '/orders', name: 'Orders API', audience: ORDERS, readScope: 'orders:read', writeScope: 'orders:write' }] }));
  });
  afterAll(() => api.stop());

  const call = (token: string, method = 'GET') => fetch(`${api.url}/orders`, { method, headers: { authorization: `Bearer ${token}` } });
  const accessToken = (claims: JWTPayload = {}, typ = 'at+jwt') => sign({ aud: ORDERS, sub: 'contoso:bob', client_id: 'demo-app', scope: 'orders:read', ...claims }, typ);

  it('shows the caller\'s claims and scopes for a valid token', async () => {
    const response = await call(await accessToken());
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ caller: { sub: 'contoso:bob', client_id: 'demo-app' }, scopes: ['orders:read'] });
  });

  it('401 invalid_token with WWW-Authenticate for another audience, another issuer, or an id_token-typed JWT', async () => {
    for (const token of [
      await accessToken({ aud: 'https://shipping.api.localhost' }),
      await accessToken({ iss: 'http://localhost:4001' }),
      await accessToken({}, 'JWT'),
    ]) {
      const response = await call(token);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="Orders API", error="invalid_token"/);
    }
  });

  it('401 without a token (challenge without error), 403 insufficient_scope for a write without orders:write', async () => {
    const none = await fetch(`${api.url}/orders`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="Orders API"');
    const write = await call(await accessToken(), 'POST');
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toContain('error="insufficient_scope", scope="orders:write"');
  });
});

describe('demo configuration and ports', () => {
  it('examples/dev/baton.yaml is valid and holds every part baton dev runs on', () => {
    const file = fileURLToPath(new URL('../../examples/dev/baton.yaml', import.meta.url));
    const config = loadConfigFile(file, { env: { BATON_PORT: '4000', IDP_PORT: '4001', API_PORT: '4002', APP_PORT: '4003', DATA_DIR: './data/dev' } });
    expect(config.issuer).toBe('http://localhost:4000');
    expect(demoParts(config).app.redirect_uris).toEqual(['http://localhost:4003/callback']);
  });

  it('ports follow --port-base, overrides win, and two roles cannot share a port', () => {
    expect(resolvePorts(5000, { app: 8080 })).toEqual({ baton: 5000, idp: 5001, api: 5002, app: 8080 });
    expect(() => resolvePorts(5000, { app: 5000 })).toThrow('--app-port: port 5000 is already used for Baton');
    expect(() => resolvePorts(65534)).toThrow('--api-port: 65536 is not a TCP port');
  });
});
