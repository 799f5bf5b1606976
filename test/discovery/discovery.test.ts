// OpenID Connect Discovery 1.0 and the JWKS: exact fields, nothing advertised that does not work,
// endpoints pinned to the configured issuer whatever the Host header says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { standardConfig } from '../fixtures/standard.ts';
import { startBaton, type RunningBaton } from '../helpers/baton.ts';

let baton: RunningBaton;
beforeAll(async () => {
  baton = await startBaton(standardConfig);
});
afterAll(() => baton.stop());

async function getJson(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${baton.url}${path}`, { headers });
  return { response, body: (await response.json()) as Record<string, unknown> };
}

describe('discovery', () => {
  it('serves exactly the metadata Baton implements', async () => {
    const { response, body } = await getJson('/.well-known/openid-configuration');
    expect(response.status).toBe(200);
    const issuer = baton.url;
    expect(body).toEqual({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userinfo`,
      jwks_uri: `${issuer}/jwks`,
      introspection_endpoint: `${issuer}/introspect`,
      revocation_endpoint: `${issuer}/revoke`,
      end_session_endpoint: `${issuer}/logout`,
      device_authorization_endpoint: `${issuer}/device/auth`,
      response_types_supported: ['code'],
      response_modes_supported: ['form_post', 'fragment', 'query'],
      grant_types_supported: expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code']),
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      id_token_signing_alg_values_supported: ['ES256', 'RS256'],
      scopes_supported: ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'],
      subject_types_supported: ['public'],
      claims_supported: expect.arrayContaining(['sub', 'acr', 'amr', 'email', 'email_verified', 'name', 'address', 'phone_number', 'auth_time', 'iss', 'sid']),
      claim_types_supported: ['normal'],
      claims_parameter_supported: true,
      request_uri_parameter_supported: false,
      authorization_response_iss_parameter_supported: true,
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
    });
  });

  it('does not advertise features that are off (PAR, DPoP, registration, request objects, implicit, password)', async () => {
    const { body } = await getJson('/.well-known/openid-configuration');
    expect(body.grant_types_supported).not.toContain('implicit');
    expect(body.grant_types_supported).not.toContain('password');
    for (const key of ['pushed_authorization_request_endpoint', 'dpop_signing_alg_values_supported', 'registration_endpoint', 'request_parameter_supported']) {
      expect(body, key).not.toHaveProperty(key);
    }
  });

  it('ignores a forged Host and X-Forwarded-Host header', async () => {
    const { body } = await getJson('/.well-known/openid-configuration', { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' });
    expect(body.issuer).toBe(baton.url);
    expect(body.token_endpoint).toBe(`${baton.url}/token`);
    expect(JSON.stringify(body)).not.toContain('evil.example');
  });
});

describe('jwks', () => {
  it('publishes one public key per configured algorithm, never private parts', async () => {
    const { response, body } = await getJson('/jwks');
    expect(response.headers.get('content-type')).toMatch(/application\/jwk-set\+json/);
    const keys = body.keys as Array<Record<string, unknown>>;
    expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const key of keys) {
      expect(key.use).toBe('sig');
      expect(typeof key.kid).toBe('string');
      for (const privatePart of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(privatePart);
    }
  });
});
