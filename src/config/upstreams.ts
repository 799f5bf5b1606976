// Upstream identity providers in the configuration: the generic OIDC / OAuth 2 connector settings,
// and presets (entra, google, okta, auth0, keycloak, github) that only supply defaults.
import { z } from 'zod';

import { duration } from './duration.ts';

export const PRESETS = ['entra', 'google', 'okta', 'auth0', 'keycloak', 'github'] as const;
export const REFRESH_POLICIES = ['never', 'when-expired', 'always'] as const;
export type RefreshPolicy = (typeof REFRESH_POLICIES)[number];

const UPSTREAM_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const DOMAIN = /^(?!-)[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$/;

/** Entra ID tenant ids are GUIDs; the multi-tenant endpoints are named. */
const ENTRA_TENANT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ENTRA_MULTI_TENANT = ['organizations', 'common', 'consumers'];

const url = z.string().refine((v) => {
  try {
    return Boolean(new URL(v.replace('{tenantid}', 'tenant')));
  } catch {
    return false;
  }
}, 'must be an absolute URL');

/** Authorization request parameters Baton owns: an upstream's `authorizationParams` cannot set them. */
const PROTOCOL_PARAMS: ReadonlySet<string> = new Set(['client_id', 'redirect_uri', 'response_type', 'response_mode', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'request', 'request_uri']);

export const upstreamSchema = z
  .strictObject({
    id: z.string().regex(UPSTREAM_ID, 'must be lowercase letters, digits and hyphens (it appears in /callback/{id} and in subjects)').describe('Stable identifier: part of the callback URL and of every `sub` Baton issues for this upstream. Never change it once users signed in.'),
    name: z.string().min(1).optional().describe('Name shown on the chooser page; defaults to the preset\'s or the id.'),
    preset: z.enum(PRESETS).optional().describe('Defaults for a known IdP. Everything it sets can be overridden.'),
    type: z.enum(['oidc', 'oauth2']).optional().describe('`oidc` (discovery, id_token; the default) or `oauth2` (explicit endpoints and a userinfo URL, e.g. GitHub).'),
    issuer: url.optional().describe('OIDC issuer. For Entra ID multi-tenant use `https://login.microsoftonline.com/{tenantid}/v2.0`: the tenant is taken from the token\'s `tid` and checked against `tenants`.'),
    tenant: z.string().min(1).refine((v) => ENTRA_TENANT.test(v) || ENTRA_MULTI_TENANT.includes(v), {
      // A domain discovers fine, but tokens carry the GUID in `iss`: every sign-in would fail.
      message: `must be the tenant id (a GUID, "Directory (tenant) ID" in the app registration) or one of ${'"organizations", "common", "consumers"'}; a domain such as contoso.onmicrosoft.com is not accepted (tokens carry the GUID)`,
    }).optional().describe('Entra ID: a tenant id for single-tenant apps, or `organizations` / `common` for multi-tenant ones (with `tenants` to restrict).'),
    tenants: z.array(z.string().min(1).refine((v) => ENTRA_TENANT.test(v), { message: 'must be a tenant id (a GUID, as in the tokens\' `tid`); a domain never matches' })).optional().describe('Entra ID multi-tenant: tenant ids (`tid`) allowed to sign in. Omitted: any tenant.'),
    discoveryUrl: url.optional().describe('Discovery document URL when it is not `{issuer}/.well-known/openid-configuration`.'),
    authorizationEndpoint: url.optional().describe('`oauth2` type: authorization endpoint.'),
    tokenEndpoint: url.optional().describe('`oauth2` type: token endpoint.'),
    userinfoEndpoint: url.optional().describe('`oauth2` type: where the user\'s profile is read (required); `oidc`: overrides discovery.'),
    emailsEndpoint: url.optional().describe('`oauth2` type: optional list of the user\'s addresses (GitHub `/user/emails`) used when the profile has no public verified email.'),
    client_id: z.string().min(1).describe('Baton\'s client id at the upstream (formerly `clientId`).'),
    client_secret: z.string().min(1).optional().describe('Baton\'s client secret at the upstream, normally `${ENV_VAR}` (formerly `clientSecret`).'),
    token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).optional().describe('How Baton authenticates at the upstream token endpoint. Some IdPs do not percent-decode Basic credentials: use `client_secret_post` there. Default `client_secret_basic`. Formerly `tokenEndpointAuthMethod`.'),
    privateKey: z.string().min(1).optional().describe('`private_key_jwt`: the private JWK (JSON), normally `${ENV_VAR}`.'),
    scopes: z.array(z.string().min(1)).optional().describe('Scopes requested upstream; the preset\'s default otherwise (`openid profile email`).'),
    authorizationParams: z
      .record(z.string().min(1), z.string())
      .refine((params) => Object.keys(params).every((name) => !PROTOCOL_PARAMS.has(name)), { message: `may not set ${[...PROTOCOL_PARAMS].join(', ')}: Baton sets those itself` })
      .optional()
      .describe('Extra parameters for the upstream authorization request (e.g. Auth0 `audience`, Entra `domain_hint`), merged over the preset\'s. Protocol parameters (client_id, redirect_uri, scope, state, nonce, PKCE, response_type) cannot be set.'),
    subject: z.array(z.string().min(1)).min(1).optional().describe('Upstream claims that together form the stable subject, joined with `:` (Entra: `tid`, `oid`). Default `sub`.'),
    claims: z.record(z.string(), z.string()).optional().describe('Claim mapping, Baton claim -> upstream claim, merged over the preset\'s (e.g. `email: upn`).'),
    acrValues: z.array(z.string().min(1)).optional().describe('The `acr` values this upstream asserts (e.g. Entra\'s `possessionorinherence`), advertised in Baton\'s discovery as `acr_values_supported` (OIDC Discovery section 3), so that clients ask with `acr_values` for what the upstream can give. Baton issues the upstream\'s `acr` unchanged, listed or not.'),
    emailDomains: z.array(z.string().regex(DOMAIN, 'must be a domain name (lowercase)')).optional().describe('Only users whose verified email is in these domains may sign in; also routes `login_hint` emails to this upstream.'),
    hostedDomain: z.string().regex(DOMAIN, 'must be a domain name (lowercase)').optional().describe('Google Workspace: the `hd` the id_token must carry; also sent as the `hd` hint.'),
    refresh: z.enum(REFRESH_POLICIES).optional().describe('Upstream refresh when a client refreshes at Baton: `never`, `when-expired` (the upstream access token has expired) or `always`. Default `when-expired`.'),
    refreshGracePeriod: duration('When the upstream cannot be reached during a refresh: how long after the last successful upstream refresh Baton still refreshes on its own. Omitted: strict, the refresh fails with invalid_grant.').optional(),
    timeout: duration('Bound on every call to the upstream (discovery, token, userinfo, revocation).').prefault('10s'),
    continueLogout: z.boolean().default(false).describe('When a user signs out of Baton entirely (RP-initiated logout, "Sign out"), send the browser on to this upstream\'s `end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0) so the IdP session ends too, then back to the app. Register `{issuer}/logout/upstream` as a post-logout redirect URI at the IdP. `oidc` upstreams that advertise an end_session_endpoint only.'),
    revokeOnLogout: z.boolean().default(true).describe('On logout, revoke the upstream refresh token at the upstream (RFC 7009), when it advertises revocation.'),
  })
  .describe('An upstream identity provider users sign in with.');

export type UpstreamConfig = z.output<typeof upstreamSchema>;
