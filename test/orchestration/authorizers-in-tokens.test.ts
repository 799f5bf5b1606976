// The authorizer fan-out inside Baton's token endpoint: a real HTTP authorizer, authenticated by
// Baton's JWT (verified against Baton's JWKS), narrows the scopes of client_credentials,
// authorization_code and refresh tokens and adds namespaced claims; a failing authorizer under
// `deny` refuses the request with 503 temporarily_unavailable, never a wider token. Each decision's
// log line names the request it was made for (reqId, the response's X-Request-Id).
import { createServer, type Server } from 'node:http';

import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WEB_REDIRECT } from '../fixtures/standard.ts';
import type { BatonEvent } from '../../src/observability/events.ts';
import { createAccessLogger } from '../../src/observability/logger.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, discover, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { captureLines } from '../helpers/log-capture.ts';

const API = 'https://orders.api.example';

/** What the authorizer answers, per subject; `down` makes it fail; `clean` leaves out the scope outside its namespace. */
const policy: { grants: Record<string, string[]>; down: boolean; clean: boolean; seen: Array<Record<string, unknown>> } = { grants: {}, down: false, clean: false, seen: [] };
let authorizer: Server;
let authorizerUrl: string;
let baton: RunningBaton;

const main = captureLines();
const access = captureLines();
const events: BatonEvent[] = [];

beforeAll(async () => {
  const batonPort = await freePort();
  const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${batonPort}/jwks`));
  authorizer = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', async () => {
      try {
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        const { payload } = await jwtVerify(token, jwks, { issuer: `http://127.0.0.1:${batonPort}`, audience: 'orders' });
        const request = JSON.parse(body) as { subject: string; scopes: string[] };
        policy.seen.push({ ...request, jwtSub: payload.sub });
        if (policy.down) {
          res.writeHead(500).end('{"oops":true}');
          return;
        }
        const granted = (policy.grants[request.subject] ?? []).filter((s) => request.scopes.includes(s));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: 'grant', scopes: policy.clean ? granted : [...granted, 'billing:admin'], claims: { tier: 'gold' } }));
      } catch {
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => authorizer.listen(0, '127.0.0.1', resolve));
  authorizerUrl = `http://127.0.0.1:${(authorizer.address() as { port: number }).port}/decide`;
  baton = await startBaton({
    resources: [{ id: API, scopes: ['orders:read', 'orders:write', 'profile:basic'] }],
    authorizers: [{ id: 'orders', url: authorizerUrl, namespace: 'orders:', cacheTTL: 0 }],
    clients: [
      { client_id: 'service', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API }] },
      { client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT], resources: [{ id: API }] },
    ],
  }, { port: batonPort, logger: pino({ level: 'warn' }, main.stream), accessLogger: createAccessLogger('info', access.stream) });
  baton.baton.events.subscribe((event) => events.push(event));
});

afterAll(async () => {
  await baton?.stop();
  await new Promise((resolve) => authorizer?.close(resolve));
});

const verify = (token: string) => jwtVerify(token, createRemoteJWKSet(new URL(`${baton.url}/jwks`)), { issuer: baton.url, audience: API });

