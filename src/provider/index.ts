// Assembles oidc-provider from Baton's validated configuration: clients, resources, keys, TTLs and
// exactly the features Baton serves (discovery advertises nothing else).
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

import type { BatonConfig } from '../config/schema.ts';
import { logoutSource, postLogoutSuccessSource, renderError } from '../interactions/pages.ts';
import { devicePages } from '../interactions/device-pages.ts';
import type { KeySet } from '../keys/keyset.ts';
import { providerJwks } from '../keys/keyset.ts';
import { EXTERNAL_SIGNING_ACK, NodeSigningKey } from '../keys/node-signing-key.ts';
import type { Store } from '../storage/store.ts';
import { accountFinder } from './accounts.ts';
import { createAdapter, type ReuseEvent } from './adapter.ts';
import { TokensAtRest } from './tokens-at-rest.ts';
import { SCOPE_CLAIMS, STATIC_SCOPES } from './claims.ts';
import { isSecretHash, SecretVerifier } from './client-secret.ts';
import { clientMetadata } from './clients.ts';
import { IntrospectionPolicy, revocationAllowedPolicy } from './introspection.ts';
import { ResourcePolicy } from './resources.ts';
import { tokenClaims } from './token-claims.ts';
import { handedOverClaims } from '../http/lean-handoff.ts';
import { recordJwtGrant } from './grant-lineage.ts';
import { jwtCustomizer } from './jwt-claims.ts';
import { registerPasswordGrant } from '../grants/password.ts';
import { registerTokenExchange } from '../grants/token-exchange.ts';
import { wrapCodeGrants } from '../grants/code-grants.ts';
import { isGraceReplay, wrapRefreshTokenGrant } from '../grants/refresh-token.ts';
import type { Metrics } from '../observability/metrics.ts';
import { systemClock, type Clock } from '../storage/store.ts';
import type { Upstreams } from '../upstream/index.ts';
import { firstPartyConsentPrompt } from './first-party-consent.ts';
import { addIdTokenHook, loginPolicy } from './hooked-claims.ts';
import { reusedSessionCheck } from './reused-session.ts';
import type { HookPoints } from '../orchestration/hook-points.ts';
import type { ScopeDecider } from './resources.ts';
import type { Events } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { UpstreamSessions } from '../upstream/session.ts';

export interface ProviderDependencies {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly keys: KeySet;
  /** Keys for signing cookies (derived from the master secret). */
  readonly cookieKeys: string[];
  readonly onReuse: (event: ReuseEvent) => void;
  /** Seals the few secret ids read back by secondary lookups (derived from the master secret; tokens-at-rest.ts). */
  readonly tokenIdsKey: Buffer;
  /** Renews the upstream session before a refresh_token grant issues tokens. */
  readonly sessions: UpstreamSessions;
  readonly logger: Logger;
  /**
   * Where a line written for every request of a kind goes (a token exchange's `token exchanged`):
   * the access log's buffered destination, not a write per line. Default: `logger`.
   */
  readonly requestLogger?: Logger;
  readonly events: Events;
  /** The authorizer fan-out, when authorizers are configured. */
  readonly decideScopes?: ScopeDecider;
  readonly hooks: HookPoints;
  readonly upstreams: Upstreams;
  /** Epoch seconds, for which keys sign now. */
  readonly now: number;
  /** Counts refresh outcomes (`baton_refresh_total`). */
  readonly metrics?: Metrics;
  /** Epoch ms, for the reuse grace window. */
  readonly clock?: Clock;
  /** Runs before the logout confirmation page is shown (the upstream logout remembers what it needs). */
  readonly onLogoutPage?: (ctx: KoaContextWithOIDC) => Promise<void>;
  /** The resource policy, when the caller shares it (the lean token path does); else one is built from `decideScopes`. */
  readonly resources?: ResourcePolicy;
  /** The verifier of hashed client secrets, when the caller shares it (the lean token path does). */
  readonly secrets?: SecretVerifier;
}

