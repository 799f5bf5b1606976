// The naming rule (docs/configuration.md#naming): an upstream's and a BFF's OAuth client keys are
// client_id / client_secret / token_endpoint_auth_method as on clients. The old camelCase spelling
// still loads with one warning per key path (parseConfig, check-config, start); both is an error.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { ConfigError, formatIssue, type ConfigIssue } from '../../src/config/issues.ts';
import { parseConfig } from '../../src/config/load.ts';
import { resolveUpstream } from '../../src/upstream/resolve.ts';
import { configJsonSchema } from '../../scripts/config-json-schema.ts';
import { validate } from '../helpers/json-schema.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/baton.js', import.meta.url));
const ENV = { CORP_SECRET: 'corp-secret-SENSITIVE-0123456789' };
const dir = mkdtempSync(join(tmpdir(), 'baton-renamed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A development config with one upstream and one BFF whose client keys are `upstream` / `bff`. */
function config(upstream: string, bff = '    client_id: spa-bff'): string {
  return `issuer: http://localhost:4000
development: true
storage:
  type: memory
upstreams:
  - id: corp
    issuer: https://login.example.com
${upstream}
resources:
  - id: https://api.example.com
    scopes: [read]
clients:
  - client_id: spa-bff
    client_secret: spa-bff-secret-0123456789
    redirect_uris: ["http://localhost:4000/bff/spa/callback"]
    resources: [{ id: https://api.example.com }]
bff:
  - id: spa
${bff}
    origins: ["http://localhost:5173"]
`;
}

const OLD = '    clientId: baton\n    clientSecret: "${CORP_SECRET}"\n    tokenEndpointAuthMethod: client_secret_post';
const NEW = '    client_id: baton\n    client_secret: "${CORP_SECRET}"\n    token_endpoint_auth_method: client_secret_post';

function load(text: string): { warnings: ConfigIssue[]; result: ReturnType<typeof parseConfig> | ConfigError } {
  const warnings: ConfigIssue[] = [];
  try {
    return { warnings, result: parseConfig(text, 'inline', { env: ENV, onWarning: (w) => warnings.push(w) }) };
  } catch (err) {
    if (err instanceof ConfigError) return { warnings, result: err };
    throw err;
  }
}

describe('renamed client keys', () => {
  it('the new spelling loads without a warning', () => {
    const { warnings, result } = load(config(NEW));
    expect(warnings).toEqual([]);
    if (result instanceof ConfigError) throw result;
    const resolved = resolveUpstream(result.upstreams[0]!).upstream;
    expect(resolved).toMatchObject({ clientId: 'baton', clientSecret: ENV.CORP_SECRET, authMethod: 'client_secret_post' });
    expect(result.bff[0]?.client_id).toBe('spa-bff');
  });

  it('the old spelling loads to the same configuration, with one warning per key naming its path, line and the new key', () => {
    const { warnings, result } = load(config(OLD, '    clientId: spa-bff'));
    if (result instanceof ConfigError) throw result;
    expect(warnings.map(formatIssue)).toEqual([
      'upstreams[0].clientId: deprecated spelling: rename it to client_id (line 8)',
      'upstreams[0].clientSecret: deprecated spelling: rename it to client_secret (line 9)',
      'upstreams[0].tokenEndpointAuthMethod: deprecated spelling: rename it to token_endpoint_auth_method (line 10)',
      'bff[0].clientId: deprecated spelling: rename it to client_id (line 21)',
    ]);
    expect(JSON.stringify(warnings)).not.toContain(ENV.CORP_SECRET);
    const fresh = load(config(NEW)).result;
    expect(result).toEqual(fresh);
  });

  it('both spellings in one entry are an error naming the path, and nothing else about that key', () => {
    const { result } = load(config(`${NEW}\n    clientSecret: "\${CORP_SECRET}"`, '    client_id: spa-bff\n    clientId: spa-bff'));
    expect(result).toBeInstanceOf(ConfigError);
    const lines = (result as ConfigError).message.split('\n').slice(1).map((l) => l.trim());
    expect(lines).toEqual([
      'upstreams[0].clientSecret: set either client_secret or its deprecated spelling clientSecret, not both: remove clientSecret (line 11)',
      'bff[0].clientId: set either client_id or its deprecated spelling clientId, not both: remove clientId (line 23)',
    ]);
  });

  it('problems under an old key name the key as written; a missing key is named by its new spelling', () => {
    const broken = load(config('    clientId: ""\n    clientSecret: "${UNSET_SECRET}"', '    clientId: nobody')).result as ConfigError;
    expect(broken).toBeInstanceOf(ConfigError);
    const lines = broken.message.split('\n').slice(1).map((l) => l.trim());
    expect(lines).toContain('upstreams[0].clientId: must not be empty (line 8)');
    expect(lines).toContain('upstreams[0].clientSecret: environment variable UNSET_SECRET is not set (line 9)');
    expect(lines).toContain('bff[0].clientId: nobody is not the client_id of a declared client (line 20)');
    expect(lines).toHaveLength(3);

    const missing = load(config('    clientId: baton')).result as ConfigError;
    expect(missing.message).toContain('upstreams[0].client_secret: required for client_secret_basic');
  });

  it('did you mean: a misspelling of either spelling suggests the new key', () => {
    const { result } = load(config('    client_id: baton\n    clientSecrett: "${CORP_SECRET}"', '    clientid: spa-bff'));
    const message = (result as ConfigError).message;
    expect(message).toContain('upstreams[0].clientSecrett: unknown key; did you mean `client_secret`? (line 9)');
    expect(message).toContain('bff[0].clientid: unknown key; did you mean `client_id`? (line 20)');
  });

  it('the JSON Schema accepts either spelling (the old one marked deprecated) but not both, and requires one', () => {
    const schema = JSON.parse(configJsonSchema()) as Record<string, unknown>;
    const doc = (text: string) => parse(text.replaceAll('${CORP_SECRET}', ENV.CORP_SECRET)) as unknown;
    expect(validate(schema, doc(config(NEW)))).toEqual([]);
    expect(validate(schema, doc(config(OLD, '    clientId: spa-bff')))).toEqual([]);
    expect(validate(schema, doc(config(`${NEW}\n    clientSecret: x`)))).not.toEqual([]);
    expect(validate(schema, doc(config('    client_secret: x')))).not.toEqual([]);
    const upstream = (schema.properties as { upstreams: { items: { properties: Record<string, { deprecated?: boolean }> } } }).upstreams.items.properties;
    expect(upstream.clientSecret?.deprecated).toBe(true);
    expect(upstream.client_secret?.deprecated).toBeUndefined();
  });
});

describe('the CLI', () => {
  const file = join(dir, 'old.yaml');
  writeFileSync(file, config(OLD, '    clientId: spa-bff'));

  it('check-config: the file is valid, one warning per old key on stderr, no secret', async () => {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'check-config', file], { env: { ...process.env, ...ENV } });
    expect(stdout).toMatch(/valid \(1 client, 1 resource\)/);
    const warnings = stderr.trim().split('\n');
    expect(warnings).toEqual([
      `${file}: warning: upstreams[0].clientId: deprecated spelling: rename it to client_id (line 8)`,
      `${file}: warning: upstreams[0].clientSecret: deprecated spelling: rename it to client_secret (line 9)`,
      `${file}: warning: upstreams[0].tokenEndpointAuthMethod: deprecated spelling: rename it to token_endpoint_auth_method (line 10)`,
      `${file}: warning: bff[0].clientId: deprecated spelling: rename it to client_id (line 21)`,
    ]);
    expect(stderr).not.toContain(ENV.CORP_SECRET);
  });

  it('check-config: both spellings exit 2 naming the path', async () => {
    const both = join(dir, 'both.yaml');
    writeFileSync(both, config(`${OLD}\n    client_id: baton`));
    const result = await run(process.execPath, [BIN, 'check-config', both], { env: { ...process.env, ...ENV } }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('upstreams[0].clientId: set either client_id or its deprecated spelling clientId, not both: remove clientId (line 8)');
  });

  it('start: logs each warning once (level warn) and serves', async () => {
    const started = join(dir, 'start.yaml');
    writeFileSync(started, config(OLD).replace('development: true', 'development: true\nserver:\n  host: 127.0.0.1\n  port: 0'));
    const child = spawn(process.execPath, [BIN, 'start', '--config', started], { env: { ...process.env, ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    try {
      const deadline = Date.now() + 30_000;
      while (!out.includes('Baton is listening') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('Baton is listening');
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const warnings = out.split('\n').filter((line) => line.includes('deprecated spelling')).map((line) => JSON.parse(line) as { level: string; key: string; msg: string });
    expect(warnings.map((w) => [w.level, w.key])).toEqual([
      ['warn', 'upstreams[0].clientId'], ['warn', 'upstreams[0].clientSecret'], ['warn', 'upstreams[0].tokenEndpointAuthMethod'],
    ]);
    expect(warnings[1]?.msg).toBe('configuration: upstreams[0].clientSecret: deprecated spelling: rename it to client_secret (line 12)');
    expect(out).not.toContain(ENV.CORP_SECRET);
  });
});
