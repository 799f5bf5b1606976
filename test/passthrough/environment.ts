// The passthrough test environment: real upstream OPs (multi-tenant Entra with a rotating refresh
// token, Google without rotation) where the apps are registered, a real authorizer that verifies
// Baton's JWT, Baton with three passthrough issuers, Chromium, and the app's redirect target.
import { createServer, type Server } from 'node:http';

import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { pino } from 'pino';
import type { Page } from 'playwright-core';

import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, startBaton, type RunningBaton } from '../helpers/baton.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

export const TENANT = '9b1f6c2e-3d4a-4e5f-8a7b-1c2d3e4f5a6b';
export const ORDERS_API = 'https://orders.api.example';
export const SECRETS = { crm: 'crm-app-secret-0123456789', other: 'other-app-secret-0123456789', mail: 'mail-app-secret-0123456789', baton: 'baton-at-upstream-0123456789' };

export interface Environment {
  baton: RunningBaton;
  entra: Upstream;
  google: Upstream;
  browser: LaunchedBrowser;
  app: RedirectTarget;
  /** The subjects the authorizer was asked about. */
  authorized: string[];
  /** How the orders authorizer answers from now on: as usual, 503, or a deny. */
  authorizerMode(mode: AuthorizerMode): void;
  /** Every line Baton logged (no redaction: handlers must not pass secrets in the first place). */
  logs: string[];
  issuer(id: string): string;
  stop(): Promise<void>;
}

export type AuthorizerMode = 'grant' | 'down' | 'deny';

export interface EnvironmentOptions {
  /** Baton's `storage` (memory by default). */
  readonly storage?: Record<string, unknown>;
  /** More `passthrough` entries, after the three every test file has. */
  readonly passthrough?: Array<Record<string, unknown>>;
}

export async function startEnvironment(options: EnvironmentOptions = {}): Promise<Environment> {
  const port = await freePort();
  const batonUrl = `http://127.0.0.1:${port}`;
  const [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
  const entra = await startUpstream({
    profile: 'entra',
    tenantId: TENANT,
    clients: [
      { client_id: 'crm-app', client_secret: SECRETS.crm, redirect_uris: [app.redirectUri] },
      { client_id: 'other-app', client_secret: SECRETS.other, token_endpoint_auth_method: 'client_secret_post', redirect_uris: [app.redirectUri] },
      { client_id: 'baton', client_secret: SECRETS.baton, redirect_uris: [`${batonUrl}/callback/contoso`] },
    ],
    users: [
      { username: 'alice@contoso.com', password: 'alice-pw', claims: { name: 'Alice Contoso', preferred_username: 'alice@contoso.com', email: 'alice@contoso.com' } },
      { username: 'blocked@contoso.com', password: 'blocked-pw', claims: { email: 'blocked@contoso.com' } },
      { username: 'eve@fabrikam.com', password: 'eve-pw', claims: { email: 'eve@fabrikam.com' } },
    ],
  });
  const google = await startUpstream({
    profile: 'google',
    clients: [
      { client_id: 'mail-app', client_secret: SECRETS.mail, redirect_uris: [app.redirectUri] },
      // A TV app: public, device flow only (its redirect URI is never used).
      { client_id: 'tv-app', redirect_uris: [app.redirectUri], device: true },
    ],
    users: [{ username: 'bob@example.org', password: 'bob-pw', claims: { email: 'bob@example.org', name: 'Bob Example' } }],
  });

  const authorized: string[] = [];
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => { logs.push(line); } });
  const answering = { mode: 'grant' as AuthorizerMode };
  const authorizer = await startAuthorizer(batonUrl, authorized, answering);
  const baton = await startBaton({
    upstreams: [
      { id: 'contoso', preset: 'entra', issuer: `${entra.url}/{tenantid}/v2.0`, discoveryUrl: entra.commonDiscoveryUrl, tenants: [TENANT], clientId: 'baton', clientSecret: SECRETS.baton },
      { id: 'google', preset: 'google', issuer: google.issuer, clientId: 'baton', clientSecret: SECRETS.baton },
    ],
    resources: [{ id: ORDERS_API, scopes: ['orders:read', 'orders:write'] }],
    authorizers: [{ id: 'orders', url: authorizer.url, namespace: 'orders:', cacheTTL: 0 }],
    passthrough: [
      {
        id: 'crm', upstream: 'contoso', clients: ['crm-app', 'other-app'], resource: { id: ORDERS_API },
        rules: [{ deny: { emailDomain: ['fabrikam.com'] }, reason: 'Fabrikam accounts are not accepted here' }, { allow: {} }],
        hooks: { module: './fixtures/hooks.ts' },
      },
      { id: 'mail', upstream: 'google', clients: ['mail-app', 'tv-app'], refreshTokens: 'handle' },
      { id: 'mail-jwe', upstream: 'google', clients: ['mail-app'], refreshTokens: 'jwe' },
      ...(options.passthrough ?? []),
    ],
    ...(options.storage ? { storage: options.storage } : {}),
  }, { port, configDir: new URL('.', import.meta.url).pathname, logger });

  return {
    baton, entra, google, browser, app, authorized, logs,
    authorizerMode: (mode) => { answering.mode = mode; },
    issuer: (id) => `${baton.url}/passthrough/${id}`,
    async stop() {
      await Promise.all([browser.close(), app.stop()]);
      await Promise.all([baton.stop(), entra.stop(), google.stop(), new Promise((resolve) => authorizer.server.close(resolve))]);
    },
  };
}

