// The configuration schema: the single source of Baton's config types, defaults and reference doc
// (docs/configuration.md is generated from it by `npm run docs:config`).
import { z } from 'zod';

import { SIGNING_ALGORITHMS } from './algorithms.ts';
import { duration, reuseGrace } from './duration.ts';
import { explainSchema } from './explain.ts';
import { auditSchema, metricsSchema } from './observability.ts';
import { authorizerSchema, hooksSchema, ruleSchema } from './orchestration.ts';
import { bffSchema } from './bff.ts';
import { passthroughSchema } from './passthrough.ts';
import { tokenExchangePolicySchema, tokenExchangeSchema } from './token-exchange.ts';
import { REFRESH_POLICIES, upstreamSchema } from './upstreams.ts';

export { SIGNING_ALGORITHMS, type SigningAlgorithm } from './algorithms.ts';

/** OpenID Connect scopes Baton serves itself; API scopes belong to `resources`. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'] as const;

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE, DEVICE_CODE, 'password'] as const;

/** RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** RFC 6749 appendix A.1: client_id = *VSCHAR; Baton also refuses the empty string and spaces. */
const CLIENT_ID = /^[\x21-\x7e]+$/;
/** PHC-style scrypt hash, as printed by `baton hash-secret`. */
export const SECRET_HASH = /^\$scrypt\$ln=\d{1,2},r=\d{1,2},p=\d{1,2}\$[A-Za-z0-9+/_-]+\$[A-Za-z0-9+/_-]+$/;

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

const absoluteUrl = z.string().refine((v) => parseUrl(v) !== undefined, 'must be an absolute URL');

const issuer = z
  .string()
  .superRefine((value, ctx) => {
    const url = parseUrl(value);
    if (!url) {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
      return;
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      ctx.addIssue({ code: 'custom', message: 'must use https (http is only allowed for localhost)' });
    }
    if (url.search || url.hash || value.includes('?') || value.includes('#')) {
      ctx.addIssue({ code: 'custom', message: 'must not contain a query or fragment' });
    }
    if (url.pathname !== '/' || value.endsWith('/')) {
      ctx.addIssue({ code: 'custom', message: 'must be an origin without a path or trailing slash (e.g. https://id.example.com)' });
    }
  })
  .describe('The exact issuer identifier (`iss`) and public origin of Baton, e.g. `https://id.example.com`: https (http only for localhost), no path, query, fragment or trailing slash. Every endpoint URL is built from it, never from the Host header.');

const redirectUri = absoluteUrl.refine((v) => !v.includes('#'), 'must not contain a fragment');

/** RFC 8707 section 2: a resource indicator is an absolute URI without a fragment. */
const resourceIndicator = absoluteUrl.refine((v) => !v.includes('#'), 'must not contain a fragment');

const scopeToken = z.string().regex(SCOPE_TOKEN, 'must be a scope token (printable ASCII, no spaces, quotes or backslashes)');

const signingAlgorithm = z.enum(SIGNING_ALGORITHMS);

const serverSchema = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0').describe('Interface to listen on.'),
    port: z.number().int().min(0).max(65535).default(4000).describe('TCP port to listen on (0 picks a free port).'),
    trustProxy: z
      .boolean()
      .default(false)
      .describe('Take the client address (logs, per-address limits) from `X-Forwarded-For`, as set by the proxies in front of Baton (see `proxyHops`). Scheme, host and cookie security always follow `issuer`, never forwarded headers.'),
    proxyHops: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(1)
      .describe('With `trustProxy`: how many proxies in front of Baton append to `X-Forwarded-For` (a load balancer: 1; a CDN then a load balancer: 2). The client address is the entry that many places from the right; entries further left were sent by the client and are ignored.'),
    shutdownGracePeriod: duration('On SIGTERM: how long in-flight requests may take to finish before the process exits.').prefault(10),
    headersTimeout: duration('How long a client may take to send the request line and headers; a slower one is answered 408 and disconnected. At most `requestTimeout`.').prefault('10s'),
    requestTimeout: duration('How long a client may take to send a whole request (headers and body); a slower one is answered 408 and disconnected.').prefault('30s'),
    keepAliveTimeout: duration('How long an idle keep-alive connection stays open. Keep it longer than the idle timeout of the load balancer in front of Baton (60 s on most), or it may reuse a connection Baton is closing.').prefault('65s'),
    maxHeaderSize: z.number().int().min(1024).max(1_048_576).default(16_384).describe('Largest request line and headers accepted, in bytes; a larger request is answered 431 and disconnected.'),
  })
  .refine((server) => server.headersTimeout <= server.requestTimeout, { message: 'headersTimeout must not be longer than requestTimeout', path: ['headersTimeout'] })
  .describe('The HTTP listener.');