type SigningJwk = ConstructorParameters<typeof NodeSigningKey>[0];

export function buildProvider(deps: ProviderDependencies): Provider {
  const { config, store } = deps;
  const resources = deps.resources ?? new ResourcePolicy(config, deps.decideScopes);
  const pkceRequiredFor = new Set(config.clients.filter((c) => c.requirePkce || c.token_endpoint_auth_method === 'none').map((c) => c.client_id));
  const findAccount = accountFinder(store);

  // oidc-provider refuses outgoing requests to special-use addresses (SSRF protection). Baton's
  // clients come from the operator's configuration, so their back-channel logout URIs are trusted
  // even on a private network or loopback; any other URL keeps the protection.
  const trustedOutgoing = new Set(config.clients.flatMap((c) => (c.backchannel_logout_uri ? [new URL(c.backchannel_logout_uri).href] : [])));

  const configuration: Configuration = {
    fetch: (input, init) => {
      const target = input instanceof Request ? input.url : new URL(input).href;
      const options = { ...init } as RequestInit & { dispatcher?: unknown };
      if (trustedOutgoing.has(target)) delete options.dispatcher;
      return globalThis.fetch(input, options);
    },
    adapter: createAdapter(new TokensAtRest(store, deps.tokenIdsKey), deps.onReuse),
    clients: config.clients.map((c) => clientMetadata(c, config)),
    jwks: { keys: providerJwks(deps.keys, deps.now).keys.map((jwk) => new NodeSigningKey(jwk as SigningJwk)) },
    findAccount,
    ...claimsConfiguration(),
    responseTypes: ['code'],
    // idp_hint names the upstream to sign in with (skips the chooser).
    extraParams: ['idp_hint'],
    // acr_values_supported: what the upstreams say they assert (Baton issues their acr unchanged).
    acrValues: [...new Set(config.upstreams.flatMap((u) => u.acrValues ?? []))],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    enabledJWA: {
      idTokenSigningAlgValues: [...config.keys.signing],
    },
    pkce: {
      // RFC 9700 section 2.1.1: PKCE for every client that does not opt out; always for public ones.
      required: (_ctx, client) => pkceRequiredFor.has(client.clientId),
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: new IntrospectionPolicy(config).allowedPolicy },
      revocation: { enabled: true, allowedPolicy: revocationAllowedPolicy },
      userinfo: { enabled: true },
      // OIDC Core section 5.5: individual claims, essential or voluntary, for userinfo and the id_token.
      claimsParameter: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: KoaContextWithOIDC, form: string) => {
          await deps.onLogoutPage?.(ctx);
          await logoutSource(ctx, form);
        },
        postLogoutSuccessSource,
      },
      backchannelLogout: { enabled: true },
      deviceFlow: { enabled: true, charset: 'base-20', mask: '****-****', ...devicePages(findAccount) },
      resourceIndicators: {
        enabled: true,
        defaultResource: resources.defaultResource,
        getResourceServerInfo: resources.getResourceServerInfo,
        useGrantedResource: resources.useGrantedResource,
      },
      // Not yet covered by Baton's tests or flows; off so discovery does not advertise them.
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      richAuthorizationRequests: { enabled: false },
      // Lets the provider sign through NodeSigningKey (node:crypto) instead of jose's async path.
      externalSigningSupport: { enabled: true, ack: EXTERNAL_SIGNING_ACK },
    },
    routes: {
      authorization: '/authorize',
      userinfo: '/userinfo',
      introspection: '/introspect',
      revocation: '/revoke',
      end_session: '/logout',
      device_authorization: '/device/auth',
      code_verification: '/device',
    },
    interactions: {
      policy: loginPolicy(
        deps.hooks, store,
        [reusedSessionCheck({ config, store, hooks: deps.hooks, upstreams: deps.upstreams, logger: deps.logger, events: deps.events })],
        (consent) => firstPartyConsentPrompt(consent, { config, sessions: deps.sessions }),
      ),
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // Every authorization_code grant of a client allowed refresh_token gets one (rotated on use).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Every refresh rotates, except a grace replay, which answers with the successor already issued.
    rotateRefreshToken: (ctx) => !isGraceReplay(ctx),
    // A JWT access token is not stored: remember its grant, so token exchange can tell it ended.
    formats: { customizers: { jwt: jwtCustomizer(recordJwtGrant(store)) } },
    // Replayed, not run again, when the lean token path hands a request over (http/lean-handoff.ts).
    extraTokenClaims: handedOverClaims(tokenClaims({ config, store, sessions: deps.sessions, logger: deps.logger, events: deps.events, hooks: deps.hooks, upstreams: deps.upstreams })) as Configuration['extraTokenClaims'],
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ttl.accessToken,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ttl.clientCredentials,
      IdToken: config.ttl.idToken,
      AuthorizationCode: config.ttl.authorizationCode,
      RefreshToken: config.ttl.refreshToken,
      Session: config.ttl.session,
      Interaction: config.ttl.interaction,
      DeviceCode: config.ttl.deviceCode,
      Grant: config.ttl.grant,
    },
    cookies: {
      keys: deps.cookieKeys,
      // Distinct names, so Baton's cookies never collide with an IdP or app on the same host.
      names: { session: 'baton_session', interaction: 'baton_interaction', resume: 'baton_resume' },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    renderError,
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.server.trustProxy;
  // Only the entries our own proxies appended: the rest of X-Forwarded-For is whatever the client sent.
  provider.maxIpsCount = config.server.proxyHops;
  acceptHashedClientSecrets(provider, deps.secrets ?? new SecretVerifier());
  registerPasswordGrant(provider, { config, store, hooks: deps.hooks, resources, logger: deps.logger });
  registerTokenExchange(provider, { config, store, upstreams: deps.upstreams, logger: deps.logger, requestLogger: deps.requestLogger ?? deps.logger, events: deps.events, hooks: deps.hooks, keys: deps.keys, resources });
  addIdTokenHook(provider, deps.hooks, store);
  wrapCodeGrants(provider);
  const grace = new Map(config.clients.map((c) => [c.client_id, c.refreshTokenReuseGrace]));
  wrapRefreshTokenGrant(provider, {
    store,
    clock: deps.clock ?? systemClock,
    graceFor: (clientId) => grace.get(clientId) ?? 0,
    logger: deps.logger,
    events: deps.events,
    ...(deps.metrics ? { count: (outcome) => deps.metrics!.countRefresh(outcome) } : {}),
  });
  return provider;
}

/** Which scopes release which claims, and where: shared with `baton preview`'s id_tokens (explain/id-token-claims.ts). */
export function claimsConfiguration(): Pick<Configuration, 'scopes' | 'claims' | 'conformIdTokenClaims'> {
  return {
    scopes: [...STATIC_SCOPES],
    claims: { ...SCOPE_CLAIMS },
    // Scope claims (email, profile) also go into the id_token: what applications expect from an IdP.
    conformIdTokenClaims: false,
  };
}

/** Clients configured with `client_secret_hash` are verified with scrypt instead of string equality. */
function acceptHashedClientSecrets(provider: Provider, verifier: SecretVerifier): void {
  const prototype = provider.Client.prototype as unknown as {
    clientSecret?: string;
    compareClientSecret(this: { clientSecret?: string }, actual: string): Promise<boolean> | boolean;
  };
  const compare = prototype.compareClientSecret;
  prototype.compareClientSecret = function compareClientSecret(actual: string) {
    if (isSecretHash(this.clientSecret)) return verifier.verify(actual, this.clientSecret);
    return compare.call(this, actual);
  };
}

export type { KoaContextWithOIDC };
