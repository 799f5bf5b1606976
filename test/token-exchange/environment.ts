// The world token exchange is tested in: real upstream OpenID Providers (Google-like, multi-tenant
// Entra-like, one no client may exchange from), a trusted JWT issuer (jose key behind a JWKS URL),
// a real HTTP authorizer owning `orders:`, and a real Baton configured with per-client policies.
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import * as client from 'openid-client';

import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { discover } from '../helpers/rp.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

export const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TYPE = {
  id_token: 'urn:ietf:params:oauth:token-type:id_token',
  access_token: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;
export const ORDERS = 'https://orders.api.example';
export const BILLING = 'https://billing.api.example';
export const AUDIT = 'https://audit.api.example';
export const TENANT = '3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8';
export const PARTNER = 'https://partner.example';
export const OTHER_PARTNER = 'https://other-partner.example';
const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';
const REDIRECT = 'https://baton.invalid/callback/google';
/** Where the `web` app (authorization code flow) gets its codes back. */
export const WEB_REDIRECT = 'https://web.example/cb';

/** A JWKS document served on 127.0.0.1: its URL, and how to stop serving it. */
export async function serveJwks(keys: readonly object[]): Promise<{ url: string; close(): Promise<void> }> {
  const body = JSON.stringify({ keys });
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Baton's configuration with one client, `gateway`, that may exchange `PARTNER`'s JWTs (keys at `jwksUri`, audience `baton`) for ORDERS' `orders:read`. */
export function gatewayConfig(jwksUri: string): Record<string, unknown> {
  return {
    resources: [{ id: ORDERS, scopes: ['orders:read'] }],
    tokenExchange: { trustedIssuers: [{ issuer: PARTNER, jwksUri, audiences: ['baton'] }] },
    clients: [{ client_id: 'gateway', client_secret: '${SERVICE_SECRET}', grant_types: [TE], resources: [{ id: ORDERS }], tokenExchange: { subjectTokenTypes: ['jwt'], issuers: [PARTNER] } }],
  };
}

export interface Issuer {
  readonly issuer: string;
  readonly jwksUri: string;
  sign(claims: Record<string, unknown>, options?: { foreignKey?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

/** A trusted issuer: an ES256 key, its JWKS served on 127.0.0.1, `iss` = `issuer`. */
export async function startIssuer(issuer: string): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'partner-1', alg: 'ES256', use: 'sig' };
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const jwksUri = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks`;
  return {
    issuer,
    jwksUri,
    async sign(claims, { foreignKey = false } = {}) {
      const key = foreignKey ? (await generateKeyPair('ES256')).privateKey : privateKey;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, sub: 'partner-user', aud: 'baton', iat: now, exp: now + 300, jti: randomUUID(), ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'partner-1', typ: 'JWT' }).sign(key);
    },
    stop: () => close(server),
  };
}

export interface Authorizer {
  /** Subjects the authorizer lets have `orders:write`. */
  readonly writers: Set<string>;
  readonly seen: Array<{ subject: string; grant_type: string; scopes: string[] }>;
  stop(): Promise<void>;
}

/** An authorizer owning `orders:`: grants what is asked, except `orders:write` to non-writers. */
async function startAuthorizer(batonUrl: string): Promise<Authorizer & { url: string }> {
  const jwks = createRemoteJWKSet(new URL(`${batonUrl}/jwks`));
  const writers = new Set<string>();
  const seen: Authorizer['seen'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', async () => {
      try {
        await jwtVerify((req.headers.authorization ?? '').replace(/^Bearer /, ''), jwks, { issuer: batonUrl, audience: 'orders' });
        const request = JSON.parse(body) as Authorizer['seen'][number];
        seen.push(request);
        const scopes = request.scopes.filter((s) => s !== 'orders:write' || writers.has(request.subject));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: 'grant', scopes }));
      } catch {
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/decide`, writers, seen, stop: () => close(server) };
}

export interface Environment {
  readonly baton: RunningBaton;
  readonly google: Upstream;
  readonly entra: Upstream;
  readonly stranger: Upstream;
  readonly partner: Issuer;
  readonly otherPartner: Issuer;
  readonly authorizer: Authorizer;
  stop(): Promise<void>;
}

export async function startEnvironment(): Promise<Environment> {
  const port = await freePort();
  const batonUrl = `http://127.0.0.1:${port}`;
  const users = [{ username: 'ana@example.org', password: 'ana-pw', claims: { email: 'ana@example.org', name: 'Ana Example' } }];
  const [google, entra, stranger, partner, otherPartner, authorizer] = await Promise.all([
    startUpstream({ profile: 'google', users, clients: [{ client_id: 'baton-at-google', client_secret: UPSTREAM_SECRET, redirect_uris: [REDIRECT, `${batonUrl}/callback/google`] }, { client_id: 'mobile-app', redirect_uris: [REDIRECT] }] }),
    startUpstream({ profile: 'entra', tenantId: TENANT, users, clients: [{ client_id: 'baton-at-entra', client_secret: UPSTREAM_SECRET, redirect_uris: [REDIRECT] }] }),
    startUpstream({ profile: 'generic', users, clients: [{ client_id: 'baton-at-stranger', client_secret: UPSTREAM_SECRET, redirect_uris: [REDIRECT] }] }),
    startIssuer(PARTNER),
    startIssuer(OTHER_PARTNER),
    startAuthorizer(batonUrl),
  ]);
  const gatewayPolicy = {
    subjectTokenTypes: ['id_token', 'access_token', 'jwt'], upstreams: ['google', 'contoso'], upstreamAudiences: ['mobile-app'], issuers: [PARTNER], actors: true, maxAge: '5m', beyondSubjectScopes: true,
  };
  const baton = await startBaton({
    upstreams: [
      { id: 'google', preset: 'google', issuer: google.issuer, clientId: 'baton-at-google', clientSecret: UPSTREAM_SECRET },
      { id: 'contoso', preset: 'entra', issuer: `${entra.url}/{tenantid}/v2.0`, discoveryUrl: entra.commonDiscoveryUrl, tenants: [TENANT], clientId: 'baton-at-entra', clientSecret: UPSTREAM_SECRET },
      { id: 'stranger', issuer: stranger.issuer, clientId: 'baton-at-stranger', clientSecret: UPSTREAM_SECRET },
    ],
    resources: [
      { id: ORDERS, scopes: ['orders:read', 'orders:write'] },
      { id: BILLING, scopes: ['billing:read', 'billing:admin'] },
      { id: AUDIT, audience: 'audit', scopes: ['audit:read'], accessTokenFormat: 'opaque' },
    ],
    authorizers: [{ id: 'orders', url: authorizer.url, namespace: 'orders:', cacheTTL: 0 }],
    tokenExchange: { trustedIssuers: [PARTNER, OTHER_PARTNER].map((iss, i) => ({ issuer: iss, jwksUri: [partner, otherPartner][i]!.jwksUri, audiences: ['baton', batonUrl] })) },
    clients: [
      {
        client_id: 'gateway', client_secret: '${SERVICE_SECRET}', grant_types: [TE, 'client_credentials'],
        resources: [{ id: ORDERS }, { id: BILLING, scopes: ['billing:read'] }, { id: AUDIT }], tokenExchange: gatewayPolicy,
      },
      { client_id: 'worker', client_secret: '${SERVICE_SECRET}', grant_types: [TE, 'client_credentials'], resources: [{ id: BILLING }], tokenExchange: { subjectTokenTypes: ['access_token'], actors: true, beyondSubjectScopes: true } },
      // Exchanges users' access tokens without beyondSubjectScopes (downscoping), with refresh tokens.
      { client_id: 'relay', client_secret: '${SERVICE_SECRET}', grant_types: [TE, 'refresh_token'], resources: [{ id: ORDERS }, { id: AUDIT }], tokenExchange: { subjectTokenTypes: ['access_token'], refreshToken: true } },
      // An app users sign in to (authorization code): its access tokens are what `relay` exchanges.
      {
        client_id: 'web', client_secret: '${WEB_SECRET}', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [WEB_REDIRECT], post_logout_redirect_uris: [WEB_REDIRECT],
        upstreams: ['google'], resources: [{ id: ORDERS }],
      },
      { client_id: 'delegating-app', client_secret: '${SERVICE_SECRET}', grant_types: [TE], resources: [{ id: ORDERS }], tokenExchange: { subjectTokenTypes: ['id_token'], upstreams: ['google'] }, hooks: { module: './may-act-hooks.ts' } },
      { client_id: 'long-lived', client_secret: '${SERVICE_SECRET}', grant_types: [TE, 'refresh_token'], resources: [{ id: ORDERS }], tokenExchange: { subjectTokenTypes: ['id_token'], upstreams: ['google'], refreshToken: true } },
      { client_id: 'id-only', client_secret: '${SERVICE_SECRET}', grant_types: [TE], resources: [{ id: ORDERS }], tokenExchange: { subjectTokenTypes: ['id_token'], upstreams: ['google'] } },
      {
        client_id: 'ruled', client_secret: '${SERVICE_SECRET}', grant_types: [TE], resources: [{ id: ORDERS }], tokenExchange: { subjectTokenTypes: ['id_token'], upstreams: ['google'] },
        rules: [{ deny: { emailDomain: ['blocked.example'] }, reason: 'blocked.example accounts may not use this API' }, { allow: {} }],
      },
      { client_id: 'no-policy', client_secret: '${SERVICE_SECRET}', grant_types: [TE], resources: [{ id: ORDERS }] },
      // Accepts Google and Entra id_tokens for exchange, but its users may only come from Google (clients[].upstreams).
      { client_id: 'google-users', client_secret: '${SERVICE_SECRET}', grant_types: [TE], resources: [{ id: ORDERS }], upstreams: ['google'], tokenExchange: { subjectTokenTypes: ['id_token'], upstreams: ['google', 'contoso'] } },
      { client_id: 'no-grant', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: ORDERS }] },
    ],
  }, { port, configDir: fileURLToPath(new URL('./fixtures/', import.meta.url)) });
  return {
    baton, google, entra, stranger, partner, otherPartner, authorizer,
    async stop() {
      await baton.stop();
      await Promise.all([google.stop(), entra.stop(), stranger.stop(), partner.stop(), otherPartner.stop(), authorizer.stop()]);
    },
  };
}

