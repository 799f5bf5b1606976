// OAuth 2.0 Token Exchange (RFC 8693) as an oidc-provider grant: section 2.1 request, section 2.2.1
// response (`issued_token_type`), section 2.2.2 errors, section 4.1 `act`, section 4.4 `may_act`.
// What an exchange of a Baton access token issues ends with the grant that token came from.
// Register once per provider instance: registerTokenExchange(provider, deps).
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import { TOKEN_EXCHANGE, type BatonConfig } from '../config/schema.ts';
import type { TokenExchangePolicy } from '../config/token-exchange.ts';
import type { KeySet } from '../keys/keyset.ts';
import type { Events } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import { noteDelegation } from '../observability/provider-events.ts';
import type { HookPoints } from '../orchestration/hook-points.ts';
import { addTokenClaims } from '../orchestration/token-decisions.ts';
import { deriveGrant, derivedGrantOf, grantAlive, recordAccessToken } from '../provider/grant-lineage.ts';
import type { ResourcePolicy } from '../provider/resources.ts';
import { revokeGrant } from '../provider/adapter.ts';
import type { Store } from '../storage/store.ts';
import type { Connector } from '../upstream/connector.ts';
import type { Upstreams } from '../upstream/index.ts';
import { ACCESS_TOKEN_TYPE, boundScopes, boundBySubject, PARAMETERS, readRequest, REPEATABLE, resolveTarget, type ExchangeRequest } from './token-exchange-request.ts';
import { authorizeSubject, delegation, fromBaton, fromTrusted, fromUpstream, type ExchangeSubject, type Party } from './token-exchange-subject.ts';
import { tokenVerifiers, type SingleUseToken, type TokenVerifiers } from './token-exchange-tokens.ts';

export interface TokenExchangeDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  /** The configured upstreams: their connectors verify upstream id_tokens. */
  readonly upstreams: Upstreams;
  readonly logger: Logger;
  /** The per-exchange `token exchanged` line's logger: the access log's (buffered, flushed every second and on close). */
  readonly requestLogger: Logger;
  readonly events: Events;
  /** loadAttrs, isAuthorized (here) and buildAccessTokenClaims (extraTokenClaims) run as in the other flows. */
  readonly hooks: HookPoints;
  /** Baton's current signing key set (the provider is rebuilt, and this called again, when it changes). */
  readonly keys: KeySet;
  /** The provider's resource policy (RFC 8707 bounds, then the authorizer fan-out). */
  readonly resources: ResourcePolicy;
}

type GrantContext = Parameters<Parameters<Provider['registerGrantType']>[1]>[0];