const sqliteStorage = z.strictObject({
  type: z.literal('sqlite').describe('Embedded SQLite.'),
  path: z.string().min(1).default('./data/baton.db').describe('SQLite database file (created with its directory if missing).'),
}).describe('Embedded SQLite (one instance).');

const postgresStorage = z.strictObject({
  type: z.literal('postgres').describe('PostgreSQL.'),
  url: z.string().min(1).describe('Connection URL, normally `${DATABASE_URL}` (postgres://user:password@host:5432/db).'),
  schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase SQL identifier').default('baton').describe('Schema holding Baton\'s tables (created if missing).'),
  poolSize: z.number().int().min(1).max(200).default(10).describe('Maximum connections per instance.'),
  timeout: duration('Bound on connecting and on every statement.').prefault('5s'),
}).describe('PostgreSQL, shared by every instance.');

const redisStorage = z.strictObject({
  type: z.literal('redis').describe('Redis.'),
  url: z.string().min(1).describe('Connection URL, normally `${REDIS_URL}` (redis://[:password@]host:6379/0).'),
  keyPrefix: z.string().default('baton:').describe('Prefix of every key Baton writes.'),
  timeout: duration('Bound on connecting and on every command.').prefault('2s'),
}).describe('Redis, shared by every instance (native TTLs).');

const storageSchema = z
  .discriminatedUnion('type', [
    sqliteStorage,
    z.strictObject({ type: z.literal('memory').describe('In memory.') }).describe('In memory (tests only: everything is lost on exit).'),
    postgresStorage,
    redisStorage,
    z.strictObject({
      type: z.literal('split').describe('Redis for short-lived records, PostgreSQL or SQLite for durable ones.'),
      durable: z.discriminatedUnion('type', [postgresStorage, sqliteStorage]).describe('Grants, refresh tokens, accounts, upstream vault, keys.'),
      shortLived: redisStorage.describe('Interactions, authorization and device codes, replay and decision caches (sessions stay durable).'),
    }).describe('Short-lived records in Redis, durable ones in PostgreSQL (or SQLite).'),
  ])
  .describe('Where Baton keeps its state: `sqlite` (embedded, the default), `postgres`, `redis`, `split`, or `memory` (tests).');

export const keysSchema = z
  .strictObject({
    signing: z
      .array(signingAlgorithm)
      .min(1)
      .default(['ES256', 'RS256'])
      .describe('Signing algorithms Baton holds a key for. The first is the default for access tokens; id_tokens default to RS256 (OpenID Connect Registration section 2; every OpenID Provider must support it, Core section 15.1), so keep RS256 in the list. The others are available to clients and resources that ask for them. A key is added at start for every listed algorithm the stored key set lacks. No duplicates.'),
    masterSecret: z
      .string()
      .min(32)
      .optional()
      .describe('Secret (at least 32 characters) from which the key that encrypts keys at rest is derived. Use `${ENV_VAR}` interpolation; never write it in the file. Required, unless `masterSecretFile` is set or `development` is true; not together with `masterSecretFile`.'),
    masterSecretFile: z.string().min(1).optional().describe('Path of a file holding the master secret (e.g. a mounted Kubernetes or Docker secret), instead of `masterSecret`.'),
    activationDelay: z.union([z.literal(0), duration('x')]).optional().describe('After `baton keys rotate`: how long new keys are only published before they sign. Default 0 with sqlite or memory storage (one instance), 90 s with shared stores, three reload intervals, so every instance publishes a key before any signs with it.'),
    reloadInterval: duration('How often each instance looks for a key set rotated elsewhere (and for a key whose activation time has come).').prefault('30s'),
  })
  .describe('Signing keys and the master secret that protects them at rest.');

