// The authorizer fan-out at the token endpoint: for every access token for a resource, the
// authorizers owning the requested scopes decide (in parallel); their decision bounds the token's
// scopes (never widens them) and their claims are added to it. Runs for every grant that issues
// an access token for a resource: authorization_code, refresh_token, client_credentials.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import { recordRefusal } from '../explain/steps.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../provider/accounts.ts';
import type { ScopeDecider } from '../provider/resources.ts';
import type { Store } from '../storage/store.ts';
import type { Authorizers, DecisionRequest } from './authorizers/index.ts';
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
    const grantType = String(ctx.oidc.params?.grant_type ?? '');
    const source = (ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.DeviceCode ?? ctx.oidc.entities.RefreshToken) as ScopedEntity | undefined;
    const asked = typeof ctx.oidc.params?.scope === 'string' ? new Set(ctx.oidc.params.scope.split(' ')) : source?.scopes;
    // In request order (docs/authorizers.md), not the resource's declared order.
    const permitted = new Set(allowed);
    const requested = [...(asked ?? [])].filter((scope) => permitted.has(scope));
    if (!authorizers.concerns(requested)) return allowed;

    const accountId = ctx.oidc.entities.Account?.accountId;
    const account = accountId ? (await store.getRecord<AccountRecord>(ACCOUNT_KIND, accountId))?.value : undefined;
    const result = await fanOut(authorizers, {
      subject: accountId ?? clientId,
      clientId,
      grantType,
      resource,
      scopes: requested,
      upstream: account?.upstream ? { idp: account.upstream, acr: source?.acr, amr: source?.amr, authTime: source?.authTime } : undefined,
      claims: account?.claims ?? {},
    }, allowed, metrics);
    if (result.failed) recordRefusal('temporarily_unavailable', `the authorizer ${result.failed} could not decide`, `authorizer:${result.failed}`);
    if (result.failed) throw new TemporarilyUnavailable(`the authorizer ${result.failed} could not decide; try again later`);
    (ctx.state[STATE_KEY] ??= {} as Record<string, Record<string, unknown>>)[resource] = result.claims;
    return result.scopes;
  };
}

export interface FanOutOutcome {
  /** The allowed scopes this token keeps: those outside every namespace, and the namespaced ones granted. */
  readonly scopes: string[];
  /** Claims the authorizers add to the access token (namespaced). */
  readonly claims: Record<string, unknown>;
  /** An authorizer that could not decide under `onFailure: deny`: the whole request must fail. */
  readonly failed?: string;
}

/** Asks the authorizers concerned by `request.scopes` and bounds `allowed` by their answer; metrics per authorizer. */
export async function fanOut(authorizers: Authorizers, request: DecisionRequest, allowed: readonly string[], metrics?: Metrics): Promise<FanOutOutcome> {
  const result = await authorizers.decide(request);
  for (const trace of result.traces) {
    metrics?.authorizers.observe({ authorizer: trace.authorizer, outcome: trace.outcome, cached: String(trace.cached) }, trace.latencyMs / 1000);
  }
  if (result.failed) return { scopes: [], claims: {}, failed: result.failed.authorizer };
  const decided = new Set(result.scopes);
  return { scopes: allowed.filter((scope) => !request.scopes.includes(scope) || decided.has(scope)), claims: result.claims };
}

/** Claims the authorizers added for the resource of this access token (see authorizerDecider). */
export function authorizerClaims(ctx: KoaContextWithOIDC, resource: string | undefined): Record<string, unknown> | undefined {
  if (!resource) return undefined;
  return (ctx.state?.[STATE_KEY] as Record<string, Record<string, unknown>> | undefined)?.[resource];
}

/** Adds claims to the access token for `resource` (e.g. token exchange's `act`); hooks cannot overwrite reserved ones. */
export function addTokenClaims(ctx: KoaContextWithOIDC, resource: string, claims: Record<string, unknown>): void {
  const state = (ctx.state[STATE_KEY] ??= {}) as Record<string, Record<string, unknown>>;
  state[resource] = { ...state[resource], ...claims };
}
