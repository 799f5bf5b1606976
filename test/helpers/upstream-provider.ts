// The oidc-provider instance behind a test upstream IdP: per-profile routes and claims, accounts from
// the configured users, the demo IdP's Map-backed adapter, which survives provider rebuilds (key rotation).
import { createHash } from 'node:crypto';

import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

import { memoryAdapter, type AdapterStorage } from '../../src/dev/idp/memory-adapter.ts';
import type { SigningJwk } from '../../src/dev/idp/signing-key.ts';
import type { UpstreamOptions, UpstreamProfile, UpstreamUser } from './upstream.ts';

export { generateSigningKey, type SigningJwk } from '../../src/dev/idp/signing-key.ts';
export type { AdapterStorage } from '../../src/dev/idp/memory-adapter.ts';

export type EndpointRoute = 'authorization' | 'token' | 'jwks' | 'userinfo' | 'revocation' | 'end_session';

/** Path of each endpoint below the issuer, shaped after the real IdP's. */
export const ROUTES: Record<UpstreamProfile, Record<EndpointRoute, string>> = {
  entra: {
    authorization: '/oauth2/v2.0/authorize',
    token: '/oauth2/v2.0/token',
    jwks: '/discovery/v2.0/keys',
    userinfo: '/oidc/userinfo',
    revocation: '/oauth2/v2.0/revoke',
    end_session: '/oauth2/v2.0/logout',
  },
  google: {
    authorization: '/o/oauth2/v2/auth',
    token: '/token',
    jwks: '/oauth2/v3/certs',
    userinfo: '/v1/userinfo',
    revocation: '/revoke',
    end_session: '/logout',
  },
  generic: { authorization: '/auth', token: '/token', jwks: '/jwks', userinfo: '/me', revocation: '/token/revocation', end_session: '/session/end' },
};

/** Which claims each scope releases. Google releases its profile claims whatever the scope. */
const CLAIMS: Record<UpstreamProfile, Record<string, string[]>> = {
  entra: {
    openid: ['sub', 'tid', 'oid', 'ver'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
  },
  google: {
    openid: ['sub', 'email', 'email_verified', 'hd', 'name', 'given_name', 'family_name', 'picture'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'picture', 'locale'],
  },
  generic: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'picture', 'locale'],
    email: ['email', 'email_verified'],
    address: ['address'],
    phone: ['phone_number', 'phone_number_verified'],
  },
};

/** Stable per-user identifiers derived from the username, so tests can predict them. */
function digest(...parts: string[]): Buffer {
  return createHash('sha256').update(parts.join('\0')).digest();
}

export function entraObjectId(user: UpstreamUser): string {
  if (typeof user.claims.oid === 'string') return user.claims.oid;
  const hex = digest('oid', user.username).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The account id, which oidc-provider always uses as `sub`: Google's is a numeric string, a generic
 * IdP's the username, `users[].sub` overrides. Entra's `sub` is pairwise on top of it (see below).
 */
export function accountIdFor(profile: UpstreamProfile, user: UpstreamUser): string {
  if (user.sub) return user.sub;
  if (profile === 'google') return `1${(digest('sub', user.username).readBigUInt64BE(0) % 10n ** 20n).toString().padStart(20, '0')}`;
  return user.username;
}

/** Entra: a pairwise subject per tenant, application and user (unless `users[].sub` pins it). */
function entraPairwiseSubject(tenantId: string, clientId: string, user: UpstreamUser): string {
  return user.sub ?? digest('sub', tenantId, clientId, entraObjectId(user)).toString('base64url').slice(0, 43);
}

export function userClaims(profile: UpstreamProfile, user: UpstreamUser, tenantId: string): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (profile === 'entra') Object.assign(claims, { tid: tenantId, oid: entraObjectId(user), ver: '2.0' });
  if (profile === 'google') {
    const email = typeof user.claims.email === 'string' ? user.claims.email : undefined;
    const domain = email?.split('@')[1];
    Object.assign(claims, { email_verified: true, hd: domain && domain !== 'gmail.com' ? domain : undefined });
  }
  return { ...claims, ...user.claims };
}

