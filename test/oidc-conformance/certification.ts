// The set-up the OpenID Foundation's Basic OP plan runs against, rebuilt here: Baton brokering a real
// upstream (oidc-provider), and the client docs/operations.md tells operators to register for the
// suite (confidential, client_secret_basic, no PKCE). `authorize` plays the suite's browser over HTTP.
import * as client from 'openid-client';

import { CookieAgent } from '../helpers/browser-less.ts';
import { freePort, startBaton, type RunningBaton } from '../helpers/baton.ts';
import { startUpstream, type Upstream, type UpstreamOptions } from '../helpers/upstream.ts';

export const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';
export const SUITE_SECRET = 'certification-secret-0123456789';
/** The suite's redirect_uri; never listened on: the HTTP driver stops at it. */
export const SUITE_REDIRECT = 'https://suite.example/test/a/baton/callback';

/** What the upstream knows of the test user: every standard claim a real IdP may carry. */
export const ANN = {
  username: 'ann',
  password: 'ann-pw',
  claims: {
    email: 'ann@example.org', email_verified: true, name: 'Ann Example', given_name: 'Ann', family_name: 'Example',
    preferred_username: 'ann', picture: 'https://example.org/ann.png', locale: 'en-GB',
    phone_number: '+44 20 7946 0000', phone_number_verified: true,
    address: { formatted: '1 Example Street, London', street_address: '1 Example Street', locality: 'London', postal_code: 'N1 1AA', country: 'GB' },
  },
};

export interface Certification {
  readonly baton: RunningBaton;
  readonly idp: Upstream;
  stop(): Promise<void>;
}

/** The certification client as docs/operations.md lists it, plus whatever a module adds to it. */
export function suiteClient(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_id: 'oidf-suite', client_secret: SUITE_SECRET, redirect_uris: [SUITE_REDIRECT],
    requirePkce: false, scopes: ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'],
    ...extra,
  };
}

export async function startCertification(options: { clients?: Array<Record<string, unknown>>; raw?: Record<string, unknown>; upstream?: Record<string, unknown>; upstreamOptions?: Partial<UpstreamOptions> } = {}): Promise<Certification> {
  const port = await freePort();
  const idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: UPSTREAM_SECRET, redirect_uris: [`http://127.0.0.1:${port}/callback/corp`] }],
    users: [ANN],
    ...options.upstreamOptions,
  });
  const baton = await startBaton({
    upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: UPSTREAM_SECRET, scopes: ['openid', 'profile', 'email', 'address', 'phone'], ...options.upstream }],
    clients: options.clients ?? [suiteClient()],
    ...options.raw,
  }, { port });
  return { baton, idp, stop: async () => { await baton.stop(); await idp.stop(); } };
}

export interface Authorized {
  /** Where Baton sent the browser back: the suite's redirect_uri with code or error. */
  readonly callback: URL;
  readonly state: string;
  readonly nonce: string;
  /** How many times the user had to sign in at the upstream on the way. */
  readonly upstreamLogins: number;
}

/**
 * Runs one authorization request the way the suite's browser does: to Baton (GET, or a form POST),
 * through the upstream's login page when it shows one, back to the redirect_uri. `agent` keeps the
 * cookies between requests of one module (the suite's browser session).
 */
export async function authorize(issuer: string, params: Record<string, string | undefined>, agent = new CookieAgent(), method: 'GET' | 'POST' = 'GET'): Promise<Authorized> {
  const state = client.randomState();
  const nonce = client.randomNonce();
  const all = new URLSearchParams();
  for (const [key, value] of Object.entries({ client_id: 'oidf-suite', response_type: 'code', redirect_uri: SUITE_REDIRECT, scope: 'openid', state, nonce, ...params })) {
    if (value !== undefined) all.set(key, value);
  }
  let url = new URL(`${issuer}/authorize`);
  let response: Response;
  if (method === 'POST') {
    response = await agent.request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: all.toString() });
  } else {
    url.search = all.toString();
    response = await agent.request(url);
  }
  let upstreamLogins = 0;
  for (let hops = 0; hops < 30; hops += 1) {
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location')!, url);
      if (url.href.startsWith(SUITE_REDIRECT)) return { callback: url, state: all.get('state') ?? '', nonce: all.get('nonce') ?? '', upstreamLogins };
      response = await agent.request(url);
      continue;
    }
    const page = await response.text();
    const action = /<form method="post" action="([^"]+)\/login"/.exec(page)?.[1];
    if (response.status !== 200 || !action) throw new Error(`authorization stopped at ${url.pathname} (${response.status}): ${page.slice(0, 300)}`);
    upstreamLogins += 1;
    url = new URL(`${action.replaceAll('&amp;', '&')}/login`, url);
    response = await agent.request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username: ANN.username, password: ANN.password }).toString() });
  }
  throw new Error('authorization: too many redirects');
}

/** The suite's relying party: openid-client configured by discovery, client_secret_basic. */
export function suiteRp(issuer: string, clientId = 'oidf-suite', secret = SUITE_SECRET): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretBasic(secret), { execute: [client.allowInsecureRequests] });
}

/** Redeems the code of an authorization the way the suite does (no PKCE, nonce checked). */
export function redeem(rp: client.Configuration, authorized: Authorized, parameters: Record<string, string> = {}) {
  return client.authorizationCodeGrant(rp, authorized.callback, { expectedState: authorized.state, expectedNonce: authorized.nonce }, parameters);
}

export { CookieAgent };