/** The orders authorizer: verifies Baton's JWT against its JWKS, grants orders:read only (or, as told, is down or denies). */
async function startAuthorizer(batonUrl: string, authorized: string[], answering: { mode: AuthorizerMode }): Promise<{ url: string; server: Server }> {
  const jwks = createRemoteJWKSet(new URL(`${batonUrl}/jwks`));
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', async () => {
      try {
        await jwtVerify((req.headers.authorization ?? '').replace(/^Bearer /, ''), jwks, { issuer: batonUrl, audience: 'orders' });
        const request = JSON.parse(body) as { subject: string; scopes: string[] };
        authorized.push(request.subject);
        if (answering.mode === 'down') return void res.writeHead(503).end();
        if (answering.mode === 'deny') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: 'deny', reason: 'suspended' }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: 'grant', scopes: request.scopes.filter((s) => s === 'orders:read'), claims: { tier: 'gold' } }));
      } catch {
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/decide`, server };
}

/** The app: openid-client configured by the passthrough issuer's discovery, with its upstream credentials. */
export function app(issuer: string, clientId: string, secret: string, method: 'basic' | 'post' = 'basic'): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), clientId, undefined, method === 'post' ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret), { execute: [client.allowInsecureRequests] });
}

export interface Authorization {
  readonly callback: URL;
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
}

/**
 * The browser leg, straight at the upstream (the authorization endpoint the passthrough discovery
 * keeps): sign in when asked, come back to the app with a code.
 * The upstream's RFC 9207 `iss` is taken off the callback: it names the upstream, which answered
 * the browser, not the passthrough issuer the app was configured with (docs/passthrough.md).
 */
export async function authorize(page: Page, env: Environment, rp: client.Configuration, user?: { username: string; password: string }): Promise<Authorization> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: env.app.redirectUri, scope: 'openid profile email', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  await page.goto(url.href);
  if (user) await signInAtUpstream(page, user.username, user.password);
  await page.waitForURL((u) => u.href.startsWith(env.app.redirectUri), { timeout: 15_000 });
  const callback = new URL(page.url());
  callback.searchParams.delete('iss');
  return { callback, verifier, state, nonce };
}

export function redeem(rp: client.Configuration, auth: Authorization, verifier = auth.verifier) {
  return client.authorizationCodeGrant(rp, auth.callback, { pkceCodeVerifier: verifier, expectedState: auth.state, expectedNonce: auth.nonce });
}