/** RFC 8693 request through openid-client's generic grant (the client library under test). */
export async function exchange(baton: RunningBaton, clientId: string, params: Record<string, string | string[]>) {
  const rp = await discover(baton.url, clientId, TEST_ENV.SERVICE_SECRET);
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) for (const v of [value].flat()) body.append(key, v);
  return client.genericGrantRequest(rp, TE, body);
}

/** The error code and description of a refused request (openid-client's ResponseBodyError). */
export async function refusal(promise: Promise<unknown>): Promise<{ error?: string; error_description?: string; status?: number }> {
  try {
    await promise;
  } catch (err) {
    const { error, error_description, status } = err as { error?: string; error_description?: string; status?: number };
    return { error, error_description, status };
  }
  throw new Error('expected the request to be refused');
}

export async function clientCredentials(baton: RunningBaton, clientId: string, resource: string): Promise<string> {
  const rp = await discover(baton.url, clientId, TEST_ENV.SERVICE_SECRET);
  return (await client.clientCredentialsGrant(rp, { resource })).access_token;
}

/** Baton's JWT access token, verified against its JWKS. */
export async function verifyAccessToken(baton: RunningBaton, token: string, audience: string) {
  return jwtVerify(token, createRemoteJWKSet(new URL(`${baton.url}/jwks`)), { issuer: baton.url, audience, typ: 'at+jwt' });
}

