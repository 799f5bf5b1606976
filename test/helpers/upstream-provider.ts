// The oidc-provider instance behind a test upstream IdP: per-profile routes and claims, accounts from
// the configured users, a Map-backed adapter that survives provider rebuilds (key rotation).
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider, { type Adapter, type AdapterPayload, type Configuration, type JWK, type KoaContextWithOIDC } from 'oidc-provider';

import type { UpstreamOptions, UpstreamProfile, UpstreamUser } from './upstream.ts';

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
  },
};

export type SigningJwk = JWK & { kid: string; alg: 'RS256'; use: 'sig' };

export function generateSigningKey(): SigningJwk {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: randomBytes(15).toString('base64url'), alg: 'RS256', use: 'sig' };
}

export function publicJwk(jwk: SigningJwk): JWK {
  const { kty, n, e, kid, alg, use } = jwk;
  return { kty, n, e, kid, alg, use };
}

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

type Stored = { payload: AdapterPayload; expiresAt: number | undefined };
export type AdapterStorage = Map<string, Stored>;

function memoryAdapter(storage: AdapterStorage) {
  return class UpstreamAdapter implements Adapter {
    constructor(private readonly name: string) {}

    #key(id: string): string {
      return `${this.name}:${id}`;
    }

    #get(key: string): AdapterPayload | undefined {
      const entry = storage.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
        storage.delete(key);
        return undefined;
      }
      return entry.payload;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      storage.set(this.#key(id), { payload: structuredClone(payload), expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const payload = this.#get(this.#key(id));
      return payload && structuredClone(payload);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      for (const [key, { payload }] of storage) if (key.startsWith(`${this.name}:`) && payload.uid === uid) return this.find(key.slice(this.name.length + 1));
      return undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      for (const [key, { payload }] of storage) if (key.startsWith(`${this.name}:`) && payload.userCode === userCode) return this.find(key.slice(this.name.length + 1));
      return undefined;
    }

    async consume(id: string): Promise<void> {
      const payload = this.#get(this.#key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id: string): Promise<void> {
      storage.delete(this.#key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      for (const [key, { payload }] of storage) if (payload.grantId === grantId) storage.delete(key);
    }
  };
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
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
    jwks: { keys: setup.keys },
    findAccount: (_ctx: KoaContextWithOIDC, id: string) => {
      const user = users.get(id);
      return user && { accountId: id, claims: () => ({ ...userClaims(profile, user, tenantId), sub: id }) };
    },
    subjectTypes: profile === 'entra' ? ['pairwise'] : ['public'],
    pairwiseIdentifier: (_ctx, accountId, client) => entraPairwiseSubject(tenantId, client.clientId, users.get(accountId)!),
    claims: CLAIMS[profile],
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
  return provider;
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
