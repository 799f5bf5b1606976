// BFF configuration: the client it signs in through, its redirect URI, route resources, origins and
// duplicates are reported by path, all at once.
import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/config/issues.ts';
import { validateConfig } from '../../src/config/load.ts';

const ORDERS = 'https://orders.api.example';
const base = {
  issuer: 'https://id.example.com',
  keys: { masterSecret: 'test-master-secret-0123456789abcdefghij' },
  resources: [{ id: ORDERS, scopes: ['orders:read'] }, { id: 'https://billing.api.example' }],
  clients: [
    { client_id: 'spa-bff', client_secret: 'spa-bff-secret-0123456789', redirect_uris: ['https://id.example.com/bff/spa/callback'], resources: [{ id: ORDERS }] },
    { client_id: 'public', token_endpoint_auth_method: 'none', redirect_uris: ['https://app.example.com/cb'] },
    { client_id: 'hashed', client_secret_hash: '$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA', redirect_uris: ['https://id.example.com/bff/other/callback'] },
  ],
};

function problems(bff: unknown[]): string[] {
  try {
    validateConfig({ ...base, bff }, 'test', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n').slice(1).map((line) => line.trim());
    throw err;
  }
  return [];
}

describe('bff configuration', () => {
  it('accepts a complete entry, with defaults', () => {
    expect(problems([{ id: 'spa', clientId: 'spa-bff', origins: ['https://app.example.com'], routes: [{ name: 'orders', url: 'https://orders.internal/api', resource: ORDERS }] }])).toEqual([]);
    const config = validateConfig({ ...base, bff: [{ id: 'spa', clientId: 'spa-bff', origins: ['https://app.example.com'] }] }, 'test', { env: {} });
    expect(config.bff[0]).toMatchObject({ session: { idle: 1800, absolute: 43200, sameSite: 'strict' }, tokenEndpoint: false, proxy: { timeout: 30, maxBodySize: 1048576 } });
  });

  it('reports the client, its redirect URI, resources, origins and duplicates by path', () => {
    expect(problems([
      { id: 'spa', clientId: 'spa-bff', origins: ['https://app.example.com/', 'https://app.example.com'], routes: [
        { name: 'orders', url: 'https://orders.internal', resource: ORDERS },
        { name: 'orders', url: 'https://orders.internal?x=1', resource: 'https://billing.api.example' },
        { name: 'none', url: 'https://x.internal', token: 'client-credentials', resource: ORDERS },
        { name: 'missing', url: 'https://x.internal', resource: 'https://nowhere.example' },
        { name: 'bare', url: 'https://x.internal' },
      ] },
      { id: 'spa', clientId: 'public', origins: ['https://app.example.com'] },
      { id: 'other', clientId: 'hashed', origins: ['https://app.example.com'] },
      { id: 'ghost', clientId: 'nobody', origins: ['https://app.example.com'] },
    ]).sort()).toEqual([
      'bff[0].origins[0]: must be an origin: scheme, host and optional port, no path or trailing slash (e.g. https://app.example.com)',
      'bff[0].routes[1].url: must be an absolute http(s) URL without query or fragment',
      'bff[1].clientId: public must be a confidential client with a plain client_secret (Baton authenticates as it)',
      'bff[1].clientId: public must list https://id.example.com/bff/spa/callback in its redirect_uris',
      'bff[1].id: duplicate bff id',
      'bff[2].clientId: hashed must be a confidential client with a plain client_secret (Baton authenticates as it)',
      'bff[3].clientId: nobody is not the client_id of a declared client',
    ].sort());
    expect(problems([{ id: 'spa', clientId: 'spa-bff', origins: ['https://app.example.com', 'https://app.example.com'], routes: [
      { name: 'orders', url: 'https://orders.internal', resource: ORDERS },
      { name: 'orders', url: 'https://orders.internal', resource: 'https://billing.api.example' },
      { name: 'cc', url: 'https://x.internal', token: 'client-credentials', resource: ORDERS },
      { name: 'missing', url: 'https://x.internal', resource: 'https://nowhere.example' },
      { name: 'bare', url: 'https://x.internal' },
    ] }]).sort()).toEqual([
      'bff[0].origins: must not list an origin twice',
      'bff[0].routes[1].name: duplicate route name',
      'bff[0].routes[1].resource: https://billing.api.example is not one of spa-bff\'s resources',
      'bff[0].routes[2].token: spa-bff must allow the client_credentials grant',
      'bff[0].routes[3].resource: https://nowhere.example is not the id of a declared resource',
      'bff[0].routes[4].resource: required when token is user',
    ].sort());
  });
});
