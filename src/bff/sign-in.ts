// `GET login` and `GET callback`: an authorization code flow with PKCE S256, state and nonce
// (RFC 6749 section 4.1, RFC 7636, OpenID Connect Core 3.1) run by openid-client for the BFF's
// confidential client; the state is bound to the browser by a cookie (RFC 9700 section 4.7.1).
// The session id is new at every sign-in (session fixation), and returnTo stays on the app's origins.
import type { Context } from 'koa';
import * as client from 'openid-client';

import { clientConfig } from '../config/clients.ts';
import type { BatonConfig } from '../config/schema.ts';
import { storedTokenId } from '../storage/token-ids.ts';
import { randomId, storedKey } from './cookie.ts';
import type { BffDeps, BffEntry } from './entries.ts';
import { BffError, invalidRequest } from './errors.ts';
import { issuedAccessToken } from './tokens.ts';

const LOGIN_KIND = 'bff-login';
/** Authorization request parameters the SPA may pass through `login`. */
const PASSED_THROUGH = ['prompt', 'login_hint', 'idp_hint', 'max_age', 'ui_locales'] as const;
/** Protocol claims of the id_token that `user` does not repeat. */
const PROTOCOL_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 's_hash', 'azp', 'sid', 'jti', 'auth_time']);

interface PendingLogin {
  readonly bff: string;
  readonly verifier: string;
  readonly nonce: string;
  readonly returnTo: string;
  /** SHA-256 of the login cookie's value. */
  readonly browser: string;
}

/** The scopes asked for: the entry's OpenID scopes plus those the client may get at each user route's resource. */
export function requestedScopes(config: BatonConfig, entry: BffEntry): { scope: string; resources: string[] } {
  const registered = clientConfig(config, entry.config.client_id)!;
  const resources = [...new Set(entry.config.routes.filter((r) => r.token === 'user').map((r) => r.resource!))];
  const scopes = new Set(entry.config.scopes);
  for (const id of resources) {
    const allowed = registered.resources.find((r) => r.id === id);
    for (const scope of allowed?.scopes ?? config.resources.find((r) => r.id === id)?.scopes ?? []) scopes.add(scope);
  }
  return { scope: [...scopes].join(' '), resources };
}

/** `returnTo`: an absolute URL on one of the app's origins (default: the first origin). */
function returnTarget(entry: BffEntry, value: string | undefined): string {
  if (value === undefined || value === '') return `${entry.config.origins[0]}/`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidRequest('returnTo must be an absolute URL on one of the app\'s origins');
  }
  // A blob: or filesystem: URL has the origin of the page that made it, but it is not a page on the app.
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !entry.config.origins.includes(url.origin)) throw invalidRequest('returnTo must be on one of the app\'s origins');
  if (url.username !== '' || url.password !== '') throw invalidRequest('returnTo must not carry credentials');
  return url.href;
}

export async function login(ctx: Context, deps: BffDeps, entry: BffEntry): Promise<void> {
  const query = ctx.query;
  const single = (name: string) => {
    const value = query[name];
    if (Array.isArray(value)) throw invalidRequest(`${name} must not be repeated`);
    return value;
  };
  const returnTo = returnTarget(entry, single('returnTo'));
  const rp = await entry.rp();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const verifier = client.randomPKCECodeVerifier();
  const browser = randomId();
  const ttl = deps.config.ttl.interaction;
  await deps.store.putRecord<PendingLogin>(LOGIN_KIND, storedKey(state), { bff: entry.config.id, verifier, nonce, returnTo, browser: storedKey(browser) }, { expiresIn: ttl });
  const { scope, resources } = requestedScopes(deps.config, entry);
  const params = new URLSearchParams({ redirect_uri: entry.redirectUri, scope, state, nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  for (const resource of resources) params.append('resource', resource);
  for (const name of PASSED_THROUGH) {
    const value = single(name);
    if (typeof value === 'string' && value !== '') params.set(name, value);
  }
  entry.cookies.setLogin(ctx, browser, ttl);
  ctx.redirect(client.buildAuthorizationUrl(rp, params).href);
}

export async function callback(ctx: Context, deps: BffDeps, entry: BffEntry): Promise<void> {
  const state = typeof ctx.query.state === 'string' ? ctx.query.state : undefined;
  if (!state) throw invalidRequest('the callback has no state');
  const key = storedKey(state);
  const pending = (await deps.store.getRecord<PendingLogin>(LOGIN_KIND, key))?.value;
  // One use only, whatever happens next.
  await deps.store.deleteRecord(LOGIN_KIND, key);
  const browser = entry.cookies.login(ctx);
  entry.cookies.clearLogin(ctx);
  if (!pending || pending.bff !== entry.config.id) throw invalidRequest('this sign-in is unknown or has expired; start again');
  if (!browser || storedKey(browser) !== pending.browser) throw invalidRequest('this sign-in was started in another browser');
  if (typeof ctx.query.error === 'string') {
    // The user cancelled or was refused: back to the app, which shows it.
    const back = new URL(pending.returnTo);
    back.searchParams.set('error', ctx.query.error);
    ctx.redirect(back.href);
    return;
  }
  const rp = await entry.rp();
  const current = new URL(entry.redirectUri);
  current.search = ctx.querystring;
  // With several APIs in the grant the code is redeemed for the first one (RFC 8707 section 2.2);
  // the others' tokens come from refreshes with their own `resource`.
  const [first] = requestedScopes(deps.config, entry).resources;
  let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  try {
    tokens = await client.authorizationCodeGrant(rp, current, { pkceCodeVerifier: pending.verifier, expectedState: state, expectedNonce: pending.nonce, idTokenExpected: true }, first ? { resource: first } : undefined);
  } catch (err) {
    deps.logger.warn({ err: { name: (err as Error).name, code: (err as { code?: string }).code, error: (err as { error?: string }).error }, bff: entry.config.id }, 'BFF code exchange failed');
    throw new BffError(400, 'invalid_grant', 'the sign-in could not be completed; start again');
  }
  const claims = tokens.claims()!;
  if (!tokens.refresh_token) throw new BffError(500, 'server_error', 'no refresh token was issued to the BFF client');
  const grantId = (await deps.store.find('RefreshToken', storedTokenId(tokens.refresh_token)))?.grantId;
  if (typeof grantId !== 'string') throw new BffError(500, 'server_error', 'the refresh token\'s grant was not found');
  // A session this browser held before ends: the id changes at every sign-in.
  const previous = entry.cookies.session(ctx);
  if (previous) await deps.sessions.end(storedKey(previous));
  const cookie = randomId();
  const userClaims = Object.fromEntries(Object.entries(claims).filter(([name]) => !PROTOCOL_CLAIMS.has(name)));
  const accessTokens = first ? { [first]: issuedAccessToken(tokens, Math.floor(deps.clock() / 1000)) } : {};
  await deps.sessions.create(cookie, entry.config.id, entry.config.session, { sub: claims.sub, grantId, claims: userClaims, tokens: { refreshToken: tokens.refresh_token, accessTokens } });
  entry.cookies.setSession(ctx, cookie, entry.config.session.absolute);
  ctx.status = 303;
  ctx.redirect(pending.returnTo);
}
