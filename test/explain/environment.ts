// The explain tests' world: a real upstream OP (bob, alice, eve), a real HTTP authorizer owning
// `orders:` that refuses orders:write to bob, a shadow of it that would grant it, a real hook
// module, and Baton with `explain` on over a store the tests can read (and make fail).
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';

import * as client from 'openid-client';

import { openStore } from '../../src/storage/index.ts';
import type { Store } from '../../src/storage/store.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { CookieAgent } from '../helpers/browser-less.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

export const API = 'https://orders.api.example';
export const REDIRECT = 'http://127.0.0.1:9/app/callback';
export const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';
export const USER_PASSWORDS = { bob: 'bob-password-1234', alice: 'alice-password-1234', eve: 'eve-password-1234' } as const;
export const AUDITOR_SECRET = 'auditor-secret-0123456789';

export interface Environment {
  readonly baton: RunningBaton;
  readonly idp: Upstream;
  readonly store: Store;
  /** Makes every read of Baton's records fail (storage down), or not. */
  failReads(on: boolean): void;
  stop(): Promise<void>;
}

/** An HTTP authorizer; `grantWrite` decides whether a user other than bob gets orders:write. */
function authorizer(shadow: boolean): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    req.on('end', () => {
      const request = JSON.parse(body) as { subject: string; scopes: string[] };
      const bob = request.subject.endsWith(':bob');
      const granted = request.scopes.filter((scope) => scope !== 'orders:write' || shadow || !bob);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        decision: 'grant', scopes: granted, claims: { tier: shadow ? 'platinum' : 'gold' },
        ...(granted.length < request.scopes.length ? { reason: 'orders:write needs the buyer role' } : {}),
      }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/decide` })));
}

export async function startEnvironment(explain: Record<string, unknown> = {}): Promise<Environment> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: UPSTREAM_SECRET, redirect_uris: [`${issuer}/callback/corp`] }],
    users: Object.entries(USER_PASSWORDS).map(([username, password]) => ({ username, password, claims: { email: `${username}@example.org`, email_verified: true, name: username } })),
  });
  const [enforced, shadow] = await Promise.all([authorizer(false), authorizer(true)]);
  const inner = openStore({ type: 'memory' });
  let failing = false;
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (name === 'getRecord' && typeof value === 'function') {
        return (...args: unknown[]) => (failing ? Promise.reject(new Error('storage down')) : (value as (...a: unknown[]) => unknown).apply(target, args));
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const baton = await startBaton({
    explain: { enabled: true, ttl: '1h', readers: ['auditor'], redactClaims: ['email'], ...explain },
    upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: UPSTREAM_SECRET, timeout: '10s' }],
    resources: [{ id: API, scopes: ['orders:read', 'orders:write', 'reports:read'] }],
    authorizers: [
      { id: 'orders', url: enforced.url, namespace: 'orders:', cacheTTL: 0 },
      { id: 'orders-next', url: shadow.url, namespace: 'orders:', cacheTTL: 0, shadow: true },
    ],
    clients: [
      {
        client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [REDIRECT], resources: [{ id: API }], hooks: { module: './explain-hooks.ts' },
        rules: [{ deny: { claim: { name: 'name', equals: 'eve' } }, reason: 'eve may not use the web app' }, { allow: { emailVerified: true } }],
      },
      { client_id: 'service', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API }] },
      { client_id: 'relay', client_secret: '${SERVICE_SECRET}', grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'], resources: [{ id: API }], tokenExchange: { subjectTokenTypes: ['access_token'] } },
      { client_id: 'legacy', client_secret: '${WEB_SECRET}', grant_types: ['password'], resources: [{ id: API }], scopes: ['openid', 'email'], hooks: { module: './explain-hooks.ts' } },
      { client_id: 'auditor', client_secret: AUDITOR_SECRET, grant_types: ['client_credentials'], scopes: [] },
      { client_id: 'spa', token_endpoint_auth_method: 'none', redirect_uris: [REDIRECT] },
    ],
  }, { port, store, configDir: fileURLToPath(new URL('./fixtures/', import.meta.url)) });
  return {
    baton, idp, store: inner,
    failReads: (on) => { failing = on; },
    stop: async () => {
      await baton.stop();
      await idp.stop();
      await Promise.all([enforced, shadow].map(({ server }) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

export interface SignedIn {
  /** The token response (tokens included: the tests scan traces for them). */
  readonly tokens: Record<string, string>;
  /** X-Request-Id of the token response. */
  readonly tokenRequestId: string;
  /** X-Request-Id of every response on the way (authorize, interaction, upstream callback). */
  readonly requestIds: string[];
  /** The code and verifier that were redeemed (never to be found in a trace either). */
  readonly secrets: string[];
  /** The error the app got instead of a code, if any. */
  readonly error?: string;
}

/** Signs `username` in at the upstream through Baton (plain HTTP) and redeems the code. */
export async function signIn(issuer: string, username: keyof typeof USER_PASSWORDS, scope: string): Promise<SignedIn> {
  const agent = new CookieAgent();
  const verifier = client.randomPKCECodeVerifier();
  const requestIds: string[] = [];
  const authorize = new URL(`${issuer}/authorize`);
  for (const [key, value] of Object.entries({
    client_id: 'web', response_type: 'code', redirect_uri: REDIRECT, scope, resource: API, state: client.randomState(), nonce: client.randomNonce(),
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  })) authorize.searchParams.set(key, value);
  let url = authorize;
  const note = (response: Response) => { const id = response.headers.get('x-request-id'); if (id && url.origin === issuer) requestIds.push(id); return response; };
  let response = note(await agent.request(url));
  for (let hops = 0; hops < 30; hops += 1) {
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location')!, url);
      if (url.href.startsWith(REDIRECT)) break;
      response = note(await agent.request(url));
      continue;
    }
    const page = await response.text();
    const action = /<form method="post" action="([^"]+)\/login"/.exec(page)?.[1];
    if (!action) return { tokens: {}, tokenRequestId: '', requestIds, secrets: [verifier], error: 'denied page' };
    url = new URL(`${action.replaceAll('&amp;', '&')}/login`, url);
    response = note(await agent.request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username, password: USER_PASSWORDS[username] }).toString() }));
  }
  const code = url.searchParams.get('code');
  if (!code) return { tokens: {}, tokenRequestId: '', requestIds, secrets: [verifier], error: url.searchParams.get('error') ?? 'no code' };
  const redeemed = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`web:${TEST_ENV.WEB_SECRET}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, resource: API }).toString(),
  });
  return { tokens: await redeemed.json() as Record<string, string>, tokenRequestId: redeemed.headers.get('x-request-id')!, requestIds, secrets: [code, verifier] };
}

/** GET {issuer}/explain/{id} with HTTP Basic credentials. */
export async function readTrace(issuer: string, requestId: string, clientId?: string, secret?: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = clientId === undefined ? {} : { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` };
  const response = await fetch(`${issuer}/explain/${requestId}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) as Record<string, unknown> : {}, headers: response.headers };
}
