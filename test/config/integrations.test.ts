// Tested-shape configuration for docs/integrations/: every `<idp>.yaml` there loads through Baton's
// real config loader (YAML, ${ENV} interpolation, schema, cross-checks), every upstream resolves to
// the settings its page promises (type, issuer or endpoints, scopes, subject, claims), and every page
// names the redirect URI Baton will actually send (`{issuer}/callback/{upstream id}`).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { crossCheck } from '../../src/config/cross-checks.ts';
import { ConfigError } from '../../src/config/issues.ts';
import { loadConfigFile, parseConfig } from '../../src/config/load.ts';
import type { BatonConfig } from '../../src/config/schema.ts';
import { mapClaims } from '../../src/upstream/claims.ts';
import { createUpstreams } from '../../src/upstream/index.ts';
import { resolveUpstream, type ResolvedUpstream } from '../../src/upstream/resolve.ts';

const DIR = fileURLToPath(new URL('../../docs/integrations/', import.meta.url));
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

/** Every variable the integration files reference, and nothing else. */
const ENV = {
  BATON_MASTER_SECRET: 'master-secret-that-is-long-enough-0123456789',
  PORTAL_CLIENT_SECRET: 'portal-client-secret-0123456789',
  ENTRA_CLIENT_SECRET: 'entra~secret.with-chars_0123',
  CONTOSO_CLIENT_SECRET: 'contoso-secret-0123456789',
  GOOGLE_CLIENT_SECRET: 'GOCSPX-google-secret-0123',
  OKTA_CLIENT_SECRET: 'okta-secret-0123456789',
  AUTH0_CLIENT_SECRET: 'auth0-secret-0123456789',
  KEYCLOAK_CLIENT_SECRET: 'keycloak-secret-0123456789',
  GITHUB_CLIENT_SECRET: 'github-secret-0123456789',
  GHES_CLIENT_SECRET: 'ghes-secret-0123456789',
};

function load(file: string): BatonConfig {
  return loadConfigFile(`${DIR}${file}`, { env: ENV });
}

function resolved(config: BatonConfig, id: string): ResolvedUpstream {
  const entry = config.upstreams.find((u) => u.id === id);
  if (!entry) throw new Error(`no upstream ${id}`);
  const { upstream, issues } = resolveUpstream(entry);
  expect(issues).toEqual([]);
  return upstream!;
}

/** The parts of a resolved upstream each page documents. */
function shape(u: ResolvedUpstream) {
  return {
    type: u.type,
    issuer: u.issuer,
    discoveryUrl: u.discoveryUrl,
    authorizationEndpoint: u.authorizationEndpoint,
    tokenEndpoint: u.tokenEndpoint,
    userinfoEndpoint: u.userinfoEndpoint,
    emailsEndpoint: u.emailsEndpoint,
    scopes: u.scopes,
    subject: u.subject,
    authMethod: u.authMethod,
    refresh: u.refresh,
  };
}

const OIDC_ENDPOINTS = { authorizationEndpoint: undefined, tokenEndpoint: undefined, userinfoEndpoint: undefined, emailsEndpoint: undefined };

