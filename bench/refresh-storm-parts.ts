// The parts bench/refresh-storm.ts talks to, all on 127.0.0.1: an authorizer owning `orders:` whose
// outage the runner scripts, and a sign-in through Baton and the test upstream over plain HTTP (no
// browser): authorize, the upstream's login form, the callback, up to the app's redirect with a code.
import { createServer, type Server } from 'node:http';

import * as client from 'openid-client';

import { CookieAgent } from '../test/helpers/browser-less.ts';

export { CookieAgent };

export const NAMESPACE = 'orders:';

export interface BenchAuthorizer {
  readonly url: string;
  /** While true, every decision request answers 503 (the scripted outage). */
  down: boolean;
  readonly calls: { ok: number; refused: number };
  close(): Promise<void>;
}

/** Grants every requested scope of its namespace. A benchmark stand-in: it does not verify Baton's request JWT. */
export async function startAuthorizer(port: number): Promise<BenchAuthorizer> {
  const state = { down: false, calls: { ok: 0, refused: 0 } };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    req.on('end', () => {
      if (state.down) {
        state.calls.refused += 1;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
        return;
      }
      state.calls.ok += 1;
      const scopes = ((JSON.parse(body) as { scopes?: string[] }).scopes ?? []).filter((s) => s.startsWith(NAMESPACE));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: 'grant', scopes }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/decide`,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  });
}

export interface SignInTarget {
  readonly issuer: string;
  readonly clientId: string;
  readonly secret: string;
  readonly redirectUri: string;
  readonly scope: string;
  readonly resource: string;
}

/**
 * Signs `username` in and redeems the code: the refresh token. The first app of a user signs in at
 * the upstream; pass the same `agent` (the browser's cookies) for more apps: they get their tokens
 * from the Baton session, linked to that one upstream sign-in.
 */
export async function signIn(target: SignInTarget, username: string, password: string, agent = new CookieAgent()): Promise<string> {
  const verifier = client.randomPKCECodeVerifier();
  const authorize = new URL(`${target.issuer}/authorize`);
  for (const [key, value] of Object.entries({
    client_id: target.clientId, response_type: 'code', redirect_uri: target.redirectUri, scope: target.scope, resource: target.resource,
    state: client.randomState(), nonce: client.randomNonce(), code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  })) authorize.searchParams.set(key, value);

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

async function redeem(target: SignInTarget, callback: URL, verifier: string): Promise<string> {
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`sign-in refused: ${callback.searchParams.get('error') ?? 'no code'}`);
  const response = await fetch(`${target.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${target.clientId}:${target.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: target.redirectUri, code_verifier: verifier, resource: target.resource }).toString(),
  });
  const body = (await response.json()) as { refresh_token?: string; error?: string };
  if (!body.refresh_token) throw new Error(`code redemption failed: ${body.error ?? response.status}`);
  return body.refresh_token;
}