const ttlSchema = z
  .strictObject({
    accessToken: duration('Lifetime of access tokens from user grants (a resource may set its own).').prefault(3600),
    clientCredentials: duration('Lifetime of client_credentials access tokens (a resource may set its own).').prefault(3600),
    idToken: duration('Lifetime of id_tokens.').prefault(3600),
    authorizationCode: duration('Lifetime of authorization codes.').prefault(60),
    refreshToken: duration('Lifetime of refresh tokens (each rotation issues a fresh one).').prefault('14d'),
    session: duration('Lifetime of the browser session at Baton.').prefault('14d'),
    interaction: duration('Time a user has to finish signing in.').prefault('1h'),
    deviceCode: duration('Time a user has to enter a device\'s code and approve it (RFC 8628).').prefault('10m'),
    grant: duration('Lifetime of a grant (the consent record refresh tokens hang off).').prefault('14d'),
  })
  .describe('Artifact lifetimes.');

export const resourceSchema = z
  .strictObject({
    id: resourceIndicator.describe('Resource indicator (RFC 8707): the absolute URI, without fragment, that clients send as `resource`. Unique among resources.'),
    name: z.string().optional().describe('Human-readable name.'),
    audience: z.string().min(1).optional().describe('`aud` of its access tokens; defaults to `id`.'),
    scopes: z.array(scopeToken).default([]).describe('Scopes this API defines: scope tokens (printable ASCII without spaces, `"` or `\\`), no duplicates.'),
    accessTokenFormat: z
      .enum(['jwt', 'opaque'])
      .default('jwt')
      .describe('`jwt`: RFC 9068 JWT access tokens the API verifies against the JWKS; `opaque`: a reference the API introspects.'),
    accessTokenTTL: duration('Lifetime of this API\'s access tokens; defaults to `ttl.accessToken`.').optional(),
    signingAlg: signingAlgorithm.optional().describe('Signing algorithm of this API\'s JWT access tokens: one of `keys.signing`, defaults to the first.'),
    introspectors: z
      .array(z.string().min(1))
      .default([])
      .describe('Confidential clients (by `client_id`) acting as this API\'s resource server: they may introspect its access tokens, JWT or opaque (RFC 7662 section 4). A token\'s own client may always introspect it; any other caller gets `{"active": false}`.'),
  })
  .describe('An API that Baton mints access tokens for.');

const clientResourceSchema = z.strictObject({
  id: z.string().min(1).describe('The `id` of a resource declared under `resources`.'),
  scopes: z.array(scopeToken).optional().describe('Scopes of that resource this client may obtain (each one of its `scopes`); defaults to all of them.'),
}).describe('An API this client may obtain access tokens for, optionally limited to some of its scopes.');

export const clientSchema = z
  .strictObject({
    client_id: z.string().regex(CLIENT_ID, 'must be printable ASCII without spaces').describe('OAuth client identifier: printable ASCII without spaces, unique among clients.'),
    client_name: z.string().optional().describe('Name shown to users.'),
    client_secret: z
      .string()
      .min(16)
      .optional()
      .describe('Plain secret for confidential clients, normally `${ENV_VAR}`. At least 16 characters. A confidential client needs this or `client_secret_hash` (not both); a public client (`none`) has neither.'),
    client_secret_hash: z
      .string()
      .regex(SECRET_HASH, 'must be a hash printed by `baton hash-secret`')
      .optional()
      .describe('scrypt hash of the secret (from `baton hash-secret`), instead of `client_secret`.'),
    redirect_uris: z.array(redirectUri).default([]).describe('Exact redirect URIs (absolute, no fragment); at least one is required with `authorization_code`.'),
    post_logout_redirect_uris: z.array(redirectUri).default([]).describe('Exact URIs (absolute, no fragment) allowed after RP-initiated logout.'),
    backchannel_logout_uri: redirectUri.optional().describe('OpenID Connect Back-Channel Logout 1.0: Baton POSTs a signed logout_token here when the user\'s session at Baton ends.'),
    backchannel_logout_session_required: z.boolean().default(false).describe('Include the session id (`sid`) in logout tokens.'),
    grant_types: z
      .array(z.enum(GRANT_TYPES))
      .min(1)
      .default(['authorization_code', 'refresh_token'])
      .describe('Grants this client may use, no duplicates. `refresh_token` requires `authorization_code`; `client_credentials` requires a confidential client.'),
    token_endpoint_auth_method: z
      .enum(['client_secret_basic', 'client_secret_post', 'none'])
      .default('client_secret_basic')
      .describe('`none` makes a public client (SPA, native app): PKCE is then always required.'),
    scopes: z
      .array(z.enum(OIDC_SCOPES))
      .default([...OIDC_SCOPES])
      .describe('OpenID Connect scopes this client may request. `[]`: none, for a client without a user sign-in (client_credentials, token exchange); not with `authorization_code` or `device_code`.'),
    resources: z.array(clientResourceSchema).default([]).describe('APIs (and their scopes) this client may obtain access tokens for.'),
    requirePkce: z.boolean().default(true).describe('Require PKCE (S256) on authorization requests. Always on for public clients (`false` is an error there).'),
    requireConsent: z.boolean().default(false).describe('Ask the user to approve the requested scopes (first-party clients usually skip it). Shown after sign-in through an upstream identity provider.'),
    upstreams: z.array(z.string().min(1)).optional().describe('Ids of the upstreams this client\'s users may sign in with; omitted: all of them.'),
    rules: z.array(ruleSchema).optional().describe('Declarative authorization after sign-in, before `isAuthorized`; omitted: everyone who signs in is allowed.'),
    tokenExchange: tokenExchangePolicySchema.optional().describe('What this client may exchange (RFC 8693); requires the token-exchange grant type.'),
    hooks: hooksSchema.optional().describe('Hook module for this client (isAuthenticated, authenticate, isAuthorized, loadAttrs, buildIDTokenClaims, buildAccessTokenClaims).'),
    refreshTokenReuseGrace: reuseGrace('Reuse grace: for this long after a refresh token was rotated, the same client presenting it again (a retry, a second tab, another instance) gets the same successor and a fresh access token instead of a reuse revocation. 0: strict (any second presentation revokes the family). Another client, a presentation after the window, or one after the successor itself was used is still reuse.'),
    upstreamRefresh: z.enum(REFRESH_POLICIES).optional().describe('Overrides the upstream\'s `refresh` policy for this client.'),
    id_token_signed_response_alg: signingAlgorithm.optional().describe('id_token signing algorithm: one of `keys.signing`. Default RS256 (OpenID Connect Registration section 2) when `keys.signing` lists it, else the first of `keys.signing`.'),
  })
  .describe('An application registered at Baton.');