export function registerTokenExchange(provider: Provider, deps: TokenExchangeDeps): void {
  const { config, requestLogger, resources, store } = deps;
  const verifiers = tokenVerifiers(deps);
  const policies = new Map(config.clients.flatMap((c) => (c.tokenExchange ? [[c.client_id, c.tokenExchange] as const] : [])));

  async function handler(ctx: GrantContext): Promise<void> {
    const { client } = ctx.oidc;
    const clientId = client.clientId;
    const request = readRequest(ctx.oidc.params);
    const policy = policies.get(clientId);
    if (!policy) throw new errors.UnauthorizedClient('this client has no token exchange policy');
    // Section 2.2.2: a subject or actor token unacceptable by policy is invalid_request.
    if (!policy.subjectTokenTypes.includes(request.subjectTokenType)) throw new errors.InvalidRequest(`this client may not exchange subject tokens of type ${request.subjectTokenType}`);
    if (request.actorToken && !policy.actors) throw new errors.InvalidRequest('this client may not present actor tokens');

    // Target and scopes first: a request that cannot succeed never spends a single-use token.
    const resource = resolveTarget(request, config, resources, clientId);
    const allowed = resources.allowedScopes(clientId, resource) ?? [];
    boundScopes(request, allowed);

    const { subject, connector, singleUse } = await verifySubject(ctx, request, policy, verifiers, deps);
    // Section 1.1 downscoping: a Baton access token yields at most its own scopes, unless the policy says otherwise.
    const requested = subject.scopes && !policy.beyondSubjectScopes ? boundBySubject(request, allowed, subject.scopes) : boundScopes(request, allowed);
    const verifiedActor = request.actorToken ? await verifyActor(ctx, request, policy, verifiers, config.issuer) : undefined;
    const actor = verifiedActor?.party;
    const act = delegation(subject, actor, clientId, config.issuer);
    // Spent once every token checked out; concurrent requests with the same token: exactly one wins.
    await verifiers.spend([singleUse, verifiedActor?.singleUse].filter((t) => t !== undefined));
    await authorizeSubject(ctx, deps, subject, clientId, connector);

    // The authorizers decide for this user and these scopes (ResourcePolicy -> ScopeDecider).
    ctx.oidc.entity('Account', { accountId: subject.accountId, claims: async () => ({ sub: subject.accountId }) });
    ctx.oidc.params.scope = requested.join(' ');
    const info = await resources.getResourceServerInfo(ctx, resource, client);
    const decided = new Set(info.scope?.split(' '));
    const scope = requested.filter((s) => decided.has(s)).join(' ') || undefined;
    if (act) {
      addTokenClaims(ctx, resource, { act });
      noteDelegation(ctx, act);
    }

    // A refresh token would outlive the delegation it cannot carry: none when `act` is set.
    const withRefresh = Boolean(policy.refreshToken && scope && !act && client.grantTypeAllowed('refresh_token'));
    // A stored (opaque) token or a refresh token from another grant's token needs a grant of its own,
    // linked to that one so that it ends with it; a JWT alone is just recorded against that grant.
    const origin = subject.grantId;
    const needsGrant = withRefresh || (origin !== undefined && info.accessTokenFormat === 'opaque');
    const grantId = !needsGrant ? undefined : origin ? await derivedGrant(ctx, origin, subject.accountId, resource, scope) : await saveGrant(provider, subject.accountId, clientId, resource, scope);
    const at = new provider.AccessToken({ accountId: subject.accountId, client, gty: TOKEN_EXCHANGE, scope, grantId: grantId as string });
    at.resourceServer = new provider.ResourceServer(resource, info);
    ctx.oidc.entity('AccessToken', at);
    const accessToken = await at.save();
    if (info.accessTokenFormat !== 'opaque') await recordAccessToken(store, at.jti, grantId ?? origin, at.expiration);
    let refreshToken: string | undefined;
    if (grantId && scope && withRefresh) {
      const rt = new provider.RefreshToken({ accountId: subject.accountId, client, grantId, gty: TOKEN_EXCHANGE, scope, resource, rotations: 0 });
      ctx.oidc.entity('RefreshToken', rt);
      refreshToken = await rt.save();
    }
    requestLogger.info({ event: 'token_exchange', reqId: ctx.state?.requestId, clientId, sub: subject.accountId, subjectTokenType: request.subjectTokenType, actor: actor?.sub, resource, scope }, 'token exchanged');
    ctx.body = {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: at.tokenType,
      expires_in: at.expiration,
      scope,
      refresh_token: refreshToken,
    };
  }

  /**
   * The grant for what this client obtains from another grant's token: the one it derived from that
   * grant before (so each origin lists at most one grant per client), else a new one linked to it.
   * The origin may have ended while this request ran: then the grant ends too, and the request fails.
   */
  async function derivedGrant(ctx: GrantContext, origin: string, accountId: string, resource: string, scope: string | undefined): Promise<string> {
    const clientId = ctx.oidc.client!.clientId;
    const existing = await derivedGrantOf(store, origin, clientId);
    const grant = existing ? await provider.Grant.find(existing) : undefined;
    let grantId: string;
    if (grant && grant.accountId === accountId && grant.clientId === clientId) {
      if (scope) grant.addResourceScope(resource, scope);
      grantId = await grant.save();
    } else {
      grantId = await saveGrant(provider, accountId, clientId, resource, scope);
      await deriveGrant(store, origin, grantId, clientId, config.ttl.grant);
    }
    if (await grantAlive(store, origin, async (id) => Boolean(await provider.Grant.find(id)))) return grantId;
    await revokeGrant(store, grantId);
    throw new errors.InvalidRequest('subject_token belongs to a grant that has ended (logout, revocation or refresh token reuse)');
  }

  provider.registerGrantType(TOKEN_EXCHANGE, handler, PARAMETERS, REPEATABLE);
}

