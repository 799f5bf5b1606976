// RFC 8693 section 2.1: the token exchange request's parameters, checked before any token is
// looked at, and the target (section 2.1, `resource` / `audience`) and scopes (section 2.1,
// `scope`) the client may obtain, bounded by its configured resources.
import { errors } from 'oidc-provider';

import type { BatonConfig, ResourceConfig } from '../config/schema.ts';
import type { ResourcePolicy } from '../provider/resources.ts';

export const TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:';
export const ACCESS_TOKEN_TYPE = `${TOKEN_TYPE}access_token`;

export type SubjectTokenType = 'id_token' | 'access_token' | 'jwt';
export type ActorTokenType = 'access_token' | 'jwt';

/** The parameters this grant reads; every other one is dropped by oidc-provider. */
export const PARAMETERS = [
  'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'resource', 'audience', 'scope',
] as const;
/** Section 2.1: `resource` and `audience` may be repeated; any other repeated parameter is invalid_request. */
export const REPEATABLE = ['resource', 'audience'] as const;

export interface ExchangeRequest {
  readonly subjectToken: string;
  readonly subjectTokenType: SubjectTokenType;
  readonly actorToken?: string;
  readonly actorTokenType?: ActorTokenType;
  /** Requested scopes; undefined when `scope` was not sent. */
  readonly scopes?: readonly string[];
  readonly resources: readonly string[];
  readonly audiences: readonly string[];
}

type Params = Readonly<Record<string, unknown>>;

function single(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new errors.InvalidRequest(`${name} must be sent once`);
  return value;
}

function list(params: Params, name: string): string[] {
  const value = params[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && v !== '');
}

function tokenType<T extends string>(value: string, allowed: readonly T[], what: string): T {
  const short = value.startsWith(TOKEN_TYPE) ? value.slice(TOKEN_TYPE.length) : '';
  if (!(allowed as readonly string[]).includes(short)) throw new errors.InvalidRequest(`unsupported ${what}`);
  return short as T;
}

/** Section 2.1 and 2.2.2: missing or malformed parameters are invalid_request. */
export function readRequest(params: Params): ExchangeRequest {
  const subjectToken = single(params, 'subject_token');
  const subjectType = single(params, 'subject_token_type');
  if (!subjectToken) throw new errors.InvalidRequest('missing required parameter \'subject_token\'');
  if (!subjectType) throw new errors.InvalidRequest('missing required parameter \'subject_token_type\'');
  const actorToken = single(params, 'actor_token');
  const actorType = single(params, 'actor_token_type');
  if (actorToken && !actorType) throw new errors.InvalidRequest('actor_token_type is required with actor_token');
  if (!actorToken && actorType) throw new errors.InvalidRequest('actor_token_type must not be sent without actor_token');
  const requested = single(params, 'requested_token_type');
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported requested_token_type: only access tokens are issued');
  const scope = single(params, 'scope');
  return {
    subjectToken,
    subjectTokenType: tokenType(subjectType, ['id_token', 'access_token', 'jwt'] as const, 'subject_token_type'),
    actorToken,
    actorTokenType: actorToken && actorType ? tokenType(actorType, ['access_token', 'jwt'] as const, 'actor_token_type') : undefined,
    scopes: scope === undefined ? undefined : [...new Set(scope.split(' ').filter(Boolean))],
    resources: list(params, 'resource'),
    audiences: list(params, 'audience'),
  };
}

/**
 * The one resource the token is for. `resource` values are resource indicators; `audience` values
 * name a resource by its `audience` (or id). An access token is for one resource (RFC 8707), so
 * more than one distinct target is invalid_target, never silently reduced; no target at all uses
 * the client's only resource when it has exactly one.
 */
export function resolveTarget(request: ExchangeRequest, config: BatonConfig, policy: ResourcePolicy, clientId: string): string {
  const targets = new Set<string>();
  for (const value of request.resources) {
    // A declared resource's id passed the same check when the configuration was loaded.
    if (!config.resources.some((r) => r.id === value) && !isResourceIndicator(value)) throw new errors.InvalidTarget('resource must be an absolute URI without a fragment');
    targets.add(value);
  }
  for (const value of request.audiences) {
    const resource = config.resources.find((r: ResourceConfig) => (r.audience ?? r.id) === value || r.id === value);
    if (!resource) throw new errors.InvalidTarget('audience is unknown');
    targets.add(resource.id);
  }
  if (targets.size > 1) throw new errors.InvalidTarget('one resource (or audience) per token exchange');
  const target = targets.values().next().value ?? policy.soleResource(clientId);
  if (!target) throw new errors.InvalidTarget('resource or audience is required');
  if (!config.resources.some((r) => r.id === target)) throw new errors.InvalidTarget('resource is unknown');
  if (!policy.allowedScopes(clientId, target)) throw new errors.InvalidTarget('resource is not allowed for this client');
  return target;
}

/** Section 2.2.2: a scope outside what the client may have at the resource is invalid_scope, never dropped. */
export function boundScopes(request: ExchangeRequest, allowed: readonly string[]): readonly string[] {
  if (request.scopes === undefined) return allowed;
  const refused = request.scopes.filter((scope) => !allowed.includes(scope));
  if (refused.length > 0) throw new errors.InvalidScope('requested scope is not allowed', refused.join(' '));
  return request.scopes;
}

/**
 * Section 1.1 downscoping: the result of exchanging a Baton access token carries no scope the
 * subject token lacks. Requested ones beyond it are invalid_scope; without `scope`, the client's
 * scopes the subject token has (invalid_scope when that leaves none of a resource that has scopes).
 */
export function boundBySubject(request: ExchangeRequest, allowed: readonly string[], subjectScopes: readonly string[]): readonly string[] {
  const requested = boundScopes(request, allowed);
  const held = new Set(subjectScopes);
  if (request.scopes !== undefined) {
    const beyond = requested.filter((scope) => !held.has(scope));
    if (beyond.length > 0) throw new errors.InvalidScope('requested scope exceeds the scopes of the subject_token', beyond.join(' '));
    return requested;
  }
  const within = requested.filter((scope) => held.has(scope));
  if (within.length === 0 && requested.length > 0) throw new errors.InvalidScope('the subject_token carries none of the scopes this client may have at the resource', requested.join(' '));
  return within;
}

function isResourceIndicator(value: string): boolean {
  if (value.includes('#')) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
