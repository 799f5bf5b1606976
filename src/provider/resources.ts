// RFC 8707 resource indicators: which APIs a client may obtain tokens for, and with which scopes.
// Wired into oidc-provider's resourceIndicators helpers; the token format follows RFC 9068.
import { errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';

import type { BatonConfig, ClientConfig, ResourceConfig } from '../config/schema.ts';
import { currentTrace } from '../explain/trace-context.ts';
import { recordResourceScopes } from '../explain/scopes.ts';
import { recordRefusal } from '../explain/steps.ts';

const INFO_CACHE_SIZE = 1024;

type Client = NonNullable<KoaContextWithOIDC['oidc']['client']>;

/**
 * The orchestration step at token issuance: given the scopes a client may have at a resource,
 * returns those this token gets (authorizers may narrow, never widen), or throws an OAuth error.
 */
export type ScopeDecider = (ctx: KoaContextWithOIDC, clientId: string, resource: string, allowed: readonly string[]) => Promise<readonly string[]>;

export class ResourcePolicy {
  readonly #resources: ReadonlyMap<string, ResourceConfig>;
  /** client_id -> resource id -> scopes the client may obtain there. */
  readonly #grants: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
  readonly #config: BatonConfig;

  /** Decides, at the token endpoint, which of the allowed scopes of a resource this token gets. */
  readonly #decide?: ScopeDecider;

  constructor(config: BatonConfig, decide?: ScopeDecider) {
    this.#config = config;
    this.#decide = decide;
    this.#resources = new Map(config.resources.map((r) => [r.id, r]));
    this.#grants = new Map(config.clients.map((c) => [c.client_id, allowedResources(c, this.#resources)]));
  }

  /** The one resource a client may use, if it has exactly one: the default for client_credentials. */
  soleResource(clientId: string): string | undefined {
    const allowed = this.#grants.get(clientId);
    return allowed?.size === 1 ? allowed.keys().next().value : undefined;
  }

  allowedScopes(clientId: string, resource: string): readonly string[] | undefined {
    return this.#grants.get(clientId)?.get(resource);
  }

  /** features.resourceIndicators.getResourceServerInfo */
  getResourceServerInfo = async (ctx: KoaContextWithOIDC, indicator: string, client: Client): Promise<ResourceServer> => {
    const resource = this.#resources.get(indicator);
    const scopes = this.allowedScopes(client.clientId, indicator);
    if (!resource || !scopes) {
      throw new errors.InvalidTarget(`resource ${resource ? 'is not allowed for this client' : 'is unknown'}`);
    }
    const clientCredentials = isClientCredentials(ctx);
    if (clientCredentials) rejectScopesOutside(ctx, scopes);
    const decided = ctx.oidc.route === 'token' && this.#decide ? await this.#decide(ctx, client.clientId, indicator, scopes) : scopes;
    const trace = ctx.oidc.route === 'token' ? currentTrace() : undefined;
    if (trace) recordResourceScopes(trace, { resource: indicator, defined: resource.scopes, allowed: scopes, decided, asked: askedScopes(ctx) });
    return this.#serverInfo(resource, decided, clientCredentials);
  };

  /**
   * Resource server descriptions depend only on static config: built once per resource, grant kind
   * and set of decided scopes. Those sets are subsets of the configured scopes (authorizers and
   * rules pick among them), so in theory 2^n of them: the cache starts over past INFO_CACHE_SIZE.
   */
  readonly #infoCache = new Map<string, ResourceServer>();

  #serverInfo(resource: ResourceConfig, scopes: readonly string[], clientCredentials: boolean): ResourceServer {
    const key = `${clientCredentials ? 'cc' : 'user'}\u0000${resource.id}\u0000${scopes.join(' ')}`;
    let info = this.#infoCache.get(key);
    if (!info) {
      const ttl = resource.accessTokenTTL ?? (clientCredentials ? this.#config.ttl.clientCredentials : this.#config.ttl.accessToken);
      info = {
        scope: scopes.join(' '),
        audience: resource.audience ?? resource.id,
        accessTokenTTL: ttl,
        accessTokenFormat: resource.accessTokenFormat,
        ...(resource.accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: resource.signingAlg ?? this.#config.keys.signing[0] } } } : {}),
      };
      if (this.#infoCache.size >= INFO_CACHE_SIZE) this.#infoCache.clear();
      this.#infoCache.set(key, info);
    }
    return { ...info };
  }

  /**
   * features.resourceIndicators.defaultResource. client_credentials without `resource` uses the
   * client's only resource; scopes requested without any resource are refused rather than dropped.
   */
  defaultResource = async (ctx: KoaContextWithOIDC, client: Client, oneOf?: readonly string[]): Promise<string | readonly string[] | undefined> => {
    if (oneOf) return oneOf;
    if (!isClientCredentials(ctx)) return undefined;
    const sole = this.soleResource(client.clientId);
    if (sole) return sole;
    rejectScopesOutside(ctx, []);
    return undefined;
  };

  /** features.resourceIndicators.useGrantedResource: a code for one API needs no repeated `resource`. */
  useGrantedResource = async (): Promise<boolean> => true;
}

function allowedResources(client: ClientConfig, resources: ReadonlyMap<string, ResourceConfig>): Map<string, readonly string[]> {
  const allowed = new Map<string, readonly string[]>();
  for (const entry of client.resources) {
    const resource = resources.get(entry.id);
    if (resource) allowed.set(entry.id, entry.scopes ?? resource.scopes);
  }
  return allowed;
}

/** The scopes this token request asks: its `scope` parameter, else the code's or refresh token's. */
function askedScopes(ctx: KoaContextWithOIDC): ReadonlySet<string> | undefined {
  if (typeof ctx.oidc.params?.scope === 'string') return new Set(ctx.oidc.params.scope.split(' ').filter(Boolean));
  const source = (ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.DeviceCode ?? ctx.oidc.entities.RefreshToken) as { scopes?: Set<string> } | undefined;
  return source?.scopes;
}

function isClientCredentials(ctx: KoaContextWithOIDC): boolean {
  return ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
}

/** RFC 6749 section 5.2: a scope the client may not have is invalid_scope, never silently dropped. */
function rejectScopesOutside(ctx: KoaContextWithOIDC, allowed: readonly string[]): void {
  const requested = typeof ctx.oidc.params?.scope === 'string' ? ctx.oidc.params.scope.split(' ').filter(Boolean) : [];
  const refused = scopesOutside(requested, allowed);
  if (refused.length > 0) {
    recordRefusal('invalid_scope', `requested scope is not allowed: ${refused.join(' ')}`, 'client');
    throw new errors.InvalidScope('requested scope is not allowed', refused.join(' '));
  }
}

/** The requested scopes a client_credentials client may not have (refused with invalid_scope); `baton preview` shares it. */
export function scopesOutside(requested: readonly string[], allowed: readonly string[]): string[] {
  return requested.filter((scope) => !allowed.includes(scope));
}
