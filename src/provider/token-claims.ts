// oidc-provider's `extraTokenClaims`, called while it builds every access token: the claims Baton
// adds (the authorizers' for this token's resource), and, for refresh_token (RFC 6749 section 6),
// re-authorization first: the grant's upstream session is renewed per policy
// (upstream/session.ts) and the client's whole decision runs again on the account's current
// claims (the same pipeline as a sign-in: the upstream still configured, upstream allow-list, email
// domains, rules, isAuthorized).
// Hooks get the grant's upstream tokens (api.upstream), never with an expired access token.
// A session the upstream ended, or a user the client no longer accepts, fails the refresh
// with invalid_grant and ends the grant, so revoked access stops at the next refresh.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import { clientConfig } from '../config/clients.ts';
import type { BatonConfig } from '../config/schema.ts';
import { merged } from '../lang/merged.ts';
import type { Events } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import { currentTrace } from '../explain/trace-context.ts';
import { recordRefusal } from '../explain/steps.ts';
import { noteHookClaims, recordAccessTokenClaims } from '../explain/token-claims.ts';
import type { TraceActor } from '../explain/trace.ts';
import { authorizeUser, refusalActor, storedIssuer, storedUpstream } from '../orchestration/pipeline.ts';
import { authorizerClaims } from '../orchestration/token-decisions.ts';
import type { HookCallParts, HookPoints } from '../orchestration/hook-points.ts';
import type { Store } from '../storage/store.ts';
import type { Upstreams } from '../upstream/index.ts';
import type { UpstreamSessions } from '../upstream/session.ts';
import { ACCOUNT_KIND, foundRecord, type AccountRecord } from './accounts.ts';
import { revokeGrant } from './adapter.ts';
import { isGraceReplay } from '../grants/refresh-token.ts';
import { mayBeDerived, originEnded } from './grant-lineage.ts';

interface TokenLike {
  /** The grant types the token descends from, oldest first (`urn:...:token-exchange refresh_token`). */
  readonly gty?: string;
  readonly grantId?: string;
  readonly accountId?: string;
  readonly clientId?: string;
  readonly resourceServer?: { identifier(): string };
  readonly scope?: string;
}

export interface ReauthorizeDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly sessions: UpstreamSessions;
  readonly logger: Logger;
  readonly events: Events;
  readonly hooks: HookPoints;
  readonly upstreams: Upstreams;
}

export function tokenClaims({ config, store, sessions, logger, events, hooks, upstreams }: ReauthorizeDeps) {
  const trustedIssuers = new Set(config.tokenExchange.trustedIssuers.map((t) => t.issuer));

  async function end(grantId: string, reason: string, by: TraceActor): Promise<never> {
    recordRefusal('invalid_grant', reason, by);
    await revokeGrant(store, grantId);
    await sessions.end(grantId);
    throw new errors.InvalidGrant(reason);
  }

  async function reauthorize(ctx: KoaContextWithOIDC, token: TokenLike): Promise<void> {
    const { grantId, accountId, clientId } = token;
    if (!grantId || !accountId || !clientId) return;
    // A grant made by exchanging another grant's token ends with that grant (grant-lineage.ts).
    // Only token exchange derives grants, and every token of a derived grant descends from the
    // exchange (its gty starts with it): other refreshes have no origin to look up.
    if (mayBeDerived(token.gty) && await originEnded(store, grantId, async (id) => Boolean(await ctx.oidc.provider.Grant.find(id)))) await end(grantId, 'the grant this token was exchanged from has ended', 'baton');
    // A grace replay answers a rotation that renewed the upstream session moments ago: renewing it
    // again per replay would multiply upstream refreshes (and rotations) by the number of tabs.
    let renewed = false;
    if (!isGraceReplay(ctx)) {
      const outcome = await sessions.renew(grantId, clientId, accountId);
      if (outcome.kind === 'ended') await end(grantId, outcome.reason, 'upstream');
      renewed = outcome.kind === 'refreshed';
    }
    // The record findAccount read at the start of this request, unless a renewal (this request's,
    // or one it waited for) may have updated its claims since: then as stored now.
    const account = (renewed ? undefined : foundRecord(ctx.oidc.entities.Account, accountId)) ?? (await store.getRecord<AccountRecord>(ACCOUNT_KIND, accountId))?.value;
    const client = clientConfig(config, clientId);
    // As at sign-in, on the mapped claims and the loadAttrs attributes stored beside them; loadAttrs
    // itself does not run again (no new upstream sign-in). A failing hook rejects (server_error):
    // the grant stays, the client may retry.
    const outcome = await authorizeUser({ store, hooks }, {
      hookKey: clientId,
      client: { id: clientId, name: client?.client_name },
      rules: client?.rules,
      grantType: 'refresh_token',
      scopes: token.scope?.split(' ').filter(Boolean) ?? [],
      requestId: String(ctx.state?.requestId ?? ''),
      user: { accountId, upstream: account?.upstream, upstreamSubject: account?.upstreamSubject, claims: account?.claims ?? {}, attrs: account?.attrs ?? {} },
      signIn: false,
      allowedUpstreams: client?.upstreams,
      // An upstream removed from the configuration since the sign-in: refused, as on session reuse;
      // likewise a trusted issuer (token exchange) no longer trusted, or no longer this client's.
      ...storedUpstream(account?.upstream, (id) => upstreams.get(id)),
      ...storedIssuer(accountId, (issuer) => trustedIssuers.has(issuer) && (client?.tokenExchange?.issuers ?? []).includes(issuer)),
    });
    if (!outcome.allowed) {
      logger.info({ event: 'authorization.denied', reqId: ctx.state?.requestId, sub: accountId, clientId, by: outcome.by, at: 'refresh' }, 'refresh denied');
      events.emit('authorization.denied', { reqId: ctx.state?.requestId, sub: accountId, clientId, by: outcome.by, at: 'refresh' });
      await end(grantId, outcome.reason, refusalActor(outcome.by));
    }
  }

  return async function extraTokenClaims(ctx: KoaContextWithOIDC, token: TokenLike): Promise<Record<string, unknown> | undefined> {
    if (ctx.oidc?.route !== 'token') return undefined;
    if (ctx.oidc.params?.grant_type === 'refresh_token') await reauthorize(ctx, token);
    if (currentTrace()) await traceIdentity(store, token.accountId);
    const resource = token.resourceServer?.identifier();
    const decided = authorizerClaims(ctx, resource);
    if (!token.clientId || !hooks.has(token.clientId, 'buildAccessTokenClaims')) return recordedOpaque(ctx, token, resource, decided);
    const account = token.accountId ? (await store.getRecord<AccountRecord>(ACCOUNT_KIND, token.accountId))?.value : undefined;
    // api.upstream: the vaulted tokens of the sign-in, renewed first when about to expire (never handed out expired).
    const upstream = token.grantId && token.accountId ? await sessions.view(token.grantId, token.clientId, token.accountId) : undefined;
    const built = await accessTokenHookClaims(hooks, config, {
      clientId: token.clientId,
      grantType: String(ctx.oidc.params?.grant_type ?? ''),
      scopes: token.scope?.split(' ').filter(Boolean) ?? [],
      resource,
      ...(token.accountId ? { accountId: token.accountId } : {}),
      ...(account ? { account } : {}),
      requestId: String(ctx.state?.requestId ?? ''),
    }, upstream ? { upstream: merged(upstream, { claims: account?.claims ?? {} }) } : {});
    noteHookClaims(ctx, resource, Object.keys(built));
    return recordedOpaque(ctx, token, resource, merged(decided, built));
  };
}

