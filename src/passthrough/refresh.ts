// The passthrough refresh_token grant (RFC 6749 section 6) under the same rotation record as Baton's
// own refresh tokens (grants/rotate-once.ts): one rotation per token across instances, the reuse
// grace window for the same client (RFC 9700 section 4.14.2), and a spent handle that comes back
// after it ending its whole family.
import { createHmac, timingSafeEqual } from 'node:crypto';

import { rotateOnce, storeFailureLog } from '../grants/rotate-once.ts';
import { merged } from '../lang/merged.ts';
import type { RefreshOutcome } from '../observability/metrics.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../provider/accounts.ts';
import { invalidGrant, PassthroughError, unavailable } from './errors.ts';
import { endpoints, measured, orchestrate, type Step } from './grant-steps.ts';
import { verifyUpstreamIdToken } from './identity.ts';
import { issueTokens, type TokenResponse } from './issue.ts';
import type { SignIn } from './mint.ts';
import { REFUSED, type WrappedGrant } from './refresh-token.ts';
import { required } from './request.ts';
import { upstreamAuthenticate, upstreamGrant, type UpstreamTokenResponse } from './upstream-token.ts';

/** What a grace replay needs, sealed under the rotated token's value (grants/refresh-rotation.ts). */
interface Replayable {
  /** The successor refresh token. */
  readonly token: string;
  /** Keyed digest of the client authentication the upstream accepted for the rotation. */
  readonly client: string;
}

export async function refreshToken(step: Step): Promise<TokenResponse> {
  const { deps, entry, client } = step;
  const value = required(step.form, 'refresh_token');
  // Another client's token, a revoked or ended one: refused before it can touch the rotation record.
  if (!(await entry.refreshTokens.peek(value, client.clientId))) throw invalidGrant(REFUSED);
  return rotateOnce(entry.rotations, { value, clientId: client.clientId, grace: entry.config.refreshTokenReuseGrace }, {
    rotate: async () => {
      const body = await refreshAtUpstream(step, value);
      if (body.refresh_token === undefined) return { result: body };
      const replayable: Replayable = { token: body.refresh_token, client: clientProof(step) };
      return { result: body, successor: JSON.stringify(replayable) };
    },
    replay: (sealed) => replay(step, value, sealed),
    asIs: () => refreshAtUpstream(step, value),
    busy: () => unavailable('this refresh token is being used by a concurrent request; try again'),
    storeFailed: storeFailureLog(deps.logger, step.requestId),
  });
}

/**
 * The refresh itself: the token is spent (a handle; a JWE holds nothing to spend), the wrapped
 * upstream refresh token refreshed at the upstream with the client's authentication, the new
 * id_token verified, the pipeline run again, and a successor wrapping the upstream's new token.
 */
