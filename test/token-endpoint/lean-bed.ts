// The bed of the lean-user-grant suites: one Baton (memory store that can go down, decision traces
// on, `web` with strict rotation, a second confidential client) with its full Koa pipeline on a second
// listener, and the helpers that send one request to each path and compare what comes back.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, expect } from 'vitest';

import { storedTrace } from '../../src/explain/trace-source.ts';
import type { DecisionTrace } from '../../src/explain/trace.ts';
import { BILLING_API, ORDERS_API, SPA_REDIRECT, WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { switchableStore } from '../helpers/failing-store.ts';
import { basic } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { fullPipeline, sendForm as send, type Answer } from '../helpers/two-paths.ts';

export const OTHER_REDIRECT = 'https://other.example/callback';
export const state = { down: false };
export const store = switchableStore(state);
export const events: Array<Record<string, unknown>> = [];
export let baton: RunningBaton;
let full: { port: number; close(): Promise<void> };
export let leanPort: number;
export let fullPort: number;
/** Koa contexts created so far: the lean path never creates one. */
export let koaContexts = 0;

/** Starts the Baton and its full pipeline for the calling test file (one each), stops them after it. */
export function useLeanBed(): void {
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
}

export const web = () => ({ authorization: basic('web', TEST_ENV.WEB_SECRET) });
export const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
/** The headers in order, without the two that differ by request (its own id, the length of its tokens). */
export const headersOf = (answer: Answer) => answer.headers.filter(([n]) => n !== 'Content-Length').map(([n, v]) => [n, n === 'X-Request-Id' ? 'id' : v]);
/** An answer without its request id (each path's request has its own). */
export const sameButId = (answer: Answer) => ({ ...answer, headers: headersOf(answer) });

/** A fresh code for `web` (or as `options` say), as its redemption's form. */
export async function codeForm(options: { resource?: string; resourceScope?: string; scope?: string; clientId?: string; redirectUri?: string } = {}, extra: Record<string, string> = {}): Promise<string> {
  const seeded = await seedAuthorizationCode(baton.baton, { clientId: options.clientId ?? 'web', redirectUri: options.redirectUri ?? WEB_REDIRECT, ...options });
  return form({ grant_type: 'authorization_code', code: seeded.code, code_verifier: seeded.codeVerifier, redirect_uri: WEB_REDIRECT, ...extra });
}

/** A refresh token of `web` for the orders API, from a real redemption on the lean path. */
export async function refreshToken(): Promise<string> {
  const answer = await send(leanPort, await codeForm({ resource: ORDERS_API, resourceScope: 'orders:read orders:write' }), web());
  expect(answer.status).toBe(200);
  return String(JSON.parse(answer.body).refresh_token);
}

let seq = 0;
/** `make()` builds the request (fresh one-time artifacts each time): one for each path, each with its own request id. */
export async function both(make: () => Promise<string>, headers: Record<string, string> = web()): Promise<{ lean: Answer; koa: Answer; leanContexts: number; ids: [string, string] }> {
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
export const stable = (jwt: string) => Object.fromEntries(Object.entries(decodeJwt(jwt)).filter(([name]) => !VARYING.includes(name)));

/** Traces are stored after the response: poll briefly. */
export async function stored(requestId: string): Promise<DecisionTrace> {
  for (let i = 0; i < 60; i += 1) {
    const trace = await storedTrace(store, requestId);
    if (trace) return trace;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no trace stored for ${requestId}`);
}

/** A trace without what differs between two requests (their id, time and the latency of each step). */
export function comparable(trace: DecisionTrace): unknown {
  return JSON.parse(JSON.stringify(trace, (key, value: unknown) => (['requestId', 'at', 'ms', 'latencyMs', 'durationMs'].includes(key) ? 0 : value)));
}

/** A fresh code of `web` presented with a wrong PKCE verifier. */
export const wrongVerifier = () => codeForm({}, { code_verifier: 'x'.repeat(43) });