describe('authorizers at the token endpoint', () => {
  it('client_credentials: narrowed to what the authorizer granted, its claims namespaced, nothing outside its namespace', async () => {
    policy.grants = { service: ['orders:read'] };
    const rp = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
    const tokens = await client.clientCredentialsGrant(rp, { resource: API, scope: 'orders:read orders:write profile:basic' });
    expect(tokens.scope).toBe('orders:read profile:basic');
    const { payload } = await verify(tokens.access_token);
    expect(payload.scope).toBe('orders:read profile:basic');
    expect(payload.orders).toEqual({ tier: 'gold' });
    expect(payload).not.toHaveProperty('tier');
    const seen = policy.seen.at(-1)!;
    expect(seen).toMatchObject({ subject: 'service', scopes: ['orders:read', 'orders:write'] });
  });

  it('is sent the requested scopes of its namespace in request order, not the resource\'s declared order', async () => {
    policy.grants = { service: ['orders:read', 'orders:write'] };
    const res = await postForm(`${baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=${encodeURIComponent('orders:write profile:basic orders:read')}`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
    expect(res.status).toBe(200);
    expect(policy.seen.at(-1)).toMatchObject({ subject: 'service', scopes: ['orders:write', 'orders:read'] });
  });

  it('is not called for tokens without scopes of its namespace', async () => {
    const before = policy.seen.length;
    const rp = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
    const tokens = await client.clientCredentialsGrant(rp, { resource: API, scope: 'profile:basic' });
    expect(tokens.scope).toBe('profile:basic');
    expect(policy.seen.length).toBe(before);
  });

  it('a failing authorizer under `deny` refuses the token with 503 temporarily_unavailable', async () => {
    policy.down = true;
    try {
      const res = await postForm(`${baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=orders:read`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
      expect(res.status).toBe(503);
      expect(res.json.error).toBe('temporarily_unavailable');
      expect(res.json.access_token).toBeUndefined();
    } finally {
      policy.down = false;
    }
  });

  it('authorization_code then refresh: decided for the user at each issuance, so a revoked permission stops at the next refresh', async () => {
    policy.grants = { 'entra:erin': ['orders:read', 'orders:write'] };
    const rp = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, accountId: 'entra:erin', resource: API, resourceScope: 'orders:read orders:write' });
    const tokens = await client.authorizationCodeGrant(rp, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    expect((await verify(tokens.access_token)).payload.scope).toBe('orders:read orders:write');
    expect(policy.seen.at(-1)).toMatchObject({ subject: 'entra:erin', grant_type: 'authorization_code' });

    policy.grants = { 'entra:erin': ['orders:read'] };
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect((await verify(refreshed.access_token)).payload.scope).toBe('orders:read');
    expect(policy.seen.at(-1)).toMatchObject({ grant_type: 'refresh_token' });
  });
});

describe('the decision lines', () => {
  const ask = (requestId: string, extra = '') => fetch(`${baton.url}/token`, {
    method: 'POST',
    headers: { authorization: basic('service', TEST_ENV.SERVICE_SECRET), 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': requestId },
    body: `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=orders:read${extra}`,
  });
  const decisions = (lines: ReadonlyArray<Record<string, unknown>>, requestId: string) => lines.filter((line) => line.event === 'authorizer.decision' && line.reqId === requestId);

  it('name their request on the lean token path and on the provider\'s own pipeline (buffered info lines)', async () => {
    policy.grants = { service: ['orders:read'] };
    policy.clean = true;
    try {
      const lean = await ask('authz-line-lean');
      expect(lean.status).toBe(200);
      expect(lean.headers.get('x-request-id')).toBe('authz-line-lean');
      expect(decisions(access.lines, 'authz-line-lean')).toEqual([expect.objectContaining({ msg: 'authorizer granted', client_id: 'service' })]);
      // A parameter the lean path does not know sends the request down the provider's Koa pipeline.
      const full = await ask('authz-line-full', '&unknown_parameter=1');
      expect(full.status).toBe(200);
      expect(decisions(access.lines, 'authz-line-full')).toEqual([expect.objectContaining({ msg: 'authorizer granted', client_id: 'service' })]);
      // The audit events name them too.
      const audited = events.filter((event) => event.type === 'authorizer.decision').map((event) => (event as { reqId?: string }).reqId);
      expect(audited).toEqual(expect.arrayContaining(['authz-line-lean', 'authz-line-full']));
    } finally {
      policy.clean = false;
    }
  });

  it('name their request when the authorizer answered a scope outside its namespace (the warning, written at once)', async () => {
    policy.grants = { service: ['orders:read'] };
    expect((await ask('authz-line-dropped')).status).toBe(200);
    expect(decisions(main.lines, 'authz-line-dropped')).toEqual([expect.objectContaining({ level: 40, client_id: 'service', trace: expect.objectContaining({ dropped: ['billing:admin'] }) })]);
  });

  it('name their request when the authorizer fails', async () => {
    policy.down = true;
    try {
      expect((await ask('authz-line-down')).status).toBe(503);
    } finally {
      policy.down = false;
    }
    expect(decisions(main.lines, 'authz-line-down')).toEqual([expect.objectContaining({ level: 40, client_id: 'service' })]);
    expect(decisions(access.lines, 'authz-line-down')).toEqual([]);
  });
});