async function refreshAtUpstream(step: Step, value: string): Promise<TokenResponse> {
  const { deps, entry, client } = step;
  const presented = await entry.refreshTokens.peek(value, client.clientId);
  if (!presented) throw invalidGrant(REFUSED);
  // Rotated away before, and not replayable (after the window, strict, the chain moved on): reuse.
  if (presented.spent) return reuseDetected(step, value);
  const { grant, release } = await entry.refreshTokens.unwrap(value, client.clientId);
  // A handle spent by a request that failed is ended rather than left spent: the client's retry is
  // refused (the session is gone) without being reported as reuse.
  const end = () => entry.refreshTokens.revoke(value, client.clientId).catch((err) => deps.logger.error({ err, reqId: step.requestId }, 'ending a refresh token failed'));
  // Given back unspent (with the upstream's replacement token, when it rotated); a handle ended
  // meanwhile (revoked, its family ended) is not revived: it is ended, and the request's own error stands.
  const giveBack = (upstreamRefreshToken?: string) => release(upstreamRefreshToken)
    .then(() => count(step, 'given_back'))
    .catch(async (cause: unknown) => {
      deps.logger.error({ err: cause, reqId: step.requestId }, 'giving back a refresh token failed');
      await end();
    });
  let upstream: UpstreamTokenResponse;
  try {
    upstream = await measured(deps, entry, 'passthrough_refresh', async () => upstreamGrant(await endpoints(entry), client, 'refresh_token', { refresh_token: grant.upstreamRefreshToken }));
  } catch (err) {
    // Spent only when the upstream took the refresh token. It did not when it could not answer
    // (5xx), nor when it refused the request before the grant: the client's authentication
    // (invalid_client: the upstream is where the client authenticates, RFC 6749 section 2.3) or the
    // request itself. Only invalid_grant says the upstream token is gone.
    if (err instanceof PassthroughError && (err.status >= 500 || err.error !== 'invalid_grant')) await giveBack();
    else await end();
    throw err;
  }
  try {
    const account = (await deps.store.getRecord<AccountRecord>(ACCOUNT_KIND, grant.sub))?.value;
    let claims = account?.claims ?? {};
    if (upstream.idToken) {
      const identity = await verifyUpstreamIdToken(entry, upstream.idToken, client.clientId);
      if (identity.accountId !== grant.sub) throw invalidGrant('the upstream refreshed another user');
      claims = identity.claims;
      await deps.store.putRecord<AccountRecord>(ACCOUNT_KIND, grant.sub, merged(account, { claims, upstream: entry.settings.id, updatedAt: Math.floor(deps.clock() / 1000) }));
    }
    const body = await reissue(step, grant, account, claims, { accessToken: upstream.accessToken, idToken: upstream.idToken }, {
      // Upstreams that do not rotate (Google) answer without a refresh_token: the old one stays valid.
      upstreamRefreshToken: upstream.refreshToken ?? grant.upstreamRefreshToken,
      upstreamRefreshExpiresIn: upstream.refreshTokenExpiresIn,
      ...(grant.family ? { family: grant.family } : {}),
    });
    if (body.refresh_token !== undefined) count(step, 'rotated');
    return body;
  } catch (err) {
    // The upstream answered but a later step failed. Refused for good (the policy denied, another
    // user came back): ended. A step that could not run now (an authorizer or the store unavailable,
    // a hook failing) must not cost the user the session: the handle is given back wrapping the
    // upstream's new refresh token (a rotating upstream already spent the old one), so a retry
    // works. A JWE cannot be given back: it works again only if the upstream did not rotate.
    if (err instanceof PassthroughError && err.status < 500) await end();
    else if (entry.config.refreshTokens !== 'jwe') await giveBack(upstream.refreshToken ?? grant.upstreamRefreshToken);
    else if (upstream.refreshToken === undefined) count(step, 'given_back');
    else {
      // The client's JWE still wraps the token the upstream just rotated away: this session is over.
      count(step, 'ended');
      deps.logger.warn({ event: 'passthrough.refresh_lost', reqId: step.requestId, passthrough: entry.config.id, clientId: client.clientId },
        'a refresh failed after the upstream rotated its refresh token; a JWE refresh token cannot be given back (the client must sign in again)');
    }
    throw err;
  }
}

/**
 * The same client inside the window: the same successor and fresh tokens, the pipeline run again on
 * the account's claims. The upstream is not called: the rotation being repeated refreshed it moments
 * ago, and its successor already wraps the upstream's new refresh token.
 */
