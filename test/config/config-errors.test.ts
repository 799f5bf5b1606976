// Configuration validation: a table of broken files and the exact messages they produce, all at
// once, by path, never echoing a secret; and the same messages from `baton check-config`/`start`.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/config/issues.ts';
import { loadConfigFile, parseConfig } from '../../src/config/load.ts';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/baton.js', import.meta.url));

const ENV = {
  BATON_MASTER_SECRET: 'master-secret-that-is-long-enough-0123',
  WEB_SECRET: 'web-secret-value-SENSITIVE-1',
};

function messages(file: string, env: Record<string, string> = ENV): string[] {
  try {
    loadConfigFile(fixture(file), { env });
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n').slice(1).map((line) => line.trim());
    throw err;
  }
  throw new Error(`${file} unexpectedly validated`);
}

describe('broken configuration files', () => {
  it.each([
    // The issue (18) added "did you mean", one error per unset variable and YAML positions with the line.
    ['typos.yaml', [
      'sever: unknown key; did you mean `server`? (line 5)',
      'clients[0].redirect_uris: at least one redirect URI is required for authorization_code (line 7)',
      'clients[0].redirect_uri: unknown key; did you mean `redirect_uris`? (line 9)',
    ]],
    ['many-errors.yaml', [
      'issuer: must use https (http is only allowed for localhost) (line 1)',
      'issuer: must be an origin without a path or trailing slash (e.g. https://id.example.com) (line 1)',
      'server.port: must be at most 65535 (line 2)',
      'server.trustProxy: must be a boolean (line 2)',
      'storage.type: must be one of "sqlite", "memory", "postgres", "redis", "split" (line 3)',
      'keys.signing[0]: must be one of "ES256", "ES384", "PS256", "RS256", "EdDSA" (line 5)',
      'keys.masterSecret: must be at least 32 characters (line 6)',
      'ttl.accessToken: must be a positive duration: seconds, or a number followed by s, m, h or d (e.g. "15m") (line 7)',
      'ttl.refreshToken: must be a positive duration: seconds, or a number followed by s, m, h or d (e.g. "15m") (line 7)',
      'resources[0].id: must be an absolute URL (line 9)',
      'resources[0].scopes[0]: must be a scope token (printable ASCII, no spaces, quotes or backslashes) (line 10)',
      'clients[0].redirect_uris[0]: must be an absolute URL (line 14)',
      'clients[0].redirect_uris[1]: must not contain a fragment (line 14)',
      'clients[0].grant_types[1]: must be one of "authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange", "urn:ietf:params:oauth:grant-type:device_code", "password" (line 15)',
    ]],
    ['references.yaml', [
      'resources[0].signingAlg: must be one of keys.signing (line 8)',
      'resources[1].id: duplicate resource id (line 9)',
      'clients[0].resources[0].id: is not the id of a declared resource (line 15)',
      'clients[0].resources[1].scopes[0]: is not a scope of resource https://orders.example.com (line 16)',
      'clients[1].client_id: duplicate client_id (line 17)',
      'clients[1].token_endpoint_auth_method: a public client ("none") must not have a secret (line 18)',
      'clients[1].grant_types: client_credentials requires an authenticated (confidential) client (line 20)',
      'clients[1].grant_types: refresh_token requires authorization_code, device_code or token exchange (line 20)',
      'clients[1].requirePkce: public clients must use PKCE (line 21)',
      'clients[2]: client_secret or client_secret_hash is required for client_secret_basic (line 22)',
      'clients[2].id_token_signed_response_alg: must be one of keys.signing (line 24)',
    ]],
    ['introspectors.yaml', [
      'resources[0].introspectors[1]: is not the client_id of a declared client (line 7)',
      'resources[0].introspectors[2]: a public client ("none") cannot introspect: it does not authenticate (line 7)',
    ]],
    ['no-master-secret.yaml', [
      'keys: a master secret is required: set keys.masterSecret (e.g. "${BATON_MASTER_SECRET}") or keys.masterSecretFile, or development: true for local use',
      'clients[0].client_secret: environment variable MISSING_SECRET is not set (line 4)',
    ]],
    ['not-yaml.yaml', [
      'invalid YAML: duplicate key at line 4, column 5: `    client_id: b`',
      'invalid YAML: bad indent at line 5, column 1: `  bad-indent`',
      'invalid YAML: missing char at line 5, column 3: `  bad-indent`',
    ]],
  ])('%s reports every problem, by path', (file, expected) => {
    expect(messages(file)).toEqual(expected);
  });

  it('never echoes a secret value in a message', () => {
    const text = `issuer: https://id.example.com
keys: { masterSecret: "short-SECRET-1" }
clients:
  - client_id: web
    client_secret: "abc-SECRET-2"
    client_secret_hash: "$scrypt$SECRET-3"
    redirect_uris: ["SECRET-4 not a url"]
`;
    let message = '';
    try {
      parseConfig(text, 'inline', { env: {} });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('clients[0].client_secret: must be at least 16 characters (line 5)');
    expect(message).not.toMatch(/SECRET-\d/);
  });

  it('suggests the nearest key across spellings: client_secret for a misspelt upstream or client secret', () => {
    const text = `issuer: https://id.example.com
development: true
upstreams:
  - id: corp
    issuer: https://login.example.com
    client_id: baton
    clientSecrett: "\${CORP_SECRET}"
clients:
  - client_id: svc
    clientSecret: "\${CORP_SECRET}"
    grant_types: [client_credentials]
`;
    let message = '';
    try {
      parseConfig(text, 'inline', { env: { CORP_SECRET: 'corp-secret-0123456789' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('upstreams[0].clientSecrett: unknown key; did you mean `client_secret`? (line 7)');
    expect(message).toContain('clients[0].clientSecret: unknown key; did you mean `client_secret`? (line 10)');
  });

  it('a YAML syntax error shows the offending line, but not a secret on it', () => {
    let message = '';
    try {
      parseConfig('issuer: https://id.example.com\nclients:\n  - client_id: web\n    client_secret: "abc-SECRET-9" trailing\n', 'inline', { env: {} });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/invalid YAML: unexpected token at line 4, column 35: `    client_secret: \.\.\.`/);
    expect(message).not.toContain('SECRET-9');
  });

  it('a valid file yields defaults, interpolated secrets and a frozen object', () => {
    const config = loadConfigFile(fixture('valid.yaml'), { env: ENV });
    expect(config.clients[0]).toMatchObject({
      client_secret: ENV.WEB_SECRET,
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
      requirePkce: true,
      requireConsent: false,
    });
    expect(config.resources[0]?.accessTokenTTL).toBe(900);
    expect(config.ttl).toEqual({ accessToken: 3600, clientCredentials: 3600, idToken: 3600, authorizationCode: 60, refreshToken: 1_209_600, session: 1_209_600, interaction: 3600, deviceCode: 600, grant: 1_209_600 });
    expect(config.storage).toEqual({ type: 'sqlite', path: './data/baton.db' });
    expect(config.keys.signing).toEqual(['ES256', 'RS256']);
    expect(Object.isFrozen(config.clients[0])).toBe(true);
  });

  it('$${ escapes interpolation', () => {
    const config = parseConfig('issuer: https://id.example.com\ndevelopment: true\nclients:\n  - client_id: svc\n    client_secret: "literal-$${NOT_A_VAR}-value"\n    grant_types: [client_credentials]\n', 'inline', { env: {} });
    expect(config.clients[0]?.client_secret).toBe('literal-${NOT_A_VAR}-value');
  });

  it('a missing file is reported as such', () => {
    expect(() => loadConfigFile('/nonexistent/baton.yaml')).toThrow(/file not found/);
  });
});

describe('the CLI', () => {
  it('check-config prints every message and exits 2', async () => {
    const result = await run(process.execPath, [BIN, 'check-config', fixture('typos.yaml')], { env: { ...process.env, ...ENV } }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('3 configuration errors');
    expect(result.stderr).toContain('sever: unknown key; did you mean `server`? (line 5)');
    expect(result.stderr).toContain('clients[0].redirect_uri: unknown key; did you mean `redirect_uris`? (line 9)');
  });

  it('check-config takes --config FILE like the other commands', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'check-config', '--config', fixture('valid.yaml')], { env: { ...process.env, ...ENV } });
    expect(stdout).toMatch(/valid \(1 client, 1 resource\)/);
  });

  it('check-config accepts a valid file', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'check-config', fixture('valid.yaml')], { env: { ...process.env, ...ENV } });
    expect(stdout).toMatch(/valid \(1 client, 1 resource\)/);
  });

  it('start refuses an invalid file with the same messages, without listening', async () => {
    const result = await run(process.execPath, [BIN, 'start', '--config', fixture('references.yaml')], { env: { ...process.env, ...ENV }, timeout: 20_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('clients[1].client_id: duplicate client_id (line 17)');
    expect(result.stderr).not.toContain(ENV.WEB_SECRET);
  });
});