export interface ProviderSetup {
  readonly options: UpstreamOptions;
  readonly issuer: string;
  /** Path of the issuer ('' or '/<tenant>/v2.0'); the provider is mounted there. */
  readonly prefix: string;
  readonly tenantId: string;
  readonly keys: SigningJwk[];
  readonly cookieKeys: string[];
  readonly storage: AdapterStorage;
}

export function buildUpstreamProvider(setup: ProviderSetup): Provider {
  const { options, prefix, tenantId } = setup;
  const { profile } = options;
  const users = new Map(options.users.map((user) => [accountIdFor(profile, user), user]));
  const configuration: Configuration = {
    adapter: memoryAdapter(setup.storage),
    clients: options.clients.map((c) => ({
      client_id: c.client_id,
      ...(c.client_secret ? { client_secret: c.client_secret } : {}),
      redirect_uris: c.redirect_uris,
      post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? (c.client_secret ? 'client_secret_basic' : 'none'),
      subject_type: profile === 'entra' ? 'pairwise' : 'public',
      grant_types: ['authorization_code', 'refresh_token', ...(c.device ? ['urn:ietf:params:oauth:grant-type:device_code'] : [])],
      response_types: ['code'],
      // An IdP that reuses its session says when the user really authenticated.
      ...(options.ignoreReauthentication ? { require_auth_time: true } : {}),
    })),
    jwks: { keys: setup.keys },
    findAccount: (_ctx: KoaContextWithOIDC, id: string) => {
      const user = users.get(id);
      return user && { accountId: id, claims: () => ({ ...userClaims(profile, user, tenantId), sub: id }) };
    },
    subjectTypes: profile === 'entra' ? ['pairwise'] : ['public'],
    pairwiseIdentifier: (_ctx, accountId, client) => entraPairwiseSubject(tenantId, client.clientId, users.get(accountId)!),
    claims: options.authentication ? { ...CLAIMS[profile], openid: [...CLAIMS[profile].openid!, 'acr', 'amr'] } : CLAIMS[profile],
    scopes: ['openid', 'offline_access', ...Object.keys(CLAIMS[profile])],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    pkce: { required: () => true },
    // The id_token carries the scope's claims (as Entra and Google do), not just `sub`.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      // A client revokes only its own tokens; others' are ignored (200, as RFC 7009 allows).
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      introspection: { enabled: false },
      // RFC 8628, with oidc-provider's own user-code and confirmation pages, for device clients.
      deviceFlow: { enabled: options.clients.some((c) => c.device === true) },
    },
    routes: ROUTES[profile],
    interactions: { url: (_ctx, interaction) => `${prefix}/interaction/${interaction.uid}` },
    // A refresh token with every code, offline_access or not, valid beyond the browser session.
    issueRefreshToken: () => true,
    expiresWithSession: () => false,
    rotateRefreshToken: profile !== 'google',
    ttl: {
      AccessToken: options.accessTokenTTL ?? 3600,
      IdToken: options.idTokenTTL ?? 3600,
      AuthorizationCode: 60,
      RefreshToken: 14 * 24 * 3600,
      Interaction: 600,
      Session: 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    cookies: { keys: setup.cookieKeys, long: { httpOnly: true, sameSite: 'lax' }, short: { httpOnly: true, sameSite: 'lax' } },
  };
  const provider = new Provider(setup.issuer, configuration);
  if (profile === 'google') provider.use(googleRefreshResponse(options.omitIdTokenOnRefresh ?? false));
  if (options.refreshResponse) provider.use(rewriteRefreshResponse(options.refreshResponse));
  return provider;
}

/** The test's own rewrite of successful refresh responses. */
function rewriteRefreshResponse(rewrite: NonNullable<UpstreamOptions['refreshResponse']>) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200) return;
    if ((ctx.oidc.params as { grant_type?: unknown } | undefined)?.grant_type !== 'refresh_token') return;
    await rewrite(ctx.body as Record<string, unknown>);
  };
}

/** Google answers a refresh with no refresh_token (the old one stays valid), optionally no id_token. */
function googleRefreshResponse(omitIdToken: boolean) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200) return;
    if ((ctx.oidc.params as { grant_type?: unknown } | undefined)?.grant_type !== 'refresh_token') return;
    const body = ctx.body as Record<string, unknown>;
    delete body.refresh_token;
    if (omitIdToken) delete body.id_token;
  };
}