async function replay(step: Step, value: string, sealed: string): Promise<TokenResponse> {
  const { deps, entry, client } = step;
  const replayable = parseReplayable(sealed);
  if (!replayable) return refreshAtUpstream(step, value);
  // Baton does not hold the client's secret: the same credentials the upstream accepted for the
  // rotation are authenticated; any other must be accepted by the upstream now (invalid_client is relayed).
  const checkedUpstream = !sameProof(replayable.client, clientProof(step));
  if (checkedUpstream) await upstreamAuthenticate(await endpoints(entry), client);
  const next = await entry.refreshTokens.peek(replayable.token, client.clientId);
  if (!next) throw invalidGrant(REFUSED);
  // The successor itself was used (Baton's own refresh: the old token is then reuse).
  if (next.spent) return reuseDetected(step, value, checkedUpstream);
  // A JWE successor is never spent; its own rotation record says it was used: the upstream decides
  // (a rotating upstream refuses the upstream token rotated away).
  if (entry.config.refreshTokens === 'jwe' && (await entry.rotations.read(replayable.token))?.state === 'rotated') return refreshAtUpstream(step, value);
  const account = (await deps.store.getRecord<AccountRecord>(ACCOUNT_KIND, next.grant.sub))?.value;
  const body = await reissue(step, next.grant, account, account?.claims ?? {}, {}, { issuedRefreshToken: replayable.token });
  count(step, 'grace_replay');
  deps.logger.info({ event: 'token.grace_replay', reqId: step.requestId, passthrough: entry.config.id, clientId: client.clientId }, 'rotated refresh token presented again inside the grace window; same successor returned');
  deps.events?.emit('token.grace_replay', { clientId: client.clientId, sub: next.grant.sub, reqId: step.requestId });
  return body;
}

/** The pipeline again (rules, hooks, authorizers) and the tokens re-minted, with the original sign-in's auth_time. */
async function reissue(
  step: Step, grant: WrappedGrant, account: AccountRecord | undefined, claims: Readonly<Record<string, unknown>>,
  upstreamTokens: { accessToken?: string; idToken?: string },
  refresh: { upstreamRefreshToken?: string; upstreamRefreshExpiresIn?: number; family?: string; issuedRefreshToken?: string },
): Promise<TokenResponse> {
  const { deps, entry, client, requestId } = step;
  const user = { accountId: grant.sub, upstream: entry.settings.id, upstreamSubject: account?.upstreamSubject, claims, attrs: account?.attrs };
  const attrs = await orchestrate(deps, entry, client, 'refresh_token', user, false, requestId, { id: entry.settings.id, claims, tokens: upstreamTokens });
  const signIn: SignIn = { sub: grant.sub, authTime: grant.authTime, acr: grant.acr, amr: grant.amr };
  return issueTokens(deps, {
    entry, client, grantType: 'refresh_token', requestId,
    user: { sub: grant.sub, upstream: user.upstream, upstreamSubject: user.upstreamSubject, claims, attrs },
    signIn, upstreamScope: grant.scope, ...refresh,
  });
}

/**
 * A spent refresh token presented again by its client: the chain it started is ended (handle: the
 * whole family), as Baton's own refresh revokes the family. Only for an authenticated client (as
 * RFC 7009 section 2.1 asks before ending tokens), which only the upstream can check: someone
 * holding an old token without the client's secret cannot end the user's session.
 */
async function reuseDetected(step: Step, value: string, authenticated = false): Promise<never> {
  const { deps, entry, client } = step;
  if (!authenticated) await upstreamAuthenticate(await endpoints(entry), client);
  await entry.refreshTokens.endChain(value, client.clientId);
  count(step, 'reuse_revoked');
  const fields = { model: 'PassthroughRefreshToken', clientId: client.clientId, reqId: step.requestId };
  deps.logger.warn({ event: 'grant.reuse_detected', passthrough: entry.config.id, ...fields }, 'one-time credential reused; its grant was revoked');
  deps.events?.emit('token.reuse_detected', fields);
  throw invalidGrant(REFUSED);
}

function count(step: Step, outcome: RefreshOutcome): void {
  step.deps.metrics?.countRefresh(outcome);
}

/** Keyed by the passthrough secret, so even an opened grace record allows no guessing of the client's secret. */
function clientProof(step: Step): string {
  return createHmac('sha256', step.deps.secret).update(step.client.fingerprint).digest('base64url');
}

function sameProof(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

function parseReplayable(sealed: string): Replayable | undefined {
  try {
    const parsed = JSON.parse(sealed) as Partial<Replayable>;
    return typeof parsed.token === 'string' && typeof parsed.client === 'string' ? { token: parsed.token, client: parsed.client } : undefined;
  } catch {
    return undefined;
  }
}
