// A real upstream OpenID Provider (oidc-provider) on 127.0.0.1 playing a company IdP (Entra ID, Google,
// generic), with a login page, request counters and injectable failures, for federation tests.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, type ServerResponse } from 'node:http';

import { importJWK, SignJWT, type JWK } from 'jose';
import type Provider from 'oidc-provider';

import { freePort } from './baton.ts';
import { handleInteraction } from './upstream-login.ts';
import { buildUpstreamProvider, generateSigningKey, ROUTES, type ProviderSetup, type SigningJwk } from './upstream-provider.ts';

export type UpstreamProfile = 'entra' | 'google' | 'generic';
export type UpstreamEndpoint = 'token' | 'discovery' | 'jwks' | 'userinfo' | 'revocation' | 'authorize';
export type FailureMode = 'none' | 'down' | 'slow' | 'error' | 'hold';

export interface UpstreamClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  /** Defaults to client_secret_basic with a secret, none without. */
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'none';
  post_logout_redirect_uris?: string[];
  /** Also a device-flow client (RFC 8628) at the upstream's device authorization endpoint. */
  device?: boolean;
}

export interface UpstreamUser {
  username: string;
  password: string;
  /** Overrides the profile's subject (entra: pairwise per client; google: numeric; generic: username). */
  sub?: string;
  claims: Record<string, unknown>;
}

export interface UpstreamOptions {
  profile: UpstreamProfile;
  clients: UpstreamClient[];
  users: UpstreamUser[];
  /** entra only; a random GUID by default. */
  tenantId?: string;
  accessTokenTTL?: number;
  idTokenTTL?: number;
  /** google only: also drop the id_token from refresh responses (oidc-provider issues one). */
  omitIdTokenOnRefresh?: boolean;
  /** Rewrites each successful refresh response body (e.g. an id_token for another user). */
  refreshResponse?: (body: Record<string, unknown>) => Promise<void> | void;
  /** The acr and amr of every sign-in, released in the id_token with scope openid. */
  authentication?: { acr: string; amr: string[] };
  /** Plays an IdP that ignores prompt=login and max_age: its session is reused whatever is asked. */
  ignoreReauthentication?: boolean;
}

export interface UpstreamCounters {
  /** Every POST to the token endpoint, refreshes included. */
  token: number;
  /** Token endpoint POSTs with grant_type=refresh_token. */
  refresh: number;
  revocation: number;
  /** GET/POST to the authorization endpoint (not the internal resume step). */
  authorize: number;
}

export interface IssueIdTokenOptions {
  /** Sign with a fresh key that the JWKS does not publish. */
  foreignKey?: boolean;
  /** Extra/overriding JOSE header parameters (e.g. a `kid` nobody knows, `alg`). */
  header?: Record<string, unknown>;
}

export interface Upstream {
  readonly profile: UpstreamProfile;
  readonly issuer: string;
  /** Origin, `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly discoveryUrl: string;
  /** entra only: `/common/v2.0/.well-known/openid-configuration` with the `{tenantid}` issuer. */
  readonly commonDiscoveryUrl: string | undefined;
  /** entra: the tenant id (also in `tid`); others: ''. */
  readonly tenantId: string;
  readonly counters: UpstreamCounters;
  /** Raw `token` values received at the revocation endpoint, in order (also when a failure was injected). */
  readonly revoked: string[];
  /** The query of every request to the authorization endpoint, in order. */
  readonly authorizeRequests: URLSearchParams[];
  /** The current oidc-provider instance (replaced by rotateKeys). */
  readonly provider: Provider;
  /**
   * 'down' destroys the socket, 'slow' answers 504 after `delayMs` (35 s by default), 'error' answers
   * 500 `{"error":"server_error"}`, 'hold' answers normally after `delayMs`, 'none' restores.
   * Applies to `endpoints` (default: all).
   */
  fail(mode: FailureMode, endpoints?: UpstreamEndpoint[], options?: { delayMs?: number }): void;
  /** Stops listening (connections refused, as when the IdP is down); its state is kept. */
  stopServing(): Promise<void>;
  /** Listens again on the same port, with the same state (sessions, grants, refresh tokens). */
  serveAgain(): Promise<void>;
  /** Publishes a new signing key first in the JWKS; every token issued afterwards carries its kid. */
  rotateKeys(): Promise<void>;
  /** Kid of the key new tokens are signed with. */
  readonly currentKid: string;
  /** Signs an arbitrary id_token: iss/aud(first client)/sub/iat/exp defaults, overridden by `claims` (undefined removes). */
  issueIdToken(claims?: Record<string, unknown>, options?: IssueIdTokenOptions): Promise<string>;
  stop(): Promise<void>;
}

