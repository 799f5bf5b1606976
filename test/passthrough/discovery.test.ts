// The passthrough discovery document: the upstream's, with what Baton answers pointing at Baton
// (issuer, token, JWKS, userinfo, revocation) and the browser legs left at the upstream
// (authorize, device, logout); every other field preserved. Cached and refreshed: the last good
// copy is served when the upstream fails, a clean 503 when there never was one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort, startBaton, type RunningBaton } from '../helpers/baton.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';

let rich: FakeUpstream;
let flaky: FakeUpstream;
let baton: RunningBaton;

/** What Baton rewrites or drops; everything else must come through unchanged. */
const REWRITTEN = new Set([
  'issuer', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'revocation_endpoint', 'id_token_signing_alg_values_supported',
  'subject_types_supported', 'grant_types_supported', 'token_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported',
  'authorization_response_iss_parameter_supported',
]);
const DROPPED = ['introspection_endpoint', 'token_endpoint_auth_signing_alg_values_supported', 'userinfo_signing_alg_values_supported', 'dpop_signing_alg_values_supported'];

beforeAll(async () => {
  [rich, flaky] = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
  rich.metadata = {
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    claims_supported: ['sub', 'email', 'name', 'tid'],
    code_challenge_methods_supported: ['S256'],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256'],
    userinfo_signing_alg_values_supported: ['RS256'],
    dpop_signing_alg_values_supported: ['ES256'],
    introspection_endpoint: `${rich.issuer}/introspect`,
    authorization_response_iss_parameter_supported: true,
    frontchannel_logout_supported: true,
    request_uri_parameter_supported: false,
    cloud_instance_name: 'microsoftonline.com',
    x_vendor: { nested: [1, 2, 3] },
  };
  const closed = await freePort();
  baton = await startBaton({
    keys: { masterSecret: 'test-master-secret-0123456789abcdefghij', signing: ['ES256', 'RS256'] },
    upstreams: [
      { id: 'rich', issuer: rich.issuer, clientId: 'baton', clientSecret: 'unused-here-0123456789' },
      { id: 'flaky', issuer: flaky.issuer, clientId: 'baton', clientSecret: 'unused-here-0123456789' },
      { id: 'gone', issuer: `http://127.0.0.1:${closed}`, clientId: 'baton', clientSecret: 'unused-here-0123456789', timeout: '2s' },
    ],
    passthrough: [
      { id: 'rich', upstream: 'rich', clients: ['app'] },
      { id: 'es', upstream: 'rich', clients: ['app'], signingAlg: 'ES256' },
      { id: 'flaky', upstream: 'flaky', clients: ['app'], discoveryRefresh: '1s' },
      { id: 'gone', upstream: 'gone', clients: ['app'] },
    ],
  });
});
afterAll(async () => {
  await baton?.stop();
  await Promise.all([rich?.stop(), flaky?.stop()]);
});

const discover = (id: string) => fetch(`${baton.url}/passthrough/${id}/.well-known/openid-configuration`);

describe('discovery rewriting', () => {
  it('points issuer, token, JWKS, userinfo and revocation at Baton, keeps the browser legs and every other field', async () => {
    const upstreamDoc = rich.document();
    const response = await discover('rich');
    expect(response.status).toBe(200);
    const doc = (await response.json()) as Record<string, unknown>;
    const issuer = `${baton.url}/passthrough/rich`;
    expect(doc).toMatchObject({
      issuer,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      userinfo_endpoint: `${issuer}/userinfo`,
      revocation_endpoint: `${issuer}/revoke`,
      authorization_endpoint: `${rich.issuer}/authorize`,
      device_authorization_endpoint: `${rich.issuer}/devicecode`,
      end_session_endpoint: `${rich.issuer}/logout`,
      id_token_signing_alg_values_supported: ['RS256'],
      subject_types_supported: ['public'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      authorization_response_iss_parameter_supported: false,
    });
    for (const field of DROPPED) expect(doc).not.toHaveProperty(field);
    const kept = Object.keys(upstreamDoc).filter((f) => !REWRITTEN.has(f) && !DROPPED.includes(f));
    expect(kept.length).toBeGreaterThan(10);
    for (const field of kept) expect(doc[field], field).toEqual(upstreamDoc[field]);
  });

  it('advertises the algorithm this passthrough signs with, and serves Baton\'s public keys', async () => {
    const doc = (await (await discover('es')).json()) as Record<string, unknown>;
    expect(doc.id_token_signing_alg_values_supported).toEqual(['ES256']);
    const jwks = (await (await fetch(String(doc.jwks_uri))).json()) as { keys: Array<Record<string, unknown>> };
    const batonJwks = (await (await fetch(`${baton.url}/jwks`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual(batonJwks.keys.map((k) => k.kid).sort());
    for (const key of jwks.keys) for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(secret);
  });

  it('answers 404 for an unknown passthrough id', async () => {
    const response = await discover('nobody');
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('discovery cache', () => {
  it('serves the last good copy while the upstream fails, and picks up the new one once it is back', async () => {
    flaky.metadata = { x_version: 1 };
    expect(await (await discover('flaky')).json()).toMatchObject({ x_version: 1 });
    flaky.discoveryStatus = 500;
    flaky.metadata = { x_version: 2 };
    await new Promise((resolve) => setTimeout(resolve, 1200));
    for (let i = 0; i < 3; i += 1) {
      const response = await discover('flaky');
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ x_version: 1, issuer: `${baton.url}/passthrough/flaky` });
    }
    flaky.discoveryStatus = 200;
    let seen: unknown;
    for (let attempt = 0; attempt < 40 && seen !== 2; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      seen = ((await (await discover('flaky')).json()) as { x_version?: unknown }).x_version;
    }
    expect(seen).toBe(2);
  });

  it('answers a clean 503 when the upstream never answered, at discovery and at the token endpoint', async () => {
    const response = await discover('gone');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'the upstream discovery document is not available; try again later' });
    const token = await fetch(`${baton.url}/passthrough/gone/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code&code=c&client_id=app&client_secret=s',
    });
    expect(token.status).toBe(503);
    expect(await token.json()).toMatchObject({ error: 'temporarily_unavailable' });
  });
});
