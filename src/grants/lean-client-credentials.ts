// client_credentials (RFC 6749 section 4.4) on the lean token path: the provider's own clients, resource
// policy, decider, token model and keys without its Koa middleware. Anything it cannot answer exactly
// as the full pipeline would (every error among them) is `fallback`, before any side effect.
import type { IncomingHttpHeaders } from 'node:http';

import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import als from 'oidc-provider/lib/helpers/als.js';

import { traceOfContext } from '../explain/trace-context.ts';
import type { SecretVerifier } from '../provider/client-secret.ts';
import { leanClientAuth } from './lean-client-auth.ts';
import type { ResourcePolicy } from '../provider/resources.ts';

type Client = NonNullable<KoaContextWithOIDC['oidc']['client']>;
type Params = Readonly<Record<string, string>>;

/** Parameters this path understands; a request with any other one goes the full way. */
const KNOWN = new Set(['grant_type', 'client_id', 'client_secret', 'scope', 'resource']);
/** oidc-provider's scope syntax check (RFC 6749 section 3.3). */
const SCOPE_SYNTAX = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/u;

export interface LeanGrantDeps {
  readonly provider: Provider;
  readonly resources: ResourcePolicy;
  /** The provider's hashed-secret verifier: a hash is compared here only when it verified before. */
  readonly secrets: SecretVerifier;
  /** The provider's static (OpenID) scopes: a request naming one goes the full way. */
  readonly staticScopes: ReadonlySet<string>;
}

/** The request's context as Baton's shared steps (decider, claims, events) read it. */
export interface LeanContext {
  readonly method: 'POST';
  readonly path: string;
  readonly req: unknown;
  readonly state: Record<string, unknown>;
  readonly oidc: {
    readonly route: 'token';
    readonly provider: Provider;
    readonly params: Record<string, string | undefined>;
    readonly entities: Record<string, unknown>;
    /** As oidc-provider's OIDCContext: the entities set with `entity()`. */
    readonly client?: Client;
    readonly account?: { accountId: string };
    readonly grant?: unknown;
    entity(name: string, value: unknown): void;
  };
  body?: Record<string, unknown>;
  /** The answer's status, once answered. */
  status?: number;
}

export type LeanResult =
  | { readonly fallback: true }
  /** `traced`: the grant recorded the whole request in its trace itself (nothing left to read from the answer). */
  | { readonly fallback: false; readonly body: Record<string, unknown>; readonly traced?: true }
  /** A provider grant's handler threw (lean-provider-grant.ts): answered as the token route's error handler does. */
  | { readonly fallback: false; readonly error: unknown };

const FALLBACK = { fallback: true } as const;

export function leanClientCredentials({ provider, resources, secrets, staticScopes }: LeanGrantDeps) {
  const authenticate = leanClientAuth(provider, secrets);

  /** What the provider's handler (client_credentials.js) answers, or `fallback`. */
  async function handle(ctx: LeanContext, headers: IncomingHttpHeaders, params: Params): Promise<LeanResult> {
    if (params.grant_type !== 'client_credentials' || Object.keys(params).some((k) => !KNOWN.has(k))) return FALLBACK;
    const scope = params.scope;
    const requested = scope === undefined ? [] : [...new Set(scope.split(' '))];
    if (scope !== undefined && (!SCOPE_SYNTAX.test(scope) || requested.some((s) => staticScopes.has(s)))) return FALLBACK;
    const client = await authenticate(headers, params, 'client_credentials');
    if (!client) return FALLBACK;
    // RFC 8707: the one resource asked for, or the client's only one (ResourcePolicy.defaultResource).
    const resource = params.resource ?? resources.soleResource(client.clientId);
    const allowed = resource === undefined ? undefined : resources.allowedScopes(client.clientId, resource);
    if (resource === undefined || !allowed || requested.some((s) => !allowed.includes(s))) return FALLBACK;

    ctx.oidc.entity('Client', client);
    // Issue 15: what was asked and for whom (a client is its own subject); the shared steps record the rest.
    const trace = traceOfContext(ctx);
    trace?.request({ endpoint: 'token', clientId: client.clientId, grantType: 'client_credentials', resources: [resource], scopes: requested });
    trace?.identity({ sub: client.clientId, claims: {} });
    Object.assign(ctx.oidc.params, { grant_type: 'client_credentials', scope, resource });
    return als.run(ctx, async () => {
      const info = await resources.getResourceServerInfo(ctx as unknown as KoaContextWithOIDC, resource, client);
      const token = new provider.ClientCredentials({ client, scope: requested.join(' ') || undefined });
      token.resourceServer = new provider.ResourceServer(resource, info);
      const granted = new Set(info.scope.split(' '));
      token.scope = requested.filter((s) => granted.has(s)).join(' ') || undefined;
      ctx.oidc.entity('ClientCredentials', token);
      const value = await token.save();
      // oidc-provider's buildTokenResponse: these members, in this order, undefined ones left out.
      const body = Object.fromEntries(Object.entries({
        access_token: value, expires_in: token.expiration, scope: token.scope || undefined, token_type: token.tokenType,
      }).filter(([, v]) => v !== undefined));
      return { fallback: false, body, traced: true };
    });
  }

  return handle;
}
