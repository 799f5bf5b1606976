// Sign-in at an upstream: the redirect out (state, nonce and PKCE kept server-side, bound to this
// browser's interaction) and the callback at /callback/{upstream}. A callback that cannot be
// verified ends on an error page, never on a redirect; upstream refusals the client should know
// about go back to its redirect_uri as the matching OIDC error.
import { randomUUID } from 'node:crypto';

import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import { clientConfig } from '../config/clients.ts';
import { merged } from '../lang/merged.ts';
import { accountIdFor } from '../provider/accounts.ts';
import { type Connector, type PendingLogin, type UpstreamIdentity, UpstreamError } from '../upstream/connector.ts';
import { authorizeUser } from '../orchestration/pipeline.ts';
import { stringParams } from '../orchestration/hook-points.ts';
import { HookError } from '../orchestration/hooks/index.ts';
import { deniedPage, signInErrorPage } from './pages.ts';
import { essentialAcrs, requestedAcrs, staleAuthentication, upstreamFreshness } from './upstream-request.ts';
import type { InteractionDeps } from './routes.ts';

const LOGIN_KIND = 'upstream-login';
const DENIAL_KIND = 'interaction-denial';

/** OIDC Core section 3.1.2.6 errors an upstream may answer that the client must see as such. */
const RETURNED_TO_CLIENT = new Set(['access_denied', 'login_required', 'interaction_required', 'consent_required', 'account_selection_required']);

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

interface LoginRecord {
  readonly uid: string;
  readonly upstream: string;
  readonly clientId: string;
  readonly pending: PendingLogin;
  readonly used?: boolean;
  /** Epoch seconds: with prompt=login sent upstream, the upstream's auth_time may not be older. */
  readonly freshSince?: number;
}

export async function startUpstreamLogin(ctx: Context, deps: InteractionDeps, details: Details, upstream: Connector): Promise<void> {
  const { params } = details;
  const freshness = upstreamFreshness(params);
  const startedAt = Math.floor(Date.now() / 1000);
  let begun: Awaited<ReturnType<Connector['begin']>>;
  try {
    begun = await upstream.begin({
      redirectUri: callbackUri(deps, upstream.id),
      prompt: freshness.prompt,
      maxAge: freshness.maxAge,
      acrValues: requestedAcrs(params)?.join(' '),
      loginHint: typeof params.login_hint === 'string' ? params.login_hint : undefined,
    });
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    refuse(ctx, deps, 502, 'The identity provider is not available', `${upstream.name} could not be reached. Try again in a moment.`, { upstream: upstream.id, reason: err.message });
    return;
  }
  const record: LoginRecord = { uid: details.uid, upstream: upstream.id, clientId: String(params.client_id), pending: begun.pending, ...(freshness.prompt ? { freshSince: startedAt } : {}) };
  await deps.store.putRecord(LOGIN_KIND, begun.pending.state, record, { expectedVersion: 0, expiresIn: deps.config.ttl.interaction });
  deps.logger.info({ event: 'upstream.redirect', reqId: ctx.state.requestId, upstream: upstream.id, clientId: record.clientId }, 'redirecting to the upstream');
  ctx.status = 303;
  ctx.redirect(begun.url.href);
}

/**
 * The upstream's redirect_uri, /callback/{upstream}. The interaction cookie is scoped to
 * /interaction/{uid}, so the browser is sent on there (same origin) to prove it is the one that
 * started this sign-in; nothing is consumed yet.
 */
export async function relayUpstreamCallback(ctx: Context, deps: InteractionDeps): Promise<void> {
  const target = callbackTarget(ctx, deps);
  if (!target) return;
  const { upstream, state } = target;
  const record = await deps.store.getRecord<LoginRecord>(LOGIN_KIND, state);
  if (!record || record.value.used || record.value.upstream !== upstream.id) {
    refuse(ctx, deps, 400, 'This sign-in link is no longer valid', 'It was already used, has expired, or was not started here.', { upstream: upstream.id, reason: 'unknown, expired or replayed state' });
    return;
  }
  ctx.status = 303;
  ctx.redirect(`/interaction/${record.value.uid}/callback/${upstream.id}${ctx.search}`);
}