const ALL_ENDPOINTS: UpstreamEndpoint[] = ['token', 'discovery', 'jwks', 'userinfo', 'revocation', 'authorize'];
const COMMON_DISCOVERY = '/common/v2.0/.well-known/openid-configuration';

export async function startUpstream(options: UpstreamOptions): Promise<Upstream> {
  const { profile } = options;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const tenantId = profile === 'entra' ? (options.tenantId ?? randomUUID()) : '';
  const prefix = profile === 'entra' ? `/${tenantId}/v2.0` : '';
  const issuer = `${url}${prefix}`;
  const keys: SigningJwk[] = [generateSigningKey()];
  const setup: ProviderSetup = { options, issuer, prefix, tenantId, keys, cookieKeys: [randomBytes(32).toString('hex')], storage: new Map() };
  let provider = buildUpstreamProvider({ ...setup, keys: structuredClone(keys) });
  let callback = provider.callback();

  const routes = ROUTES[profile];
  const byPath = new Map<string, UpstreamEndpoint>([
    [routes.token, 'token'], [routes.authorization, 'authorize'], [routes.jwks, 'jwks'], [routes.userinfo, 'userinfo'],
    [routes.revocation, 'revocation'], ['/.well-known/openid-configuration', 'discovery'],
  ]);
  const failures = new Map<UpstreamEndpoint, { mode: Exclude<FailureMode, 'none' | 'hold'>; delayMs: number }>();
  const holds = new Map<UpstreamEndpoint, number>();
  const counters: UpstreamCounters = { token: 0, refresh: 0, revocation: 0, authorize: 0 };
  const revoked: string[] = [];
  const authorizeRequests: URLSearchParams[] = [];
  const held = new Set<NodeJS.Timeout>();
  let commonDiscovery = '';

  function classify(pathname: string): UpstreamEndpoint | undefined {
    if (profile === 'entra' && pathname === COMMON_DISCOVERY) return 'discovery';
    return pathname.startsWith(prefix) ? byPath.get(pathname.slice(prefix.length)) : undefined;
  }

  function inject(mode: 'down' | 'slow' | 'error', delayMs: number, res: ServerResponse): void {
    if (mode === 'down') {
      res.socket?.destroy();
    } else if (mode === 'error') {
      json(res, 500, { error: 'server_error', error_description: 'injected upstream failure' });
    } else {
      const timer = setTimeout(() => {
        held.delete(timer);
        if (!res.writableEnded) json(res, 504, { error: 'temporarily_unavailable', error_description: 'injected upstream delay' });
      }, delayMs);
      timer.unref();
      held.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        held.delete(timer);
      });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname, search } = new URL(req.url ?? '/', url);
    const endpoint = classify(pathname);
    let body: Buffer | undefined;
    if (req.method === 'POST' && (endpoint === 'token' || endpoint === 'revocation')) {
      body = await readBody(req);
      const form = new URLSearchParams(body.toString('utf8'));
      if (endpoint === 'token') {
        counters.token += 1;
        if (form.get('grant_type') === 'refresh_token') counters.refresh += 1;
      } else {
        counters.revocation += 1;
        const token = form.get('token');
        if (token !== null) revoked.push(token);
      }
    } else if (endpoint === 'authorize') {
      counters.authorize += 1;
      authorizeRequests.push(new URLSearchParams(search));
    }
    const failure = endpoint && failures.get(endpoint);
    if (failure) return inject(failure.mode, failure.delayMs, res);
    const hold = endpoint && holds.get(endpoint);
    if (hold) await new Promise((resolve) => setTimeout(resolve, hold));

    if (profile === 'entra' && pathname === COMMON_DISCOVERY) return json(res, 200, JSON.parse(commonDiscovery));
    if (prefix && pathname !== prefix && !pathname.startsWith(`${prefix}/`)) return json(res, 404, { error: 'not_found' });
    const rest = pathname.slice(prefix.length) || '/';
    if (rest.startsWith('/interaction/')) return handleInteraction(provider, profile, options.users, req, res, prefix, rest, options.authentication);
    // Mounted below the issuer path: the provider routes on the stripped URL and derives its
    // endpoint URLs from req.originalUrl (oidc-provider's "mounting" contract).
    const target = body ? replay(req, body) : req;
    Object.assign(target, { originalUrl: req.url });
    target.url = `${rest}${endpoint === 'authorize' && options.ignoreReauthentication ? withoutReauthentication(search) : search}`;
    await callback(target, res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  const discoveryUrl = `${issuer}/.well-known/openid-configuration`;
  if (profile === 'entra') {
    // Real Entra: the multi-tenant document is the tenant's with a templated issuer.
    const tenantDoc = (await (await fetch(discoveryUrl)).json()) as Record<string, unknown>;
    commonDiscovery = JSON.stringify({ ...tenantDoc, issuer: `${url}/{tenantid}/v2.0` });
  }

  return {
    profile,
    issuer,
    url,
    discoveryUrl,
    commonDiscoveryUrl: profile === 'entra' ? `${url}${COMMON_DISCOVERY}` : undefined,
    tenantId,
    counters,
    revoked,
    authorizeRequests,
    get provider() {
      return provider;
    },
    get currentKid() {
      return keys[0]!.kid;
    },
    fail(mode, endpoints = ALL_ENDPOINTS, { delayMs = 35_000 } = {}) {
      for (const endpoint of endpoints) {
        failures.delete(endpoint);
        holds.delete(endpoint);
        if (mode === 'hold') holds.set(endpoint, delayMs);
        else if (mode !== 'none') failures.set(endpoint, { mode, delayMs });
      }
    },
    async stopServing() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async serveAgain() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
    },
    async rotateKeys() {
      // Same adapter storage and cookie keys: sessions, grants and tokens survive the rebuild.
      keys.unshift(generateSigningKey());
      provider = buildUpstreamProvider({ ...setup, keys: structuredClone(keys) });
      callback = provider.callback();
    },
    async issueIdToken(claims = {}, { foreignKey = false, header = {} } = {}) {
      const jwk = foreignKey ? generateSigningKey() : keys[0]!;
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer, aud: options.clients[0]?.client_id, sub: 'upstream-test-subject', iat: now, exp: now + (options.idTokenTTL ?? 3600),
        ...(profile === 'entra' ? { tid: tenantId, ver: '2.0' } : {}),
        ...claims,
      };
      for (const [key, value] of Object.entries(payload)) if (value === undefined) delete payload[key];
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT', ...header }).sign(await importJWK(jwk as JWK, 'RS256'));
    },
    async stop() {
      for (const timer of held) clearTimeout(timer);
      held.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A request whose body can be read again, after the counters have looked at it. */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  Object.assign(copy, { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders });
  copy.httpVersion = req.httpVersion;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  // Without `complete`, destroying the (auto-destroyed) copy would take the socket down with it.
  copy.complete = true;
  copy.push(body);
  copy.push(null);
  return copy;
}

/** The query without prompt=login and max_age: what an IdP that ignores them acts on. */
function withoutReauthentication(search: string): string {
  const params = new URLSearchParams(search);
  params.delete('max_age');
  if (params.get('prompt') === 'login') params.delete('prompt');
  return `?${params.toString()}`;
}