interface VerifiedSubject {
  readonly subject: ExchangeSubject;
  readonly connector?: Connector;
  /** An id_token or a trusted issuer's JWT, spent once the whole request checked out. */
  readonly singleUse?: SingleUseToken;
}

interface VerifiedActor {
  readonly party: Party;
  /** A trusted issuer's JWT: single-use like a subject one (a captured actor token cannot act again). */
  readonly singleUse?: SingleUseToken;
}

/** Section 2.1 `subject_token`: verified per its type; id_tokens and external JWTs are single-use. */
async function verifySubject(ctx: KoaContextWithOIDC, request: ExchangeRequest, policy: TokenExchangePolicy, verifiers: TokenVerifiers, deps: TokenExchangeDeps): Promise<VerifiedSubject> {
  const token = request.subjectToken;
  switch (request.subjectTokenType) {
    case 'id_token': {
      const verified = await verifiers.upstreamIdToken(token, policy);
      const singleUse = { what: 'subject_token', issuer: String(verified.payload.iss), token, payload: verified.payload } as const;
      return { subject: fromUpstream(verified), connector: deps.upstreams.get(verified.upstream), singleUse };
    }
    case 'access_token':
      return { subject: await fromBaton(await verifiers.batonAccessToken(ctx, token, 'subject_token'), deps.store, deps.config.issuer) };
    case 'jwt': {
      const payload = await verifiers.trustedJwt(token, policy, 'subject_token');
      return { subject: fromTrusted(payload, deps.config.issuer), singleUse: { what: 'subject_token', issuer: payload.iss, token, payload } };
    }
  }
}

/**
 * Section 2.1 `actor_token`: a trusted issuer's JWT (the party is its `iss` and `sub`; single-use,
 * as a subject one), or a Baton access token that is the caller's own, or one whose `may_act` names
 * the caller (explicit delegation): a client cannot act as another by presenting that client's token.
 */
async function verifyActor(ctx: KoaContextWithOIDC, request: ExchangeRequest, policy: TokenExchangePolicy, verifiers: TokenVerifiers, issuer: string): Promise<VerifiedActor> {
  const token = request.actorToken!;
  if (request.actorTokenType === 'access_token') {
    const { payload } = await verifiers.batonAccessToken(ctx, token, 'actor_token');
    const caller = ctx.oidc.client!.clientId;
    const mayAct = payload.may_act as { sub?: unknown; iss?: unknown } | undefined;
    const delegated = typeof mayAct === 'object' && mayAct !== null && mayAct.sub === caller && (mayAct.iss ?? issuer) === issuer;
    if (payload.client_id !== caller && !delegated) throw new errors.InvalidRequest('actor_token was issued to another client and does not name this one in may_act');
    return { party: { sub: payload.sub, iss: issuer } };
  }
  const payload = await verifiers.trustedJwt(token, policy, 'actor_token');
  return { party: { sub: payload.sub, iss: payload.iss }, singleUse: { what: 'actor_token', issuer: payload.iss, token, payload } };
}

async function saveGrant(provider: Provider, accountId: string, clientId: string, resource: string, scope: string | undefined): Promise<string> {
  const grant = new provider.Grant({ accountId, clientId });
  if (scope) grant.addResourceScope(resource, scope);
  return grant.save();
}