describe('docs/integrations/*.yaml', () => {
  it('has one configuration and one page per documented IdP, and an index linking every page', () => {
    expect(FILES).toEqual(['auth0.yaml', 'entra.yaml', 'github.yaml', 'google.yaml', 'keycloak.yaml', 'okta.yaml']);
    const index = readFileSync(`${DIR}README.md`, 'utf8');
    for (const file of FILES) {
      const page = file.replace('.yaml', '.md');
      expect(readFileSync(`${DIR}${page}`, 'utf8')).toContain(`(${file})`);
      expect(index).toContain(`(${page})`);
    }
  });

  it.each(FILES)('%s loads through the config loader and passes the cross-checks', (file) => {
    const config = load(file);
    expect(crossCheck(config)).toEqual([]);
    expect(config.keys.masterSecret).toBe(ENV.BATON_MASTER_SECRET);
    // Connectors are built from it as `baton start` would (no network at construction).
    expect(createUpstreams(config).all.map((c) => c.id)).toEqual(config.upstreams.map((u) => u.id));
    // Every client may sign in with exactly the upstreams of the file.
    for (const client of config.clients) expect(client.upstreams).toEqual(config.upstreams.map((u) => u.id));
  });

  it.each(FILES)('%s takes its secrets from the environment, never from the file', (file) => {
    const env = Object.fromEntries(Object.entries(ENV).filter(([name]) => !name.endsWith('_CLIENT_SECRET')));
    let error: unknown;
    try {
      loadConfigFile(`${DIR}${file}`, { env });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const config = load(file);
    for (const [i] of config.upstreams.entries()) {
      expect((error as ConfigError).message).toMatch(new RegExp(`upstreams\\[${i}\\]\\.client_secret: environment variable \\w+_CLIENT_SECRET is not set`));
    }
  });

  it.each(FILES)('%s: its page names the redirect URI of every upstream, {issuer}/callback/{id}', (file) => {
    const config = load(file);
    const page = readFileSync(`${DIR}${file.replace('.yaml', '.md')}`, 'utf8');
    for (const upstream of config.upstreams) expect(page).toContain(`${config.issuer}/callback/${upstream.id}`);
  });
});

describe('resolved upstream shapes', () => {
  it('Entra ID: multi-tenant {tenantid} issuer with tenant allow-list, single tenant by GUID; subject tid:oid', () => {
    const config = load('entra.yaml');
    const multi = resolved(config, 'entra');
    expect(shape(multi)).toEqual({
      type: 'oidc',
      issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
      discoveryUrl: 'https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration',
      ...OIDC_ENDPOINTS,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      subject: ['tid', 'oid'],
      authMethod: 'client_secret_post',
      refresh: 'when-expired',
    });
    expect(multi.tenants).toEqual(['72f988bf-86f1-41af-91ab-2d7cd011db47', '3c4f8a9e-0b1d-4e6f-9a2b-5c7d8e9f0a1b']);
    expect(multi.claims).toEqual({ email: 'email', name: 'name', preferred_username: 'preferred_username', given_name: 'given_name', family_name: 'family_name' });
    expect(multi.claims).not.toHaveProperty('email_verified');
    expect(multi.clientSecret).toBe(ENV.ENTRA_CLIENT_SECRET);

    const single = resolved(config, 'contoso');
    expect(shape(single)).toEqual({
      type: 'oidc',
      issuer: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0',
      discoveryUrl: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/.well-known/openid-configuration',
      ...OIDC_ENDPOINTS,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      subject: ['tid', 'oid'],
      authMethod: 'client_secret_basic',
      refresh: 'when-expired',
    });
    expect(single.name).toBe('Contoso staff');
    expect(single.tenants).toBeUndefined();
  });

  it('Entra ID: a tenant given as a domain is refused, naming the accepted forms (every sign-in would fail on iss)', () => {
    const text = readFileSync(`${DIR}entra.yaml`, 'utf8').replace('tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47', 'tenant: contoso.onmicrosoft.com');
    expect(text).toContain('tenant: contoso.onmicrosoft.com');
    let message = '';
    try {
      parseConfig(text.replace('      - 72f988bf-86f1-41af-91ab-2d7cd011db47   #', '      - contoso.com   #'), 'entra.yaml', { env: ENV });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/upstreams\[1\]\.tenant: must be the tenant id \(a GUID.*or one of "organizations", "common", "consumers"; a domain such as contoso\.onmicrosoft\.com is not accepted/);
    expect(message).toMatch(/upstreams\[0\]\.tenants\[0\]: must be a tenant id \(a GUID/);
  });

  it('Google: accounts.google.com, access_type=offline and hd sent upstream, hosted domain enforced', () => {
    const google = resolved(load('google.yaml'), 'google');
    expect(shape(google)).toEqual({
      type: 'oidc',
      issuer: 'https://accounts.google.com',
      discoveryUrl: undefined,
      ...OIDC_ENDPOINTS,
      scopes: ['openid', 'email', 'profile'],
      subject: ['sub'],
      authMethod: 'client_secret_basic',
      refresh: 'when-expired',
    });
    expect(google.authorizationParams).toEqual({ access_type: 'offline', hd: 'example.com' });
    expect(google.hostedDomain).toBe('example.com');
    expect(google.emailDomains).toEqual(['example.com']);
    expect(google.refreshGracePeriod).toBe(15 * 60);
    expect(google.claims).toMatchObject({ email: 'email', email_verified: 'email_verified' });
  });

  it('Okta: a custom authorization server issuer, offline_access, standard claims', () => {
    const okta = resolved(load('okta.yaml'), 'okta');
    expect(shape(okta)).toEqual({
      type: 'oidc',
      issuer: 'https://example.okta.com/oauth2/default',
      discoveryUrl: undefined,
      ...OIDC_ENDPOINTS,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      subject: ['sub'],
      authMethod: 'client_secret_basic',
      refresh: 'when-expired',
    });
    expect(okta.claims).toMatchObject({ email: 'email', email_verified: 'email_verified' });
    expect(okta.emailDomains).toEqual(['example.com']);
    expect(okta.authorizationParams).toEqual({});
  });

  it('Auth0: the custom domain as issuer (trailing slash kept), client_secret_post', () => {
    const auth0 = resolved(load('auth0.yaml'), 'auth0');
    expect(shape(auth0)).toEqual({
      type: 'oidc',
      issuer: 'https://login.example.com/',
      discoveryUrl: undefined,
      ...OIDC_ENDPOINTS,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      subject: ['sub'],
      authMethod: 'client_secret_post',
      refresh: 'when-expired',
    });
    // No way to send Auth0's `audience` (or any extra parameter) to a generic upstream: see auth0.md.
    expect(auth0.authorizationParams).toEqual({});
  });

  it('Keycloak: the realm URL as issuer, an extra claim mapped', () => {
    const keycloak = resolved(load('keycloak.yaml'), 'keycloak');
    expect(shape(keycloak)).toEqual({
      type: 'oidc',
      issuer: 'https://sso.example.com/realms/staff',
      discoveryUrl: undefined,
      ...OIDC_ENDPOINTS,
      scopes: ['openid', 'profile', 'email'],
      subject: ['sub'],
      authMethod: 'client_secret_basic',
      refresh: 'when-expired',
    });
    expect(keycloak.claims).toMatchObject({ username: 'preferred_username', preferred_username: 'preferred_username' });
  });

  it('GitHub: plain OAuth 2 with the user and emails endpoints, subject id, no upstream refresh; GHES by endpoints', () => {
    const config = load('github.yaml');
    const github = resolved(config, 'github');
    expect(shape(github)).toEqual({
      type: 'oauth2',
      issuer: undefined,
      discoveryUrl: undefined,
      authorizationEndpoint: 'https://github.com/login/oauth/authorize',
      tokenEndpoint: 'https://github.com/login/oauth/access_token',
      userinfoEndpoint: 'https://api.github.com/user',
      emailsEndpoint: 'https://api.github.com/user/emails',
      scopes: ['read:user', 'user:email'],
      subject: ['id'],
      authMethod: 'client_secret_basic',
      refresh: 'never',
    });
    expect(github.claims).toEqual({ name: 'name', preferred_username: 'login', picture: 'avatar_url', profile: 'html_url', email: 'email', email_verified: 'email_verified' });

    const ghes = resolved(config, 'ghes');
    expect(shape(ghes)).toEqual({
      type: 'oauth2',
      issuer: undefined,
      discoveryUrl: undefined,
      authorizationEndpoint: 'https://github.example.com/login/oauth/authorize',
      tokenEndpoint: 'https://github.example.com/login/oauth/access_token',
      userinfoEndpoint: 'https://github.example.com/api/v3/user',
      emailsEndpoint: 'https://github.example.com/api/v3/user/emails',
      scopes: ['read:user', 'user:email'],
      subject: ['id'],
      authMethod: 'client_secret_basic',
      refresh: 'never',
    });
    expect(ghes.name).toBe('GitHub Enterprise');
  });
});

describe('what the pages say about claim mapping', () => {
  it('copies strings, numbers, booleans and lists of strings such as groups; objects and mixed lists are not copied', () => {
    const keycloak = resolved(load('keycloak.yaml'), 'keycloak');
    const upstream = { preferred_username: 'ann', email: 'ann@example.com', email_verified: 'true', groups: ['staff', 'ops'], roles: ['a', 1], org: { country: 'NL' } };
    expect(mapClaims(upstream, { ...keycloak.claims, groups: 'groups', roles: 'roles', org: 'org' }))
      .toEqual({ username: 'ann', preferred_username: 'ann', email: 'ann@example.com', email_verified: true, groups: ['staff', 'ops'] });
  });

  it('copies OIDC Core\'s address object with its string members only', () => {
    expect(mapClaims({ address: { country: 'NL', locality: 'Delft', geo: { lat: 52 }, postal_code: 2611 } }, { address: 'address' })).toEqual({ address: { country: 'NL', locality: 'Delft' } });
    expect(mapClaims({ address: 'Delft' }, { address: 'address' })).toEqual({});
    expect(mapClaims({ address: { geo: { lat: 52 } } }, { address: 'address' })).toEqual({});
  });

  it('reads phone_number_verified like email_verified: booleans, or the strings "true" / "false"', () => {
    expect(mapClaims({ phone_number: '+31 15 000 0000', phone_number_verified: 'true' }, { phone_number: 'phone_number', phone_number_verified: 'phone_number_verified' })).toEqual({ phone_number: '+31 15 000 0000', phone_number_verified: true });
    expect(mapClaims({ phone_number_verified: 'yes' }, { phone_number_verified: 'phone_number_verified' })).toEqual({});
  });

  it('bounds lists: more than 500 entries, or an entry over 1024 characters, and the list is not copied', () => {
    expect(mapClaims({ groups: Array.from({ length: 501 }, (_, i) => `g${i}`) }, { groups: 'groups' })).toEqual({});
    expect(mapClaims({ groups: ['x'.repeat(1025)] }, { groups: 'groups' })).toEqual({});
    expect(mapClaims({ groups: Array.from({ length: 500 }, (_, i) => `g${i}`) }, { groups: 'groups' }).groups).toHaveLength(500);
  });
});
