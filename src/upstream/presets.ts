// Presets: defaults for well-known IdPs, applied over the generic connector. Quirks live here as
// data (issuer templates, subject claims, extra authorization parameters), never as branches in
// the core.
import type { UpstreamConfig } from '../config/upstreams.ts';
import { merged } from '../lang/merged.ts';

export interface PresetDefaults {
  readonly name: string;
  readonly type: 'oidc' | 'oauth2';
  readonly issuer?: (config: UpstreamConfig) => string | undefined;
  readonly discoveryUrl?: (config: UpstreamConfig) => string | undefined;
  readonly authorizationEndpoint?: string;
  readonly tokenEndpoint?: string;
  readonly userinfoEndpoint?: string;
  readonly emailsEndpoint?: string;
  readonly scopes: readonly string[];
  readonly subject: readonly string[];
  readonly claims: Readonly<Record<string, string>>;
  /** Extra authorization request parameters (e.g. Google's `access_type=offline`). */
  readonly authorizationParams?: (config: UpstreamConfig) => Record<string, string>;
}

/** OIDC Core section 5.1 claims mapped one to one: the generic default. */
export const STANDARD_CLAIMS: Readonly<Record<string, string>> = {
  email: 'email',
  email_verified: 'email_verified',
  name: 'name',
  given_name: 'given_name',
  family_name: 'family_name',
  preferred_username: 'preferred_username',
  picture: 'picture',
  locale: 'locale',
  middle_name: 'middle_name',
  nickname: 'nickname',
  profile: 'profile',
  website: 'website',
  gender: 'gender',
  birthdate: 'birthdate',
  zoneinfo: 'zoneinfo',
  updated_at: 'updated_at',
  phone_number: 'phone_number',
  phone_number_verified: 'phone_number_verified',
  address: 'address',
};

const GENERIC: PresetDefaults = {
  name: 'Identity provider',
  type: 'oidc',
  scopes: ['openid', 'profile', 'email'],
  subject: ['sub'],
  claims: STANDARD_CLAIMS,
};

const ENTRA_MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);
const ENTRA_LOGIN = 'https://login.microsoftonline.com';

export const PRESETS: Readonly<Record<NonNullable<UpstreamConfig['preset']>, PresetDefaults>> = {
  entra: {
    name: 'Microsoft',
    type: 'oidc',
    // Multi-tenant endpoints publish the `{tenantid}` template issuer; tokens carry the real tenant in `tid`.
    issuer: ({ tenant = 'organizations' }) => `${ENTRA_LOGIN}/${ENTRA_MULTI_TENANT.has(tenant) ? '{tenantid}' : tenant}/v2.0`,
    discoveryUrl: ({ tenant = 'organizations' }) => `${ENTRA_LOGIN}/${tenant}/v2.0/.well-known/openid-configuration`,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    // `sub` is pairwise per application; tid + oid identify the user across apps and never change.
    subject: ['tid', 'oid'],
    claims: { email: 'email', name: 'name', preferred_username: 'preferred_username', given_name: 'given_name', family_name: 'family_name' },
  },
  google: {
    name: 'Google',
    type: 'oidc',
    issuer: () => 'https://accounts.google.com',
    scopes: ['openid', 'email', 'profile'],
    subject: ['sub'],
    claims: STANDARD_CLAIMS,
    // Google issues a refresh token only with access_type=offline; `hd` preselects the Workspace domain.
    authorizationParams: ({ hostedDomain }) => ({ access_type: 'offline', ...(hostedDomain ? { hd: hostedDomain } : {}) }),
  },
  okta: merged(GENERIC, { name: 'Okta', scopes: ['openid', 'profile', 'email', 'offline_access'] }),
  auth0: merged(GENERIC, { name: 'Auth0', scopes: ['openid', 'profile', 'email', 'offline_access'] }),
  keycloak: merged(GENERIC, { name: 'Keycloak', scopes: ['openid', 'profile', 'email'] }),
  github: {
    name: 'GitHub',
    type: 'oauth2',
    authorizationEndpoint: 'https://github.com/login/oauth/authorize',
    tokenEndpoint: 'https://github.com/login/oauth/access_token',
    userinfoEndpoint: 'https://api.github.com/user',
    emailsEndpoint: 'https://api.github.com/user/emails',
    scopes: ['read:user', 'user:email'],
    subject: ['id'],
    claims: { name: 'name', preferred_username: 'login', picture: 'avatar_url', profile: 'html_url', email: 'email', email_verified: 'email_verified' },
  },
};

export function presetFor(config: UpstreamConfig): PresetDefaults {
  return config.preset ? PRESETS[config.preset] : GENERIC;
}
