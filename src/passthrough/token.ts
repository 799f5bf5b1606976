// The passthrough token endpoint, `{issuer}/passthrough/{id}/token` (RFC 6749 section 3.2). The
// client authenticates exactly as it would at the upstream, which checks it when Baton forwards
// the request; Baton verifies what comes back, orchestrates, and answers with its own tokens.
//   authorization_code (section 4.1.3): forward, verify the id_token, orchestrate, issue.
//   refresh_token (section 6): unwrap (a handle is spent, so one of concurrent refreshes goes on),
//   forward (the upstream authenticates the client; a refusal before the grant releases the
//   handle), re-verify, orchestrate again, issue.
import type { Context } from 'koa';

import { DEVICE_CODE } from '../config/schema.ts';

import { jwtPayload, tokenRefs } from '../observability/events.ts';
import { timedCall } from '../observability/metrics.ts';
import { authorizeUser, type PipelineUser } from '../orchestration/pipeline.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../provider/accounts.ts';
import type { PassthroughDeps, PassthroughEntry } from './entries.ts';
import { answering, invalidGrant, PassthroughError } from './errors.ts';
import { verifyUpstreamIdToken } from './identity.ts';
import { issueTokens, type TokenResponse } from './issue.ts';
import type { SignIn } from './mint.ts';
import { clientCredentials, param, readForm, required, type ClientCredentials } from './request.ts';
import { upstreamGrant, type UpstreamEndpoints } from './upstream-token.ts';

export async function token(ctx: Context, deps: PassthroughDeps, entry: PassthroughEntry): Promise<void> {
  let grantType: string | undefined;
  let clientId: string | undefined;
  await answering(ctx, async () => {
    const form = await readForm(ctx);
    grantType = required(form, 'grant_type');
    const client = clientCredentials(ctx, form, entry.issuer, entry.clients);
    clientId = client.clientId;
    const step = { deps, entry, client, form, requestId: String(ctx.state.requestId ?? '') };
    let body: TokenResponse;
    if (grantType === 'authorization_code') body = await authorizationCode(step);
    else if (grantType === 'refresh_token') body = await refreshToken(step);
    else if (grantType === DEVICE_CODE) body = await deviceCode(step);
    else throw new PassthroughError(400, 'unsupported_grant_type', `${grantType} is not supported here (authorization_code, refresh_token, device_code)`);
    ctx.body = body;
    announce(deps, entry, client.clientId, grantType, { ...body }, step.requestId);
  });
  const error = (ctx.body as { error?: unknown } | undefined)?.error;
  deps.metrics?.countTokenRequest(grantType, clientId, entry.clients, typeof error === 'string' ? error : 'issued');
}

/** The audit trail of a passthrough token response: a code redeemed is a sign-in, then tokens by reference. */
function announce(deps: PassthroughDeps, entry: PassthroughEntry, clientId: string, grantType: string, body: Record<string, unknown>, reqId: string): void {
  if (!deps.events?.active) return;
  const claims = jwtPayload(String(body.access_token));
  const sub = claims?.sub;
  const who = typeof sub === 'string' ? { sub } : undefined;
  if (grantType !== 'refresh_token' && who) deps.events.emit('user.signed_in', { ...who, clientId, upstream: entry.settings.id, reqId });
  deps.events.emit(grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued', {
    grantType, clientId, ...who, reqId,
    ...(entry.resource ? { resource: entry.resource.audience } : {}),
    ...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
    tokens: tokenRefs(body, claims),
  });
}

interface Step {
  readonly deps: PassthroughDeps;
  readonly entry: PassthroughEntry;
  readonly client: ClientCredentials;
  readonly form: URLSearchParams;
  readonly requestId: string;
}

async function authorizationCode(step: Step) {
  const { deps, entry, client, form } = step;
  const code = required(form, 'code');
  const upstream = await measured(deps, entry, 'passthrough_code', async () => upstreamGrant(await endpoints(entry), client, 'authorization_code', {
    code, redirect_uri: param(form, 'redirect_uri'), code_verifier: param(form, 'code_verifier'),
  }));
  return signIn(step, 'authorization_code', upstream);
}

/**
 * RFC 8628 section 3.4: the device polls here with the device_code the upstream's device
 * authorization endpoint gave it; the upstream's authorization_pending / slow_down / expired_token
 * answers are relayed as they are, its tokens are verified and re-minted like a code's.
 */
async function deviceCode(step: Step) {
  const { deps, entry, client, form } = step;
  const upstream = await measured(deps, entry, 'passthrough_device', async () => upstreamGrant(await endpoints(entry), client, DEVICE_CODE, {
    device_code: required(form, 'device_code'),
  }));
  return signIn(step, DEVICE_CODE, upstream);
}

