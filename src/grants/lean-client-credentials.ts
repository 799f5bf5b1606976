// client_credentials (RFC 6749 section 4.4) on the lean token path (http/lean-token.ts): the
// provider's own client records, secret comparison, resource policy, decider, token model, keys and
// events, without its Koa middleware. It answers only a request it can answer exactly as the full
// pipeline would; for anything else (every error among them) it says `fallback` before any side effect.
import type { IncomingHttpHeaders } from 'node:http';

import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import als from 'oidc-provider/lib/helpers/als.js';

import { currentTrace } from '../explain/recorder.ts';
import { isSecretHash, type SecretVerifier } from '../provider/client-secret.ts';
import type { ResourcePolicy } from '../provider/resources.ts';

type Client = NonNullable<KoaContextWithOIDC['oidc']['client']>;
type Params = Readonly<Record<string, string>>;

/** Parameters this path understands; a request with any other one goes the full way. */
const KNOWN = new Set(['grant_type', 'client_id', 'client_secret', 'scope', 'resource']);
/** oidc-provider's scope syntax check (RFC 6749 section 3.3). */
const SCOPE_SYNTAX = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/u;
/** oidc-provider's check of decoded Basic credentials (RFC 6749 appendix A.1/A.2: VSCHAR). */
const NOT_VSCHAR = /[^\x20-\x7E]/;

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
    client?: Client;
    entity(name: string, value: unknown): void;
  };
  body?: Record<string, unknown>;
}

export type LeanResult = { readonly fallback: true } | { readonly fallback: false; readonly body: Record<string, unknown> };

const FALLBACK = { fallback: true } as const;

export function leanClientCredentials({ provider, resources, secrets, staticScopes }: LeanGrantDeps) {
  /** RFC 6749 section 2.3.1, as oidc-provider reads it; undefined when it would not accept it. */
  function basicCredentials(header: string): { id: string; secret: string } | undefined {
    const parts = header.split(' ');
    if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'basic' || !isValidBase64(parts[1]!)) return undefined;
    const basic = Buffer.from(parts[1]!, 'base64').toString('utf8');
    const i = basic.indexOf(':');
    if (i === -1) return undefined;
    try {
      const id = decodeAuthToken(basic.slice(0, i));
      const secret = decodeAuthToken(basic.slice(i + 1));
      return id && secret ? { id, secret } : undefined;
    } catch {
      return undefined;
    }
  }

  /** The authenticated client, or undefined wherever the provider could answer anything but success. */
  async function authenticate(headers: IncomingHttpHeaders, params: Params): Promise<Client | undefined> {
    let id = params.client_id;
    let secret = params.client_secret;
    if (headers.authorization !== undefined) {
      if (secret !== undefined) return undefined;
      const basic = basicCredentials(headers.authorization);
      if (!basic || (id !== undefined && id !== basic.id)) return undefined;
      ({ id, secret } = basic);
    }
    if (id === undefined || secret === undefined) return undefined;
    const client = await provider.Client.find(id);
    if (!client || (client.clientAuthMethod !== 'client_secret_basic' && client.clientAuthMethod !== 'client_secret_post')) return undefined;
    const stored = (client as { clientSecret?: string }).clientSecret;
    // A hash not verified before costs scrypt: the full pipeline verifies it (once, not twice on a wrong secret).
    if (isSecretHash(stored) && !secrets.known(secret, stored)) return undefined;
    try {
      (client as unknown as { checkClientSecretExpiration(message: string): void }).checkClientSecretExpiration('expired');
    } catch {
      return undefined;
    }
    if (!(await client.compareClientSecret(secret))) return undefined;
    return client.grantTypeAllowed('client_credentials') ? client : undefined;
  }

  /** What the provider's handler (client_credentials.js) answers, or `fallback`. */
  async function handle(ctx: LeanContext, headers: IncomingHttpHeaders, params: Params): Promise<LeanResult> {
    if (params.grant_type !== 'client_credentials' || Object.keys(params).some((k) => !KNOWN.has(k))) return FALLBACK;
    const scope = params.scope;
    const requested = scope === undefined ? [] : [...new Set(scope.split(' '))];
    if (scope !== undefined && (!SCOPE_SYNTAX.test(scope) || requested.some((s) => staticScopes.has(s)))) return FALLBACK;
    const client = await authenticate(headers, params);
    if (!client) return FALLBACK;
    // RFC 8707: the one resource asked for, or the client's only one (ResourcePolicy.defaultResource).
    const resource = params.resource ?? resources.soleResource(client.clientId);
    const allowed = resource === undefined ? undefined : resources.allowedScopes(client.clientId, resource);
    if (resource === undefined || !allowed || requested.some((s) => !allowed.includes(s))) return FALLBACK;

    ctx.oidc.client = client;
    // Issue 15: what was asked and for whom (a client is its own subject); the shared steps record the rest.
    const trace = currentTrace();
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
      return { fallback: false, body };
    });
  }

  return handle;
}

function isValidBase64(input: string): boolean {
  const match = /^([A-Za-z0-9+/]*)(={0,2})$/u.exec(input);
  if (!match?.[1]) return false;
  const remainder = match[1].length % 4;
  if (!match[2]) return remainder !== 1;
  return (match[1].length + match[2].length) % 4 === 0 && match[2].length === 4 - remainder;
}

function decodeAuthToken(token: string): string {
  const decoded = decodeURIComponent(token.replace(/\+/g, '%20'));
  if (NOT_VSCHAR.test(decoded)) throw new Error('invalid character found');
  return decoded;
}
