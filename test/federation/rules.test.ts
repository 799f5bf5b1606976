// Pure rules of federation: upstream routing (idp_hint, login_hint domain, chooser), claim mapping,
// stable subjects, preset resolution, and the configuration errors of upstreams.
import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/config/issues.ts';
import { validateConfig } from '../../src/config/load.ts';
import { route } from '../../src/interactions/routing.ts';
import { mapClaims, stableSubject } from '../../src/upstream/claims.ts';
import type { Connector } from '../../src/upstream/connector.ts';
import { resolveUpstream } from '../../src/upstream/resolve.ts';

const connector = (id: string, emailDomains?: string[]) => ({ id, name: id, emailDomains }) as unknown as Connector;
const contoso = connector('contoso', ['contoso.com']);
const fabrikam = connector('fabrikam', ['fabrikam.com', 'fabrikam.net']);
const github = connector('github');

describe('routing', () => {
  it.each([
    ['no upstream', [], {}, 'none'],
    ['one upstream: straight redirect', [github], {}, 'github'],
    ['several: chooser', [contoso, github], {}, 'choose'],
    ['idp_hint picks one', [contoso, github], { idpHint: 'github' }, 'github'],
    ['idp_hint for an upstream the client may not use: chooser', [contoso, github], { idpHint: 'fabrikam' }, 'choose'],
    ['login_hint domain routes (case-insensitive)', [contoso, fabrikam, github], { loginHint: 'Ann@Fabrikam.NET' }, 'fabrikam'],
    ['login_hint of an unknown domain: chooser', [contoso, fabrikam], { loginHint: 'ann@elsewhere.org' }, 'choose'],
    ['login_hint that is not an email: chooser', [contoso, fabrikam], { loginHint: 'ann' }, 'choose'],
    ['idp_hint wins over login_hint', [contoso, fabrikam], { idpHint: 'contoso', loginHint: 'ann@fabrikam.com' }, 'contoso'],
  ] as const)('%s', (_name, allowed, hints, expected) => {
    const result = route({ allowed: [...allowed], ...hints });
    expect(result.kind === 'redirect' ? result.upstream.id : result.kind).toBe(expected);
  });
});

describe('claims', () => {
  it('maps by name, coerces email_verified, drops objects and absent values', () => {
    expect(mapClaims({ mail: 'a@b.c', email_verified: 'true', name: { first: 'x' }, login: 'ann' }, { email: 'mail', email_verified: 'email_verified', name: 'name', preferred_username: 'login', picture: 'avatar' }))
      .toEqual({ email: 'a@b.c', email_verified: true, preferred_username: 'ann' });
  });

  it('builds the stable subject from several claims and refuses a missing one', () => {
    expect(stableSubject({ tid: 't1', oid: 'o1', sub: 'pairwise' }, ['tid', 'oid'])).toBe('t1:o1');
    expect(stableSubject({ id: 4242 }, ['id'])).toBe('4242');
    expect(() => stableSubject({ tid: 't1' }, ['tid', 'oid'])).toThrow(/no oid claim/);
  });
});

describe('presets', () => {
  it('entra multi-tenant uses the {tenantid} template, the tenant-specific discovery, and tid+oid', () => {
    const { upstream } = resolveUpstream({ id: 'e', preset: 'entra', tenant: 'organizations', client_id: 'c', client_secret: 's', timeout: 10, revokeOnLogout: true, continueLogout: false });
    expect(upstream).toMatchObject({
      issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
      discoveryUrl: 'https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration',
      subject: ['tid', 'oid'],
      name: 'Microsoft',
    });
  });

  it('entra single-tenant uses the tenant issuer', () => {
    const { upstream } = resolveUpstream({ id: 'e', preset: 'entra', tenant: '72f988bf-86f1-41af-91ab-2d7cd011db47', client_id: 'c', client_secret: 's', timeout: 10, revokeOnLogout: true, continueLogout: false });
    expect(upstream?.issuer).toBe('https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0');
  });

  it('google asks for offline access and passes the hosted domain', () => {
    const { upstream } = resolveUpstream({ id: 'g', preset: 'google', hostedDomain: 'example.com', client_id: 'c', client_secret: 's', timeout: 10, revokeOnLogout: true, continueLogout: false });
    expect(upstream).toMatchObject({ issuer: 'https://accounts.google.com', authorizationParams: { access_type: 'offline', hd: 'example.com' } });
  });

  it('github is plain OAuth 2 with its profile and emails endpoints; config overrides the preset', () => {
    const { upstream } = resolveUpstream({ id: 'gh', preset: 'github', client_id: 'c', client_secret: 's', claims: { email: 'notification_email' }, timeout: 10, revokeOnLogout: true, continueLogout: false });
    expect(upstream).toMatchObject({ type: 'oauth2', userinfoEndpoint: 'https://api.github.com/user', subject: ['id'] });
    expect(upstream?.claims.email).toBe('notification_email');
    expect(upstream?.claims.preferred_username).toBe('login');
  });
});

describe('upstream configuration errors', () => {
  function messages(upstreams: unknown[], clients: unknown[] = []): string[] {
    try {
      validateConfig({ issuer: 'https://id.example.com', development: true, upstreams, clients }, 'test', { env: {} });
    } catch (err) {
      if (err instanceof ConfigError) return err.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw err;
    }
    return [];
  }

  it('reports missing settings per type, bad ids, duplicates and dangling client references', () => {
    expect(messages([
      { id: 'Bad Id', client_id: 'c', client_secret: 's', issuer: 'https://idp.example.com' },
      { id: 'generic', client_id: 'c', client_secret: 's' },
      { id: 'plain', type: 'oauth2', client_id: 'c', client_secret: 's' },
      { id: 'pkjwt', issuer: 'https://idp.example.com', clientId: 'c', tokenEndpointAuthMethod: 'private_key_jwt', privateKey: '{"kty":"EC"}' },
      { id: 'generic', issuer: 'https://idp.example.com', clientId: 'c' },
    ], [{ client_id: 'web', client_secret: 'web-secret-0123456789', redirect_uris: ['https://web.example/cb'], upstreams: ['generic', 'nope'] }])).toEqual([
      '0.id: must be lowercase letters, digits and hyphens (it appears in /callback/{id} and in subjects)',
      'upstreams.1.issuer: required for an oidc upstream (or use a preset that sets it)',
      'upstreams.2.authorizationEndpoint: required for an oauth2 upstream',
      'upstreams.2.tokenEndpoint: required for an oauth2 upstream',
      'upstreams.2.userinfoEndpoint: required for an oauth2 upstream',
      'upstreams.3.privateKey: must be a private JWK (JSON with "d")',
      'upstreams.4.id: duplicate upstream id',
      'upstreams.4.client_secret: required for client_secret_basic',
      'clients.0.upstreams.1: is not the id of a declared upstream',
    ].map((m) => (m.startsWith('0.') ? `upstreams.${m}` : m)));
  });
});