/** A fresh upstream identity (code or device grant): verified, orchestrated, re-minted. */
async function signIn({ deps, entry, client, requestId }: Step, grantType: 'authorization_code' | typeof DEVICE_CODE, upstream: Awaited<ReturnType<typeof upstreamGrant>>) {
  if (!upstream.idToken) throw invalidGrant('the upstream issued no id_token: the authorization request must include the openid scope');
  const identity = await verifyUpstreamIdToken(entry, upstream.idToken, client.clientId);
  const user = { accountId: identity.accountId, upstream: entry.settings.id, upstreamSubject: identity.upstreamSubject, claims: identity.claims };
  const attrs = await orchestrate(deps, entry, client, grantType, user, true, requestId, { id: entry.settings.id, claims: identity.claims, tokens: { accessToken: upstream.accessToken, idToken: upstream.idToken } });
  return issueTokens(deps, {
    entry, client, grantType, requestId,
    user: { sub: user.accountId, upstream: user.upstream, upstreamSubject: user.upstreamSubject, claims: user.claims, attrs },
    signIn: { sub: identity.accountId, authTime: identity.authTime, acr: identity.acr, amr: identity.amr },
    upstreamScope: upstream.scope, nonce: identity.nonce,
    upstreamRefreshToken: upstream.refreshToken, upstreamRefreshExpiresIn: upstream.refreshTokenExpiresIn,
  });
}

async function refreshToken({ deps, entry, client, form, requestId }: Step) {
  const { grant, release } = await entry.refreshTokens.unwrap(required(form, 'refresh_token'), client.clientId);
  let upstream: Awaited<ReturnType<typeof upstreamGrant>>;
  try {
    upstream = await measured(deps, entry, 'passthrough_refresh', async () => upstreamGrant(await endpoints(entry), client, 'refresh_token', { refresh_token: grant.upstreamRefreshToken }));
  } catch (err) {
    // Spent only when the upstream took the refresh token. It did not when it could not answer
    // (5xx), nor when it refused the request before the grant: the client's authentication
    // (invalid_client: the upstream is where the client authenticates, RFC 6749 section 2.3) or the
    // request itself. Only invalid_grant says the upstream token is gone.
    if (err instanceof PassthroughError && (err.status >= 500 || err.error !== 'invalid_grant')) await release();
    throw err;
  }
  const account = (await deps.store.getRecord<AccountRecord>(ACCOUNT_KIND, grant.sub))?.value;
  let claims = account?.claims ?? {};
  if (upstream.idToken) {
    const identity = await verifyUpstreamIdToken(entry, upstream.idToken, client.clientId);
    if (identity.accountId !== grant.sub) throw invalidGrant('the upstream refreshed another user');
    claims = identity.claims;
    await deps.store.putRecord<AccountRecord>(ACCOUNT_KIND, grant.sub, { ...account, claims, upstream: entry.settings.id, updatedAt: Math.floor(deps.clock() / 1000) });
  }
  const user = { accountId: grant.sub, upstream: entry.settings.id, upstreamSubject: account?.upstreamSubject, claims, attrs: account?.attrs };
  const attrs = await orchestrate(deps, entry, client, 'refresh_token', user, false, requestId, { id: entry.settings.id, claims, tokens: { accessToken: upstream.accessToken, idToken: upstream.idToken } });
  const signIn: SignIn = { sub: grant.sub, authTime: grant.authTime, acr: grant.acr, amr: grant.amr };
  return issueTokens(deps, {
    entry, client, grantType: 'refresh_token', requestId,
    user: { sub: grant.sub, upstream: user.upstream, upstreamSubject: user.upstreamSubject, claims, attrs },
    signIn, upstreamScope: grant.scope,
    // Upstreams that do not rotate (Google) answer without a refresh_token: the old one stays valid.
    upstreamRefreshToken: upstream.refreshToken ?? grant.upstreamRefreshToken,
    upstreamRefreshExpiresIn: upstream.refreshTokenExpiresIn,
  });
}

/** An upstream token request, timed into baton_upstream_request_seconds and traced like the connectors' calls. */
function measured<T>(deps: PassthroughDeps, entry: PassthroughEntry, operation: string, call: () => Promise<T>): Promise<T> {
  if (!deps.metrics) return call();
  return timedCall(deps.metrics.upstreams, { upstream: entry.settings.id, operation }, `upstream.${operation}`, { 'baton.upstream': entry.settings.id }, call,
    (err) => (err instanceof PassthroughError ? (err.status >= 500 ? 'unreachable' : 'grant_refused') : 'error'));
}

async function endpoints(entry: PassthroughEntry): Promise<UpstreamEndpoints> {
  return { metadata: await entry.discovery.get(), timeoutMs: entry.settings.timeoutMs, realm: entry.issuer };
}

/** The same pipeline as every other flow; a refusal is invalid_grant with its reason. Resolves the user's attributes. */
async function orchestrate(
  deps: PassthroughDeps, entry: PassthroughEntry, client: ClientCredentials, grantType: string, user: PipelineUser, signIn: boolean, requestId: string,
  upstream: { id: string; claims: Readonly<Record<string, unknown>>; tokens: { accessToken?: string; idToken?: string } },
): Promise<Readonly<Record<string, unknown>>> {
  const outcome = await authorizeUser(deps, {
    hookKey: entry.hookKey, client: { id: client.clientId }, rules: entry.config.rules, grantType,
    scopes: entry.resource?.scopes ?? [], requestId, user, signIn, emailDomains: entry.connector.emailDomains, parts: { upstream },
  });
  if (outcome.allowed) return outcome.attrs;
  deps.logger.info({ event: 'authorization.denied', reqId: requestId, sub: user.accountId, clientId: client.clientId, by: outcome.by, at: `passthrough ${entry.config.id}` }, 'passthrough denied');
  deps.events?.emit('authorization.denied', { reqId: requestId, sub: user.accountId, clientId: client.clientId, by: outcome.by, at: `passthrough ${entry.config.id}` });
  throw invalidGrant(outcome.reason);
}

