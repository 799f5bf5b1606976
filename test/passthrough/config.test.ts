// Passthrough configuration: references to upstreams and resources, duplicates and combinations
// are reported by path, all at once; a hook module exporting hooks that cannot run here stops the start.
import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/config/issues.ts';
import { validateConfig } from '../../src/config/load.ts';
import { startBaton } from '../helpers/baton.ts';

const base = {
  issuer: 'https://id.example.com',
  keys: { masterSecret: 'test-master-secret-0123456789abcdefghij', signing: ['ES256'] },
  upstreams: [
    { id: 'entra', preset: 'entra', tenant: '9b1f6c2e-3d4a-4e5f-8a7b-1c2d3e4f5a6b', clientId: 'baton', clientSecret: 'secret' },
    { id: 'github', preset: 'github', clientId: 'baton', clientSecret: 'secret' },
  ],
  resources: [{ id: 'https://orders.api.example', scopes: ['orders:read'] }],
};

function problems(passthrough: unknown[]): string[] {
  try {
    validateConfig({ ...base, passthrough }, 'test', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n').slice(1).map((line) => line.trim());
    throw err;
  }
  return [];
}

describe('passthrough configuration', () => {
  it('accepts a complete entry', () => {
    expect(problems([{ id: 'crm', upstream: 'entra', clients: ['fe794e91-40ef-430e-9aa5-29e3ca962928'], resource: { id: 'https://orders.api.example', scopes: ['orders:read'] }, refreshTokens: 'handle' }])).toEqual([]);
  });

  it('reports unknown references, duplicates and impossible combinations by path', () => {
    expect(problems([
      { id: 'crm', upstream: 'okta', clients: ['a', 'a'], resource: { id: 'https://billing.api.example' } },
      { id: 'crm', upstream: 'github', clients: ['b'], resource: { id: 'https://orders.api.example', scopes: ['orders:write'] }, signingAlg: 'RS256' },
      { id: 'Bad Id', upstream: 'entra', clients: [], refreshTokens: 'cookie' },
    ])).toEqual([
      'passthrough[2].id: must be lowercase letters, digits and hyphens (it appears in the issuer URL)',
      'passthrough[2].clients: must have at least 1 entry',
      'passthrough[2].refreshTokens: must be one of "jwe", "handle"',
      'passthrough[0].upstream: okta is not the id of a declared upstream',
      'passthrough[0].clients: must not list a client id twice',
      'passthrough[0].resource.id: https://billing.api.example is not the id of a declared resource',
      'passthrough[1].id: duplicate passthrough id',
      'passthrough[1].upstream: github is an oauth2 upstream; passthrough needs an OpenID Connect upstream (it verifies the upstream id_token)',
      'passthrough[1].resource.scopes[0]: is not a scope of resource https://orders.api.example',
      'passthrough[1].signingAlg: must be one of keys.signing',
    ]);
  });

  it('refuses to start with a hook module exporting hooks that cannot run for passthrough', async () => {
    const started = startBaton({
      upstreams: [{ id: 'idp', issuer: 'https://idp.example.com', clientId: 'baton', clientSecret: 'secret' }],
      passthrough: [{ id: 'app', upstream: 'idp', clients: ['app'], hooks: { module: '../orchestration/fixtures/flow-hooks.ts' } }],
    }, { configDir: new URL('.', import.meta.url).pathname });
    await expect(started).rejects.toThrow(/isAuthenticated, authenticate cannot run for passthrough app/);
  });
});