export const configSchema = z
  .strictObject({
    issuer,
    development: z
      .boolean()
      .default(false)
      .describe('Development mode: allows starting without a master secret (one is generated next to the database). Never in production.'),
    server: serverSchema.prefault({}),
    storage: storageSchema.prefault({ type: 'sqlite' }),
    keys: keysSchema.prefault({}),
    ttl: ttlSchema.prefault({}),
    upstreams: z.array(upstreamSchema).default([]).describe('Identity providers users sign in with (federation).'),
    resources: z.array(resourceSchema).default([]).describe('APIs (RFC 8707 resource servers).'),
    authorizers: z.array(authorizerSchema).default([]).describe('HTTP services that decide the scopes of their namespace at every token issuance (see docs/authorizers.md).'),
    hooks: hooksSchema.optional().describe('Provider-level hook module: `buildUserInfoClaims`.'),
    tokenExchange: tokenExchangeSchema.prefault({}).describe('Token exchange (RFC 8693): issuers whose JWTs Baton trusts as subject tokens.'),
    clients: z.array(clientSchema).default([]).describe('Registered applications.'),
    passthrough: z.array(passthroughSchema).default([]).describe('Apps registered at an upstream IdP, served through Baton under `{issuer}/passthrough/{id}` without re-registration (see docs/passthrough.md).'),
    bff: z.array(bffSchema).default([]).describe('Backends-for-frontend for single-page apps, served under `{issuer}/bff/{id}/`: sign-in, server-side sessions and an API proxy, so no token reaches the browser (see docs/bff.md).'),
    logging: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Minimum log level.'),
      })
      .prefault({})
      .describe('JSON logs on stdout (pino); tokens, secrets and codes are always redacted.'),
    metrics: metricsSchema.prefault({}),
    audit: auditSchema.prefault({}),
    explain: explainSchema.prefault({}),
  })
  .describe('Baton configuration file (YAML).');

export type BatonConfig = z.output<typeof configSchema>;
export type ClientConfig = BatonConfig['clients'][number];
export type ResourceConfig = BatonConfig['resources'][number];
export type TtlConfig = BatonConfig['ttl'];
export type { UpstreamConfig, RefreshPolicy } from './upstreams.ts';
export type { AuthorizerConfig, RuleConfig, HooksConfig } from './orchestration.ts';
export type { PassthroughConfig } from './passthrough.ts';
export type { BffConfig, BffRouteConfig } from './bff.ts';
export type { ExplainConfig } from './explain.ts';
