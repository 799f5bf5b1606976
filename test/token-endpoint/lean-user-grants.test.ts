// Code redemption and refresh on the lean token path (src/grants/lean-provider-grant.ts: oidc-provider's
// own handlers, without the Koa pipeline in front of them) against the full pipeline of the same
// Baton: the same request to both answers alike (status, headers in order, body, token claims, events
// and the stored decision trace), successes and every error the handlers throw; one-time artifacts
// stay single use whichever path they reach; what the lean path cannot answer alike (a browser app's
// CORS request, a browser's Accept, repeated parameters, a wrong secret) goes the full way.

import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { storedTrace } from '../../src/explain/trace-source.ts';
import type { DecisionTrace } from '../../src/explain/trace.ts';
import { BILLING_API, ORDERS_API, SPA_REDIRECT, WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { switchableStore } from '../helpers/failing-store.ts';
import { basic } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { fullPipeline, sendForm, type Answer } from '../helpers/two-paths.ts';

const OTHER_REDIRECT = 'https://other.example/callback';
const state = { down: false };
const store = switchableStore(state);
const events: Array<Record<string, unknown>> = [];
let baton: RunningBaton;
let full: { port: number; close(): Promise<void> };
let leanPort: number;
let fullPort: number;
/** Koa contexts created so far: the lean path never creates one. */
let koaContexts = 0;

beforeAll(async () => {
  baton = await startBaton({
    ...standardConfig,
    explain: { enabled: true },
    clients: [
      // Strict rotation: any second presentation of a rotated refresh token is reuse.
      ...standardConfig.clients.map((c) => (c.client_id === 'web' ? { ...c, refreshTokenReuseGrace: 0 } : c)),
      { client_id: 'other', client_secret: '${WEB_SECRET}', redirect_uris: [OTHER_REDIRECT], resources: [{ id: ORDERS_API }] },
    ],
  }, { store });
  baton.baton.events.subscribe((event) => { events.push(event as unknown as Record<string, unknown>); });
  const provider = baton.baton.provider as unknown as { createContext: (...args: unknown[]) => unknown };
  const create = provider.createContext.bind(provider);
  provider.createContext = (...args: unknown[]) => {
    koaContexts += 1;
    return create(...args);
  };
  leanPort = Number(new URL(baton.url).port);
  full = await fullPipeline(baton);
  fullPort = full.port;
});

afterAll(async () => {
  await baton?.stop();
  await full?.close();
});

const send = sendForm;

const web = () => ({ authorization: basic('web', TEST_ENV.WEB_SECRET) });
const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
/** The headers in order, without the two that differ by request (its own id, the length of its tokens). */
const headersOf = (answer: Answer) => answer.headers.filter(([n]) => n !== 'Content-Length').map(([n, v]) => [n, n === 'X-Request-Id' ? 'id' : v]);
/** An answer without its request id (each path's request has its own). */
const sameButId = (answer: Answer) => ({ ...answer, headers: headersOf(answer) });

/** A fresh code for `web` (or as `options` say), as its redemption's form. */
async function codeForm(options: { resource?: string; resourceScope?: string; scope?: string; clientId?: string; redirectUri?: string } = {}, extra: Record<string, string> = {}): Promise<string> {
  const seeded = await seedAuthorizationCode(baton.baton, { clientId: options.clientId ?? 'web', redirectUri: options.redirectUri ?? WEB_REDIRECT, ...options });
  return form({ grant_type: 'authorization_code', code: seeded.code, code_verifier: seeded.codeVerifier, redirect_uri: WEB_REDIRECT, ...extra });
}

/** A refresh token of `web` for the orders API, from a real redemption on the lean path. */
async function refreshToken(): Promise<string> {
  const answer = await send(leanPort, await codeForm({ resource: ORDERS_API, resourceScope: 'orders:read orders:write' }), web());
  expect(answer.status).toBe(200);
  return String(JSON.parse(answer.body).refresh_token);
}

let seq = 0;
/** `make()` builds the request (fresh one-time artifacts each time): one for each path, each with its own request id. */
async function both(make: () => Promise<string>, headers: Record<string, string> = web()): Promise<{ lean: Answer; koa: Answer; leanContexts: number; ids: [string, string] }> {
  seq += 1;
  const ids: [string, string] = [`lean-user-${seq}`, `koa-user-${seq}`];
  const leanBody = await make();
  const before = koaContexts;
  const lean = await send(leanPort, leanBody, { 'x-request-id': ids[0], ...headers });
  const leanContexts = koaContexts - before;
  const koa = await send(fullPort, await make(), { 'x-request-id': ids[1], ...headers });
  return { lean, koa, leanContexts, ids };
}

/** Token claims that differ between any two issuances (ids, times, the seed's nonce). */
const VARYING = ['jti', 'iat', 'exp', 'auth_time', 'nonce', 'at_hash', 'sid'];
const stable = (jwt: string) => Object.fromEntries(Object.entries(decodeJwt(jwt)).filter(([name]) => !VARYING.includes(name)));

/** Traces are stored after the response: poll briefly. */
async function stored(requestId: string): Promise<DecisionTrace> {
  for (let i = 0; i < 60; i += 1) {
    const trace = await storedTrace(store, requestId);
    if (trace) return trace;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no trace stored for ${requestId}`);
}

/** A trace without what differs between two requests (their id, time and the latency of each step). */
function comparable(trace: DecisionTrace): unknown {
  return JSON.parse(JSON.stringify(trace, (key, value: unknown) => (['requestId', 'at', 'ms', 'latencyMs', 'durationMs'].includes(key) ? 0 : value)));
}

describe('a code redemption on the lean path issues what the full pipeline issues', () => {
  it('id_token, JWT access token and refresh token: same status, headers in order, members, token headers and claims, trace', async () => {
    const { lean, koa, leanContexts, ids } = await both(() => codeForm({ resource: ORDERS_API, resourceScope: 'orders:read' }));
    expect(lean.status).toBe(200);
    expect(leanContexts).toBe(0);
    expect(headersOf(lean)).toEqual(headersOf(koa));
    const [a, b] = [JSON.parse(lean.body), JSON.parse(koa.body)] as Array<Record<string, string>>;
    expect(Object.keys(a!)).toEqual(Object.keys(b!));
    expect(Object.keys(a!)).toEqual(expect.arrayContaining(['access_token', 'id_token', 'refresh_token']));
    expect({ ...a, access_token: 0, id_token: 0, refresh_token: 0 }).toEqual({ ...b, access_token: 0, id_token: 0, refresh_token: 0 });
    for (const name of ['access_token', 'id_token'] as const) {
      expect(decodeProtectedHeader(a![name]!)).toEqual(decodeProtectedHeader(b![name]!));
      expect(Object.keys(decodeJwt(a![name]!))).toEqual(Object.keys(decodeJwt(b![name]!)));
      expect(stable(a![name]!)).toEqual(stable(b![name]!));
    }
    expect(decodeJwt(a!.access_token!)).toMatchObject({ aud: ORDERS_API, sub: 'alice', scope: 'orders:read', client_id: 'web' });
    const [ta, tb] = await Promise.all(ids.map(stored));
    expect(comparable(ta!)).toEqual(comparable(tb!));
    expect(ta!.request).toMatchObject({ endpoint: 'token', clientId: 'web', grantType: 'authorization_code' });
    expect(JSON.stringify(ta)).not.toContain(a!.access_token);
  });

  it('an opaque access token for userinfo, and the same token.issued events', async () => {
    const before = events.length;
    const { lean, koa, leanContexts } = await both(() => codeForm());
    expect(lean.status).toBe(200);
    expect(leanContexts).toBe(0);
    expect(headersOf(lean)).toEqual(headersOf(koa));
    const [a, b] = [JSON.parse(lean.body), JSON.parse(koa.body)] as Array<Record<string, string>>;
    expect({ ...a, access_token: 0, id_token: 0, refresh_token: 0 }).toEqual({ ...b, access_token: 0, id_token: 0, refresh_token: 0 });
    const issued = events.slice(before).filter((e) => e.type === 'token.issued');
    expect(issued).toHaveLength(2);
    expect({ ...issued[0], tokens: 0, reqId: 0, at: 0 }).toEqual({ ...issued[1], tokens: 0, reqId: 0, at: 0 });
    // The opaque token the lean path issued answers at userinfo.
    const userinfo = await fetch(`${baton.url}/userinfo`, { headers: { authorization: `Bearer ${a!.access_token}` } });
    expect(await userinfo.json()).toMatchObject({ sub: 'alice', email: 'alice@example.com' });
  });
});

describe('a public client (no secret: client_id only) on the lean path', () => {
  const spaForm = async (extra: Record<string, string> = {}) => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'spa', redirectUri: SPA_REDIRECT });
    return form({ grant_type: 'authorization_code', client_id: 'spa', code: seeded.code, code_verifier: seeded.codeVerifier, redirect_uri: SPA_REDIRECT, ...extra });
  };

  it('redeems its code as the full pipeline does', async () => {
    const { lean, koa, leanContexts } = await both(() => spaForm(), {});
    expect(lean.status).toBe(200);
    expect(leanContexts).toBe(0);
    expect(headersOf(lean)).toEqual(headersOf(koa));
    const [a, b] = [JSON.parse(lean.body), JSON.parse(koa.body)] as Array<Record<string, string>>;
    expect(Object.keys(a!)).toEqual(Object.keys(b!));
    expect(stable(a!.id_token!)).toEqual(stable(b!.id_token!));
    expect(decodeJwt(a!.id_token!).aud).toBe('spa');
  });

  it('a wrong PKCE verifier is refused alike; a secret it does not have goes the full way, refused alike', async () => {
    const wrong = await both(() => spaForm({ code_verifier: 'y'.repeat(43) }), {});
    expect(wrong.leanContexts).toBe(0);
    expect(sameButId(wrong.lean)).toEqual(sameButId(wrong.koa));
    expect(JSON.parse(wrong.lean.body)).toMatchObject({ error: 'invalid_grant' });
    const withSecret = await both(() => spaForm({ client_secret: 'not-its-secret-0123456789' }), {});
    expect(withSecret.leanContexts).toBeGreaterThan(0);
    expect(sameButId(withSecret.lean)).toEqual(sameButId(withSecret.koa));
    expect(withSecret.lean.status).toBe(401);
  });

  it('a confidential client presenting only its client_id goes the full way: invalid_client alike', async () => {
    const { lean, koa, leanContexts } = await both(async () => `${await codeForm()}&client_id=web`, {});
    expect(leanContexts).toBeGreaterThan(0);
    expect(sameButId(lean)).toEqual(sameButId(koa));
    expect(JSON.parse(lean.body)).toMatchObject({ error: 'invalid_client' });
  });
});

describe('a refresh on the lean path issues what the full pipeline issues', () => {
  it('rotated: same answer, token claims and token.refreshed events; the old token is spent on both paths', async () => {
    const before = events.length;
    const tokens: string[] = [];
    const { lean, koa, leanContexts, ids } = await both(async () => {
      tokens.push(await refreshToken());
      return form({ grant_type: 'refresh_token', refresh_token: tokens.at(-1)! });
    });
    expect(lean.status).toBe(200);
    expect(leanContexts).toBe(0);
    expect(headersOf(lean)).toEqual(headersOf(koa));
    const [a, b] = [JSON.parse(lean.body), JSON.parse(koa.body)] as Array<Record<string, string>>;
    expect({ ...a, access_token: 0, id_token: 0, refresh_token: 0 }).toEqual({ ...b, access_token: 0, id_token: 0, refresh_token: 0 });
    expect(a!.refresh_token).not.toBe(tokens[0]);
    expect(stable(a!.access_token!)).toEqual(stable(b!.access_token!));
    expect(stable(a!.id_token!)).toEqual(stable(b!.id_token!));
    const refreshed = events.slice(before).filter((e) => e.type === 'token.refreshed');
    expect(refreshed).toHaveLength(2);
    expect({ ...refreshed[0], tokens: 0, reqId: 0, at: 0 }).toEqual({ ...refreshed[1], tokens: 0, reqId: 0, at: 0 });
    const [ta, tb] = await Promise.all(ids.map(stored));
    expect(comparable(ta!)).toEqual(comparable(tb!));
  });

  it('a narrower scope: the same narrower access token', async () => {
    const { lean, koa } = await both(async () => form({ grant_type: 'refresh_token', refresh_token: await refreshToken(), scope: 'openid orders:read' }));
    expect(lean.status).toBe(200);
    expect(headersOf(lean)).toEqual(headersOf(koa));
    const [a, b] = [JSON.parse(lean.body), JSON.parse(koa.body)] as Array<Record<string, string>>;
    expect(decodeJwt(a!.access_token!).scope).toBe('orders:read');
    expect(stable(a!.access_token!)).toEqual(stable(b!.access_token!));
  });
});

const wrongVerifier = () => codeForm({}, { code_verifier: 'x'.repeat(43) });

describe('errors the handlers throw are answered alike, by the lean path itself', () => {
  const cases: Array<[string, () => Promise<string>, number, string]> = [
    ['a wrong PKCE verifier', wrongVerifier, 400, 'invalid_grant'],
    ['no PKCE verifier', async () => form({ grant_type: 'authorization_code', code: (await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT })).code, redirect_uri: WEB_REDIRECT }), 400, 'invalid_grant'],
    ['an unknown code', async () => form({ grant_type: 'authorization_code', code: 'not-a-code', code_verifier: 'x'.repeat(43), redirect_uri: WEB_REDIRECT }), 400, 'invalid_grant'],
    ['another redirect_uri', () => codeForm({}, { redirect_uri: 'https://web.example/other' }), 400, 'invalid_grant'],
    ['another client\'s code', () => codeForm({ clientId: 'other', redirectUri: OTHER_REDIRECT }, { redirect_uri: OTHER_REDIRECT }), 400, 'invalid_grant'],
    ['no code', async () => form({ grant_type: 'authorization_code', redirect_uri: WEB_REDIRECT }), 400, 'invalid_request'],
    ['a resource the code was not issued for', () => codeForm({ resource: ORDERS_API, resourceScope: 'orders:read' }, { resource: BILLING_API }), 400, 'invalid_target'],
    ['an unknown refresh token', async () => form({ grant_type: 'refresh_token', refresh_token: 'not-a-token' }), 400, 'invalid_grant'],
    ['a refresh with a scope beyond the token\'s', async () => form({ grant_type: 'refresh_token', refresh_token: await refreshToken(), scope: 'openid billing:read' }), 400, 'invalid_scope'],
  ];
  for (const [name, make, status, error] of cases) {
    it(`${name}: ${status} ${error}`, async () => {
      const { lean, koa, leanContexts } = await both(make);
      expect(sameButId(lean)).toEqual(sameButId(koa));
      expect(lean.status).toBe(status);
      expect(JSON.parse(lean.body)).toMatchObject({ error });
      expect(leanContexts).toBe(0);
    });
  }

  it('another client\'s refresh token: invalid_grant on both, and it stays usable by its own client', async () => {
    const token = await refreshToken();
    const other = { authorization: basic('other', TEST_ENV.WEB_SECRET) };
    const lean = await send(leanPort, form({ grant_type: 'refresh_token', refresh_token: token }), other);
    const koa = await send(fullPort, form({ grant_type: 'refresh_token', refresh_token: token }), other);
    expect(lean.body).toBe(koa.body);
    expect(JSON.parse(lean.body)).toMatchObject({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    expect((await send(leanPort, form({ grant_type: 'refresh_token', refresh_token: token }), web())).status).toBe(200);
  });
});

describe('one-time artifacts stay single use whichever path they reach', () => {
  it('a code redeemed twice: refused alike, the grant revoked (its refresh token refused), reuse reported', async () => {
    const results: Array<{ again: Answer; refresh: Answer }> = [];
    for (const port of [leanPort, fullPort]) {
      const body = await codeForm({ resource: ORDERS_API, resourceScope: 'orders:read' });
      const first = await send(leanPort, body, web());
      expect(first.status).toBe(200);
      const before = events.length;
      const again = await send(port, body, { ...web(), 'x-request-id': 'code-again' });
      expect(events.slice(before).some((e) => e.type === 'token.reuse_detected')).toBe(true);
      const refresh = await send(port, form({ grant_type: 'refresh_token', refresh_token: String(JSON.parse(first.body).refresh_token) }), { ...web(), 'x-request-id': 'refresh-after-reuse' });
      results.push({ again, refresh });
    }
    expect(results[0]).toEqual(results[1]);
    expect(JSON.parse(results[0]!.again.body)).toMatchObject({ error: 'invalid_grant' });
    expect(JSON.parse(results[0]!.refresh.body)).toMatchObject({ error: 'invalid_grant' });
  });

  it('a rotated refresh token presented again (no grace): refused alike and its successor revoked', async () => {
    const results: Array<{ again: Answer; successor: Answer }> = [];
    for (const port of [leanPort, fullPort]) {
      const token = await refreshToken();
      const first = await send(leanPort, form({ grant_type: 'refresh_token', refresh_token: token }), web());
      expect(first.status).toBe(200);
      const again = await send(port, form({ grant_type: 'refresh_token', refresh_token: token }), { ...web(), 'x-request-id': 'rt-again' });
      const successor = await send(port, form({ grant_type: 'refresh_token', refresh_token: String(JSON.parse(first.body).refresh_token) }), { ...web(), 'x-request-id': 'rt-successor' });
      results.push({ again, successor });
    }
    expect(results[0]).toEqual(results[1]);
    expect(JSON.parse(results[0]!.again.body)).toMatchObject({ error: 'invalid_grant' });
    expect(JSON.parse(results[0]!.successor.body)).toMatchObject({ error: 'invalid_grant' });
  });

  it('concurrent redemptions of one code on both paths: exactly one is issued', async () => {
    const body = await codeForm();
    const answers = await Promise.all([leanPort, leanPort, fullPort, leanPort, fullPort].map((port) => send(port, body, web())));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 400 && JSON.parse(a.body).error === 'invalid_grant')).toHaveLength(4);
  });

  it('concurrent refreshes of one token on both paths: exactly one is issued', async () => {
    const body = form({ grant_type: 'refresh_token', refresh_token: await refreshToken() });
    const answers = await Promise.all([leanPort, fullPort, leanPort, leanPort].map((port) => send(port, body, web())));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
  });
});

describe('what the lean path leaves to the full pipeline', () => {
  it('a browser app\'s request (Origin: CORS): redeemed by the full pipeline', async () => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'spa', redirectUri: SPA_REDIRECT });
    const before = koaContexts;
    const answer = await send(leanPort, form({ grant_type: 'authorization_code', client_id: 'spa', code: seeded.code, code_verifier: seeded.codeVerifier, redirect_uri: SPA_REDIRECT }), { origin: 'http://localhost:5173' });
    expect(answer.status).toBe(200);
    expect(koaContexts).toBeGreaterThan(before);
    expect(answer.headers).toContainEqual(['Access-Control-Allow-Origin', 'http://localhost:5173']);
  });

  // oidc-provider renders its HTML error page where `ctx.accepts('json', 'html')` picks html: any
  // spelling, a wildcard preferred over JSON by q-value. Those requests go the full way; the rest
  // may stay on the lean path, answered with the JSON the full pipeline sends them too.
  const accepts: Array<[string, 'text/html' | 'application/json']> = [
    ['text/html', 'text/html'], ['Text/HTML', 'text/html'], ['text/*', 'text/html'],
    ['application/json;q=0.5, */*', 'text/html'], ['*/*;q=0.9, application/json;q=0.1', 'text/html'], ['application/json;q=0, */*', 'text/html'],
    ['application/xhtml+xml', 'application/json'], ['*/*', 'application/json'], ['application/*', 'application/json'], ['image/png', 'application/json'],
  ];
  for (const [accept, type] of accepts) {
    it(`an error for Accept: ${accept} is answered as the full pipeline does (${type})`, async () => {
      const { lean, koa, leanContexts, ids } = await both(wrongVerifier, { ...web(), accept });
      expect(leanContexts > 0).toBe(type === 'text/html');
      expect(lean.status).toBe(400);
      expect(lean.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1]).toMatch(new RegExp(`^${type}`));
      expect(lean.body.replace(ids[0], 'id')).toBe(koa.body.replace(ids[1], 'id'));
    });
  }

  it('a repeated parameter: the full pipeline refuses it, alike', async () => {
    const { lean, koa, leanContexts } = await both(async () => `${await codeForm()}&code=again`);
    expect(leanContexts).toBeGreaterThan(0);
    expect(lean.body).toBe(koa.body);
    expect(JSON.parse(lean.body)).toMatchObject({ error: 'invalid_request' });
  });

  it('a wrong client secret: the full pipeline answers 401 invalid_client, alike', async () => {
    const { lean, koa } = await both(() => codeForm(), { authorization: basic('web', 'wrong-secret-0123456789') });
    expect(lean.status).toBe(401);
    expect(lean.body).toBe(koa.body);
    expect(JSON.parse(lean.body)).toMatchObject({ error: 'invalid_client' });
  });

  it('storage down: 503 temporarily_unavailable with Retry-After on both paths, and the code still redeemable after', async () => {
    const bodies = [await codeForm(), await codeForm()];
    state.down = true;
    let answers: { lean: Answer; koa: Answer };
    try {
      answers = { lean: await send(leanPort, bodies[0]!, web()), koa: await send(fullPort, bodies[1]!, web()) };
    } finally {
      state.down = false;
    }
    expect(answers.lean.status).toBe(503);
    expect(answers.lean.headers).toContainEqual(['Retry-After', '5']);
    expect(JSON.parse(answers.lean.body).error).toBe('temporarily_unavailable');
    expect(sameButId(answers.lean).headers).toEqual(sameButId(answers.koa).headers);
    expect((await send(leanPort, bodies[0]!, web())).status).toBe(200);
  });
});