/** The buildAccessTokenClaims hook's input for one access token, outside any request (`baton preview` calls it too). */
export interface AccessTokenHookInput {
  readonly clientId: string;
  readonly grantType: string;
  readonly scopes: readonly string[];
  readonly resource: string | undefined;
  readonly accountId?: string;
  readonly account?: AccountRecord;
  readonly requestId: string;
}

/** Runs the client's buildAccessTokenClaims hook (the caller checked `hooks.has`). */
export function accessTokenHookClaims(hooks: HookPoints, config: BatonConfig, input: AccessTokenHookInput, parts: HookCallParts = {}): Promise<Record<string, unknown>> {
  const { account } = input;
  return hooks.run(input.clientId, 'buildAccessTokenClaims', {
    client: { id: input.clientId, name: clientConfig(config, input.clientId)?.client_name },
    flow: 'token',
    grantType: input.grantType,
    scopes: [...input.scopes],
    resource: input.resource,
    params: {},
    user: input.accountId ? { sub: input.accountId, upstream: account?.upstream, upstreamSubject: account?.upstreamSubject, claims: account?.claims ?? {}, attrs: account?.attrs ?? {} } : undefined,
    requestId: input.requestId,
  }, parts);
}

/** In a traced request: who the token is for, as the account record says (once per trace). */
async function traceIdentity(store: Store, accountId: string | undefined): Promise<void> {
  const trace = currentTrace();
  if (!trace || trace.hasIdentity || accountId === undefined) return;
  const account = (await store.getRecord<AccountRecord>(ACCOUNT_KIND, accountId))?.value;
  trace.identity({ sub: accountId, upstream: account?.upstream, upstreamSubject: account?.upstreamSubject, claims: account?.claims ?? {}, ...(account?.attrs ? { attrs: account.attrs } : {}) });
}

/**
 * Opaque access tokens never pass the JWT customizer: their claims (what introspection tells) are
 * recorded here, Baton's registered ones named without value.
 */
function recordedOpaque(ctx: KoaContextWithOIDC, token: TokenLike & { resourceServer?: { accessTokenFormat?: string } }, resource: string | undefined, extra: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (currentTrace() && token.resourceServer?.accessTokenFormat === 'opaque') {
    const aud = (token.resourceServer as { audience?: string }).audience;
    recordAccessTokenClaims(ctx, resource, { iss: ctx.oidc.issuer, sub: token.accountId ?? token.clientId, client_id: token.clientId, aud, scope: token.scope, jti: undefined, iat: undefined, exp: undefined, ...extra });
  }
  return extra;
}
