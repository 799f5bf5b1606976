// A client with `scopes: []` (a backend service, as in the complete example of
// docs/configuration.md) works: client_credentials issues its resource scopes, a wrong secret is
// 401 invalid_client (RFC 6749 section 5.2), an OpenID scope is invalid_scope; never the provider's
// invalid_client_metadata. A sign-in client with `scopes: []` is refused at check-config, by path.
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/config/issues.ts';
import { validateConfig } from '../../src/config/load.ts';
import { startBaton, TEST_ENV, TEST_MASTER_SECRET, type RunningBaton } from '../helpers/baton.ts';
import { basic, discover, postForm } from '../helpers/rp.ts';

const API = 'https://api.example.com';
let baton: RunningBaton;

beforeAll(async () => {
  baton = await startBaton({
    resources: [{ id: API, scopes: ['orders:read', 'orders:write'] }],
    clients: [{ client_id: 'billing-sync', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], scopes: [], resources: [{ id: API, scopes: ['orders:read'] }] }],
  });
});
afterAll(() => baton.stop());

const token = (body: string, secret: string) => postForm(`${baton.url}/token`, body, { authorization: basic('billing-sync', secret) });

describe('a client with scopes: []', () => {
  it('gets client_credentials tokens for its resource scopes', async () => {
    const rp = await discover(baton.url, 'billing-sync', TEST_ENV.SERVICE_SECRET);
    const tokens = await client.clientCredentialsGrant(rp, { resource: API, scope: 'orders:read' });
    expect(tokens.scope).toBe('orders:read');
  });

  it('a wrong secret is 401 invalid_client, not invalid_client_metadata', async () => {
    const res = await token(`grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=orders:read`, 'not-the-right-secret-0123');
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_client');
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('an OpenID scope is invalid_scope', async () => {
    const res = await token(`grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=openid`, TEST_ENV.SERVICE_SECRET);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_scope');
  });

  it('introspection works for it too', async () => {
    const issued = await token(`grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=orders:read`, TEST_ENV.SERVICE_SECRET);
    const res = await postForm(`${baton.url}/introspect`, `token=${String(issued.json.access_token)}`, { authorization: basic('billing-sync', TEST_ENV.SERVICE_SECRET) });
    expect(res.status).toBe(200);
    expect(res.json.active).toBe(true);
  });
});

describe('check-config', () => {
  it('refuses scopes: [] for a client that signs users in, naming the path', () => {
    const raw = {
      issuer: 'https://id.example.com', keys: { masterSecret: TEST_MASTER_SECRET },
      clients: [{ client_id: 'web', client_secret: 'web-secret-0123456789', redirect_uris: ['https://web.example/cb'], scopes: [] }],
    };
    expect(() => validateConfig(raw, 'test config', { env: {} })).toThrow(ConfigError);
    try {
      validateConfig(raw, 'test config', { env: {} });
    } catch (err) {
      expect((err as Error).message).toContain('clients[0].scopes: must not be empty with authorization_code');
    }
  });
});