/** A real sign-in at the upstream (login form, automatic consent) and code exchange: its id_token. */
export async function signInUpstream(upstream: Upstream, username: string, password: string): Promise<string> {
  const rp = await client.discovery(new URL(upstream.issuer), 'baton-at-google', undefined, client.ClientSecretBasic(UPSTREAM_SECRET), { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  let url = client.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT, scope: 'openid email profile', nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const cookies = new Map<string, string>();
  const send = async (target: URL, init: RequestInit = {}) => {
    const response = await fetch(target, { ...init, redirect: 'manual', headers: { ...init.headers as Record<string, string>, cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of response.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [name, ...value] = pair!.split('=');
      cookies.set(name!, value.join('='));
    }
    return response;
  };
  let response = await send(url);
  for (let step = 0; step < 12; step += 1) {
    const location = response.headers.get('location');
    if (location) {
      url = new URL(location, url);
      if (url.href.startsWith(REDIRECT)) {
        const tokens = await client.authorizationCodeGrant(rp, url, { pkceCodeVerifier: verifier, expectedNonce: nonce });
        return tokens.id_token!;
      }
      response = await send(url);
      continue;
    }
    const action = /action="([^"]+\/login)"/.exec(await response.text())?.[1];
    if (!action) throw new Error(`unexpected upstream page (HTTP ${response.status})`);
    url = new URL(action, url);
    response = await send(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username, password }).toString() });
  }
  throw new Error('the upstream sign-in did not finish');
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
