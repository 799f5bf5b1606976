// Signs a user in through Baton and a test upstream over plain HTTP, without a browser: authorize,
// the upstream's login form, the callback, up to the app's redirect with a code, then the code
// redemption. For tests and benchmarks that need many sign-ins where no page is under test.
import * as client from 'openid-client';

import { CookieAgent } from './browser-less.ts';

export { CookieAgent };

export interface SignInTarget {
  readonly issuer: string;
  readonly clientId: string;
  readonly secret: string;
  readonly redirectUri: string;
  readonly scope: string;
  /** RFC 8707 resource, sent at authorize and at the code redemption when set. */
  readonly resource?: string;
  /** More authorization request parameters (e.g. `idp_hint` past the chooser). */
  readonly authorizeParams?: Readonly<Record<string, string>>;
}

/**
 * Signs `username` in and redeems the code: the refresh token. The first app of a user signs in at
 * the upstream; pass the same `agent` (the browser's cookies) for more apps: they get their tokens
 * from the Baton session, linked to that one upstream sign-in.
 */
export async function signIn(target: SignInTarget, username: string, password: string, agent = new CookieAgent()): Promise<string> {
  const body = await signInForTokens(target, username, password, agent);
  if (!body.refresh_token) throw new Error('code redemption gave no refresh token');
  return body.refresh_token;
}

/** The token response of the code redemption (access, id and refresh tokens). */
export interface TokenResponse {
  readonly access_token: string;
  readonly id_token?: string;
  readonly refresh_token?: string;
  readonly scope?: string;
}

/** As signIn, resolving with the whole token response. */
export async function signInForTokens(target: SignInTarget, username: string, password: string, agent = new CookieAgent()): Promise<TokenResponse> {
  const verifier = client.randomPKCECodeVerifier();
  const authorize = new URL(`${target.issuer}/authorize`);
  for (const [key, value] of Object.entries({
    client_id: target.clientId, response_type: 'code', redirect_uri: target.redirectUri, scope: target.scope, resource: target.resource,
    state: client.randomState(), nonce: client.randomNonce(), code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    ...target.authorizeParams,
  })) if (value !== undefined) authorize.searchParams.set(key, value);

  let url = authorize;
  let response = await agent.request(url);
  for (let hops = 0; hops < 30; hops += 1) {
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location')!, url);
      if (url.href.startsWith(target.redirectUri)) return redeem(target, url, verifier);
      response = await agent.request(url);
      continue;
    }
    const page = await response.text();
    const action = /<form method="post" action="([^"]+)\/login"/.exec(page)?.[1];
    if (response.status !== 200 || !action) throw new Error(`sign-in of ${username} stopped at ${url.pathname} (${response.status})`);
    url = new URL(`${action.replaceAll('&amp;', '&')}/login`, url);
    response = await agent.request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username, password }).toString() });
  }
  throw new Error(`sign-in of ${username}: too many redirects`);
}

async function redeem(target: SignInTarget, callback: URL, verifier: string): Promise<TokenResponse> {
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`sign-in refused: ${callback.searchParams.get('error') ?? 'no code'}`);
  const response = await fetch(`${target.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${target.clientId}:${target.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: target.redirectUri, code_verifier: verifier, ...(target.resource ? { resource: target.resource } : {}) }).toString(),
  });
  const body = (await response.json()) as Partial<TokenResponse> & { error?: string };
  if (!body.access_token) throw new Error(`code redemption failed: ${body.error ?? response.status}`);
  return body as TokenResponse;
}