/** /interaction/{uid}/callback/{upstream}: completes the sign-in for the browser holding the interaction. */
export async function completeUpstreamLogin(ctx: Context, deps: InteractionDeps): Promise<void> {
  const target = callbackTarget(ctx, deps);
  if (!target) return;
  const { upstream, state } = target;
  const claimed = await claimLogin(deps, state, upstream.id, String(ctx.params.uid));
  if (!claimed) {
    refuse(ctx, deps, 400, 'This sign-in link is no longer valid', 'It was already used, has expired, or was not started here.', { upstream: upstream.id, reason: 'unknown, expired or replayed state' });
    return;
  }
  let details: Details;
  try {
    details = await deps.provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    details = undefined as unknown as Details;
  }
  if (details?.uid !== claimed.uid) {
    refuse(ctx, deps, 400, 'This sign-in cannot be completed', 'It was started in another browser or has expired.', { upstream: upstream.id, reason: 'interaction cookie missing or mismatched' });
    return;
  }

  let identity: UpstreamIdentity;
  try {
    identity = await upstream.complete(new URL(`${callbackUri(deps, upstream.id)}${ctx.search}`), claimed.pending, callbackUri(deps, upstream.id));
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    await upstreamFailed(ctx, deps, upstream, err);
    return;
  }

  // prompt=login asked for a new authentication: an upstream auth_time from before that request means
  // the upstream reused its session, and an auth_time Baton would issue as fresh would be false.
  if (staleAuthentication(claimed.freshSince, identity.authTime)) {
    deps.logger.warn({ event: 'upstream.login_refused', reqId: ctx.state.requestId, upstream: upstream.id, reason: 'auth_time older than the prompt=login request' }, 'the upstream did not authenticate the user again');
    await finish(ctx, deps, { error: 'login_required', error_description: `${upstream.name} did not authenticate the user again` });
    return;
  }

  // OIDC Core section 5.5.1.1: an essential acr the upstream did not achieve fails the request
  // (asking the provider's login prompt again would only send the user back to the same upstream).
  const essential = essentialAcrs(details.params);
  if (essential && (identity.acr === undefined || !essential.includes(identity.acr))) {
    deps.logger.info({ event: 'upstream.login_refused', reqId: ctx.state.requestId, upstream: upstream.id, reason: 'essential acr not achieved' }, 'the upstream authentication does not meet the essential acr');
    await finish(ctx, deps, { error: 'unmet_authentication_requirements', error_description: `${upstream.name} did not authenticate the user with ${essential.join(' or ')}` });
    return;
  }

  const accountId = accountIdFor(upstream.id, identity.subject);
  const now = Math.floor(Date.now() / 1000);
  const allowed = await authorizeSignIn(ctx, deps, details, claimed, upstream, identity, accountId);
  if (!allowed) return;

  const stashId = randomUUID();
  await deps.vault.stash(stashId, { upstream: upstream.id, tokens: identity.tokens, refreshedAt: now }, deps.config.ttl.interaction);
  deps.logger.info({ event: 'upstream.login', reqId: ctx.state.requestId, upstream: upstream.id, sub: accountId, clientId: claimed.clientId }, 'signed in through the upstream');
  deps.events.emit('user.signed_in', { reqId: ctx.state.requestId, upstream: upstream.id, sub: accountId, clientId: claimed.clientId });
  await finish(ctx, deps, {
    login: { accountId, acr: identity.acr, amr: identity.amr ? [...identity.amr] : undefined, ts: identity.authTime ?? now },
    upstream: { stashId },
  });
}

/** The upstream and state a callback names, or an error page when either is missing. */
function callbackTarget(ctx: Context, deps: InteractionDeps): { upstream: Connector; state: string } | undefined {
  const upstream = deps.upstreams.get(String(ctx.params.upstream));
  const state = typeof ctx.query.state === 'string' ? ctx.query.state : undefined;
  if (upstream && state) return { upstream, state };
  refuse(ctx, deps, 400, 'This sign-in cannot be completed', 'The identity provider\'s answer is incomplete.', { upstream: ctx.params.upstream, reason: upstream ? 'missing state' : 'unknown upstream' });
  return undefined;
}

/**
 * After the upstream sign-in: the client's upstream allow-list, the upstream's email domains, the
 * account record, loadAttrs, the client's rules, then isAuthorized (the pipeline every flow runs; a
 * reused Baton session runs it too, see provider/reused-session.ts). Resolves false when the
 * response was already written (a denial page, an error page, or access_denied to the client).
 */
