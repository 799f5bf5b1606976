// The passthrough token endpoint, `{issuer}/passthrough/{id}/token` (RFC 6749 section 3.2). The
// client authenticates exactly as it would at the upstream, which checks it when Baton forwards
// the request; Baton verifies what comes back, orchestrates, and answers with its own tokens.
//   authorization_code (section 4.1.3): forward, verify the id_token, orchestrate, issue.
//   refresh_token (section 6): refresh.ts (one rotation per token, the reuse grace window).
import type { Context } from 'koa';

import { DEVICE_CODE } from '../config/schema.ts';

import { merged } from '../lang/merged.ts';
import { jwtPayload, tokenRefs } from '../observability/events.ts';
import type { PassthroughDeps, PassthroughEntry } from './entries.ts';
import { answering, invalidGrant, PassthroughError } from './errors.ts';
import { endpoints, measured, orchestrate, type Step } from './grant-steps.ts';
import { verifyUpstreamIdToken } from './identity.ts';
import { issueTokens, type TokenResponse } from './issue.ts';
import { refreshToken } from './refresh.ts';
import { clientCredentials, param, readForm, required } from './request.ts';
import { upstreamGrant } from './upstream-token.ts';

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
  const events = deps.events;
  if (!events || !(['user.signed_in', 'token.issued', 'token.refreshed'] as const).some((type) => events.wants(type))) return;
  const claims = jwtPayload(String(body.access_token));
  const sub = claims?.sub;
  const who = typeof sub === 'string' ? { sub } : undefined;
  if (grantType !== 'refresh_token' && who) events.emit('user.signed_in', merged(who, { clientId, upstream: entry.settings.id, reqId }));
  events.emit(grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued', {
    grantType, clientId, ...who, reqId,
    ...(entry.resource ? { resource: entry.resource.audience } : {}),
    ...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
    tokens: tokenRefs(body, claims),
  });
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

