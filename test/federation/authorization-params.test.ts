// `authorizationParams`: extra parameters an upstream's authorization request needs (Auth0's
// `audience`, Entra's `domain_hint`) reach the upstream, merged over the preset's, and never replace
// the protocol parameters Baton sets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/config/issues.ts';
import { validateConfig } from '../../src/config/load.ts';
import { createUpstreams } from '../../src/upstream/index.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream({ profile: 'generic', clients: [{ client_id: 'baton', client_secret: 'upstream-secret-0123456789', redirect_uris: ['https://baton.example/callback/corp'] }], users: [] });
});
afterAll(() => upstream.stop());

const config = (upstreams: unknown[]) => validateConfig({ issuer: 'https://baton.example', development: true, storage: { type: 'memory' }, upstreams }, 'test');

describe('upstream authorizationParams', () => {
  it('are sent to an OIDC upstream, and merged over a preset\'s (Google keeps access_type=offline)', async () => {
    const upstreams = createUpstreams(config([
      { id: 'corp', issuer: upstream.issuer, clientId: 'baton', clientSecret: 'upstream-secret-0123456789', authorizationParams: { audience: 'https://api.corp.example', domain_hint: 'corp.example' } },
      { id: 'google', preset: 'google', issuer: upstream.issuer, clientId: 'baton', clientSecret: 'upstream-secret-0123456789', authorizationParams: { prompt: 'select_account' } },
    ]));
    const { url } = await upstreams.get('corp')!.begin({ redirectUri: 'https://baton.example/callback/corp' });
    expect(url.searchParams.get('audience')).toBe('https://api.corp.example');
    expect(url.searchParams.get('domain_hint')).toBe('corp.example');
    expect(url.searchParams.get('response_type')).toBe('code');
    const google = await upstreams.get('google')!.begin({ redirectUri: 'https://baton.example/callback/google' });
    expect(google.url.searchParams.get('access_type')).toBe('offline');
    expect(google.url.searchParams.get('prompt')).toBe('select_account');
  });

  it('are sent to a plain OAuth 2 upstream', async () => {
    const upstreams = createUpstreams(config([{
      id: 'gh', type: 'oauth2', clientId: 'gh', clientSecret: 'gh-secret-0123456789', subject: ['id'],
      authorizationEndpoint: 'https://github.example/login/oauth/authorize', tokenEndpoint: 'https://github.example/login/oauth/access_token', userinfoEndpoint: 'https://api.github.example/user',
      authorizationParams: { allow_signup: 'false' },
    }]));
    const { url } = await upstreams.get('gh')!.begin({ redirectUri: 'https://baton.example/callback/gh' });
    expect(url.searchParams.get('allow_signup')).toBe('false');
  });

  it('cannot set a protocol parameter', () => {
    let error: unknown;
    try {
      config([{ id: 'corp', issuer: 'https://idp.example', clientId: 'baton', clientSecret: 'upstream-secret-0123456789', authorizationParams: { state: 'fixed', redirect_uri: 'https://evil.example' } }]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toMatch(/upstreams\[0\]\.authorizationParams: may not set client_id, redirect_uri/);
  });
});