async function authorizeSignIn(ctx: Context, deps: InteractionDeps, details: Details, claimed: LoginRecord, upstream: Connector, identity: UpstreamIdentity, accountId: string): Promise<boolean> {
  const client = clientConfig(deps.config, claimed.clientId);
  try {
    const outcome = await authorizeUser(deps, {
      hookKey: claimed.clientId,
      client: { id: claimed.clientId, name: client?.client_name },
      rules: client?.rules,
      flow: 'authorization',
      params: stringParams(details.params),
      scopes: typeof details.params.scope === 'string' ? details.params.scope.split(' ') : [],
      requestId: String(ctx.state.requestId ?? ''),
      user: { accountId, upstream: upstream.id, upstreamSubject: identity.subject, claims: identity.claims },
      signIn: true,
      allowedUpstreams: client?.upstreams,
      emailDomains: upstream.emailDomains,
      parts: { upstream: { id: upstream.id, claims: identity.claims, tokens: { accessToken: identity.tokens.accessToken, idToken: identity.tokens.idToken } } },
    });
    if (outcome.allowed) return true;
    if (outcome.by === 'upstreams' || outcome.by === 'emailDomains') {
      // Who the upstream says the user is, not what the application decided: straight back to it.
      deps.logger.warn({ event: 'upstream.login_refused', reqId: ctx.state.requestId, upstream: upstream.id, reason: outcome.reason }, 'upstream identity not allowed');
      await finish(ctx, deps, { error: 'access_denied', error_description: outcome.reason });
      return false;
    }
    return deny(ctx, deps, claimed, accountId, outcome.by, outcome.reason);
  } catch (err) {
    if (!(err instanceof HookError)) throw err;
    refuse(ctx, deps, 500, 'Sign-in failed', err.message, { upstream: upstream.id, reason: `hook ${err.hook} ${err.kind}` });
    return false;
  }
}

async function deny(ctx: Context, deps: InteractionDeps, claimed: LoginRecord, accountId: string, by: string, reason: string): Promise<false> {
  deps.logger.info({ event: 'authorization.denied', reqId: ctx.state.requestId, sub: accountId, clientId: claimed.clientId, by }, 'sign-in denied');
  deps.events.emit('authorization.denied', { reqId: ctx.state.requestId, sub: accountId, clientId: claimed.clientId, by, at: 'sign-in' });
  await showDenial(ctx, deps, claimed.uid, reason);
  return false;
}

/** Marks the pending login used; exactly one callback can win it. */
async function claimLogin(deps: InteractionDeps, state: string, upstream: string, uid: string): Promise<LoginRecord | undefined> {
  const record = await deps.store.getRecord<LoginRecord>(LOGIN_KIND, state);
  if (!record || record.value.used || record.value.upstream !== upstream || record.value.uid !== uid) return undefined;
  const won = await deps.store.putRecord(LOGIN_KIND, state, merged(record.value, { used: true }), { expectedVersion: record.version, expiresIn: deps.config.ttl.interaction });
  return won ? record.value : undefined;
}

async function upstreamFailed(ctx: Context, deps: InteractionDeps, upstream: Connector, err: UpstreamError): Promise<void> {
  const log = { upstream: upstream.id, kind: err.kind, reason: err.message };
  if (err.kind === 'authorization_error' && err.oauthError && RETURNED_TO_CLIENT.has(err.oauthError)) {
    deps.logger.info({ event: 'upstream.login_refused', reqId: ctx.state.requestId, ...log }, 'the upstream refused the sign-in');
    await finish(ctx, deps, { error: err.oauthError, error_description: `${upstream.name}: ${err.oauthError.replaceAll('_', ' ')}` });
    return;
  }
  if (err.kind === 'not_allowed') {
    deps.logger.warn({ event: 'upstream.login_refused', reqId: ctx.state.requestId, ...log }, 'upstream identity not allowed');
    await finish(ctx, deps, { error: 'access_denied', error_description: err.message });
    return;
  }
  if (err.kind === 'unreachable') {
    refuse(ctx, deps, 502, 'The identity provider is not answering', `${upstream.name} did not answer in time. Try again in a moment.`, log);
    return;
  }
  refuse(ctx, deps, 400, 'Sign-in failed', `The answer from ${upstream.name} could not be verified, so you were not signed in.`, log);
}

/** The user learns why; the application gets access_denied with the same reason when they go back. */
export async function showDenial(ctx: Context, deps: InteractionDeps, uid: string, reason: string): Promise<void> {
  await deps.store.putRecord(DENIAL_KIND, uid, { reason }, { expiresIn: deps.config.ttl.interaction });
  ctx.status = 403;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = deniedPage(uid, reason);
}

/** Why the sign-in of interaction `uid` was denied, if it was. */
export async function denialReason(deps: InteractionDeps, uid: string): Promise<string | undefined> {
  return (await deps.store.getRecord<{ reason: string }>(DENIAL_KIND, uid))?.value.reason;
}

async function finish(ctx: Context, deps: InteractionDeps, result: Record<string, unknown>): Promise<void> {
  await deps.provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.respond = false;
}

function refuse(ctx: Context, deps: InteractionDeps, status: number, title: string, message: string, log: Record<string, unknown>): void {
  const requestId = String(ctx.state.requestId ?? '');
  deps.logger.warn({ event: 'upstream.callback_rejected', reqId: requestId, status, ...log }, title);
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = signInErrorPage(title, message, requestId);
}

function callbackUri(deps: InteractionDeps, upstream: string): string {
  return `${deps.config.issuer}/callback/${upstream}`;
}
