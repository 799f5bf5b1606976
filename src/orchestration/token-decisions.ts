// The authorizer fan-out at the token endpoint: for every access token for a resource, the
// authorizers owning the requested scopes decide (in parallel); their decision bounds the token's
// scopes (never widens them) and their claims are added to it. Runs for every grant that issues
// an access token for a resource: authorization_code, refresh_token, client_credentials.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import { recordRefusal } from '../explain/steps.ts';
import { merged } from '../lang/merged.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../provider/accounts.ts';
import type { ScopeDecider } from '../provider/resources.ts';
import type { Store } from '../storage/store.ts';
import type { Authorizers, AuthorizerTrace, DecisionRequest } from './authorizers/index.ts';
import type { Metrics } from '../observability/metrics.ts';

const STATE_KEY = 'batonAuthorizerClaims';

/** An authorizer that failed under `onFailure: deny`: the dependency, not the request, is at fault. */
class TemporarilyUnavailable extends errors.CustomOIDCProviderError {
  constructor(description: string) {
    super('temporarily_unavailable', description);
    Object.assign(this, { statusCode: 503, status: 503 });
  }
}

interface ScopedEntity {
  readonly scopes?: Set<string>;
  readonly acr?: string;
  readonly amr?: string[];
  readonly authTime?: number;
}

export function authorizerDecider(authorizers: Authorizers, store: Store, metrics?: Metrics): ScopeDecider {
  return async (ctx, clientId, resource, allowed) => {
    const source = (ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.DeviceCode ?? ctx.oidc.entities.RefreshToken) as ScopedEntity | undefined;
    const asked = typeof ctx.oidc.params?.scope === 'string' ? ctx.oidc.params.scope.split(' ') : [...source?.scopes ?? []];
    const accountId = ctx.oidc.entities.Account?.accountId;
    const account = accountId ? (await store.getRecord<AccountRecord>(ACCOUNT_KIND, accountId))?.value : undefined;
    const result = await decideResourceScopes(authorizers, {
      clientId, grantType: String(ctx.oidc.params?.grant_type ?? ''), resource, asked, allowed,
      ...(accountId === undefined ? {} : { accountId }), ...(account ? { account } : {}),
      ...(source?.acr === undefined ? {} : { acr: source.acr }), ...(source?.amr === undefined ? {} : { amr: source.amr }),
      ...(source?.authTime === undefined ? {} : { authTime: source.authTime }),
    }, metrics);
    if (!result) return allowed;
    if (result.failed) recordRefusal('temporarily_unavailable', `the authorizer ${result.failed} could not decide`, `authorizer:${result.failed}`);
    if (result.failed) throw new TemporarilyUnavailable(`the authorizer ${result.failed} could not decide; try again later`);
    (ctx.state[STATE_KEY] ??= {} as Record<string, Record<string, unknown>>)[resource] = result.claims;
    return result.scopes;
  };
}

/** One access token's decision, outside any request (the token endpoint and `baton preview` both call it). */
export interface ResourceScopesInput {
  readonly clientId: string;
  readonly grantType: string;
  readonly resource: string;
  /** The scopes asked, in request order. */
  readonly asked: readonly string[];
  /** What the client may have at the resource (ResourcePolicy.allowedScopes). */
  readonly allowed: readonly string[];
  /** Absent for client_credentials. */
  readonly accountId?: string;
  readonly account?: AccountRecord;
  readonly acr?: string;
  readonly amr?: readonly string[];
  readonly authTime?: number;
}

/** The fan-out for one resource; undefined when no authorizer is concerned (the allowed scopes stand). */
export async function decideResourceScopes(authorizers: Pick<Authorizers, 'concerns' | 'decide'>, input: ResourceScopesInput, metrics?: Metrics): Promise<FanOutOutcome | undefined> {
  // In request order (docs/authorizers.md), not the resource's declared order.
  const permitted = new Set(input.allowed);
  const requested = [...new Set(input.asked)].filter((scope) => permitted.has(scope));
  if (!authorizers.concerns(requested)) return undefined;
  const { account } = input;
  return fanOut(authorizers, {
    subject: input.accountId ?? input.clientId,
    clientId: input.clientId,
    grantType: input.grantType,
    resource: input.resource,
    scopes: requested,
    upstream: account?.upstream ? { idp: account.upstream, acr: input.acr, amr: input.amr, authTime: input.authTime } : undefined,
    claims: account?.claims ?? {},
  }, input.allowed, metrics);
}

export interface FanOutOutcome {
  /** The allowed scopes this token keeps: those outside every namespace, and the namespaced ones granted. */
  readonly scopes: string[];
  /** Claims the authorizers add to the access token (namespaced). */
  readonly claims: Record<string, unknown>;
  /** An authorizer that could not decide under `onFailure: deny`: the whole request must fail. */
  readonly failed?: string;
  /** Each authorizer's part (who granted or denied which scope). */
  readonly decisions: readonly AuthorizerTrace[];
}

/** Asks the authorizers concerned by `request.scopes` and bounds `allowed` by their answer; metrics per authorizer. */
export async function fanOut(authorizers: Pick<Authorizers, 'decide'>, request: DecisionRequest, allowed: readonly string[], metrics?: Metrics): Promise<FanOutOutcome> {
  const result = await authorizers.decide(request);
  for (const trace of result.traces) {
    metrics?.authorizers.observe({ authorizer: trace.authorizer, outcome: trace.outcome, cached: String(trace.cached) }, trace.latencyMs / 1000);
  }
  if (result.failed) return { scopes: [], claims: {}, failed: result.failed.authorizer, decisions: result.traces };
  const decided = new Set(result.scopes);
  return { scopes: allowed.filter((scope) => !request.scopes.includes(scope) || decided.has(scope)), claims: result.claims, decisions: result.traces };
}

/** Claims the authorizers added for the resource of this access token (see authorizerDecider). */
export function authorizerClaims(ctx: KoaContextWithOIDC, resource: string | undefined): Record<string, unknown> | undefined {
  if (!resource) return undefined;
  return (ctx.state?.[STATE_KEY] as Record<string, Record<string, unknown>> | undefined)?.[resource];
}

/** Adds claims to the access token for `resource` (e.g. token exchange's `act`); hooks cannot overwrite reserved ones. */
export function addTokenClaims(ctx: KoaContextWithOIDC, resource: string, claims: Record<string, unknown>): void {
  const state = (ctx.state[STATE_KEY] ??= {}) as Record<string, Record<string, unknown>>;
  state[resource] = merged(state[resource], claims);
}
