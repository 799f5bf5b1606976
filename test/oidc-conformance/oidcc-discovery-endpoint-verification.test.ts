// Mirrors `oidcc-discovery-endpoint-verification`, the Config OP plan's one module (OpenID Connect
// Discovery section 3): the document (200, JSON, issuer, endpoints under it, at least one OpenID
// Connect response type, RS256 for id_tokens, claims, scopes with openid, PKCE methods as an array)
// and the JWKS (public keys only).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startCertification, type Certification } from './certification.ts';

let cert: Certification;
let discovery: Record<string, unknown>;
beforeAll(async () => {
  cert = await startCertification();
  const response = await fetch(`${cert.baton.url}/.well-known/openid-configuration`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  discovery = (await response.json()) as Record<string, unknown>;
});
afterAll(() => cert?.stop());

describe('oidcc-discovery-endpoint-verification', () => {
  it('issuer, endpoints, subject types, scopes, claims and PKCE methods as Discovery section 3 requires', () => {
    expect(discovery.issuer).toBe(cert.baton.url);
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri']) {
      expect(String(discovery[endpoint])).toMatch(new RegExp(`^${cert.baton.url}/`));
    }
    expect(discovery.response_types_supported).toContain('code');
    expect(discovery.grant_types_supported).toContain('authorization_code');
    expect(discovery.subject_types_supported).toEqual(['public']);
    expect(discovery.id_token_signing_alg_values_supported).toContain('RS256');
    expect(discovery.scopes_supported).toContain('openid');
    expect(discovery.claims_parameter_supported).toBe(true);
    expect(discovery.claims_supported).toEqual(expect.arrayContaining(['sub', 'iss', 'auth_time', 'acr', 'name', 'email', 'address', 'phone_number']));
    expect(Array.isArray(discovery.code_challenge_methods_supported)).toBe(true);
    expect(discovery.request_uri_parameter_supported).toBe(false);
    expect(discovery.registration_endpoint).toBeUndefined();
  });

  it('the JWKS: public keys only, each with kid, alg and use sig, an RS256 one among them', async () => {
    const { keys } = (await (await fetch(String(discovery.jwks_uri))).json()) as { keys: Array<Record<string, unknown>> };
    expect(keys.map((k) => k.alg)).toContain('RS256');
    for (const key of keys) {
      expect(key).toMatchObject({ kid: expect.any(String), alg: expect.any(String), use: 'sig' });
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key[secret]).toBeUndefined();
    }
  });
});
