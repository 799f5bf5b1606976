// Editor support (issue 18): schema/baton.schema.json is generated from the zod schema, every example
// configuration names it on its first line, and every example passes it under an independent validator.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { configJsonSchema, SCHEMA_FILE } from '../../scripts/config-json-schema.ts';
import { interpolateEnv } from '../../src/config/interpolate.ts';
import { validate } from '../helpers/json-schema.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCHEMA_PATH = join(ROOT, SCHEMA_FILE);
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

const EXAMPLES = [...yamlFiles(join(ROOT, 'examples')), ...yamlFiles(join(ROOT, 'docs/integrations'))].sort();

/** The file as Baton validates it: `${VAR}` replaced (ports by a port number, anything else by a long string). */
function loadExample(file: string): unknown {
  const raw = parse(readFileSync(file, 'utf8')) as unknown;
  const names = [...readFileSync(file, 'utf8').matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] ?? '');
  const env = Object.fromEntries(names.map((name) => [name, /PORT$/.test(name) ? '4000' : `placeholder-${name.toLowerCase()}-`.padEnd(48, 'x')]));
  const issues: unknown[] = [];
  const value = interpolateEnv(raw, env, issues as never);
  expect(issues).toEqual([]);
  return value;
}

describe('schema/baton.schema.json', () => {
  it('is what the zod configuration schema generates today (npm run docs:config)', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(configJsonSchema());
  });

  it('covers the example configurations: examples/ and docs/integrations/', () => {
    expect(EXAMPLES.map((f) => relative(ROOT, f))).toEqual(expect.arrayContaining([
      'examples/baton.yaml', 'examples/dev/baton.yaml', 'examples/hooks/baton.yaml', 'examples/authorizer/baton.yaml',
      'docs/integrations/entra.yaml', 'docs/integrations/okta.yaml',
    ]));
  });

  for (const file of EXAMPLES) {
    const name = relative(ROOT, file);
    it(`${name}: first line points editors at the schema`, () => {
      const first = readFileSync(file, 'utf8').split('\n')[0] ?? '';
      const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
      expect(match, first).not.toBeNull();
      expect(resolve(dirname(file), match?.[1] ?? '')).toBe(SCHEMA_PATH);
    });

    it(`${name}: valid under the JSON Schema`, () => {
      expect(validate(schema, loadExample(file))).toEqual([]);
    });
  }

  it('refuses what check-config refuses: an unknown (misspelt) key, a wrong type, an unknown storage type', () => {
    const good = loadExample(join(ROOT, 'examples/baton.yaml')) as Record<string, unknown>;
    expect(validate(schema, { ...good, isuer: 'http://localhost:4000' })).toEqual(['$: unknown key "isuer"']);
    expect(validate(schema, { ...good, server: { port: 'eighty' } }).join('\n')).toMatch(/\$\.server\.port: expected integer/);
    expect(validate(schema, { ...good, storage: { type: 'mysql' } }).join('\n')).toMatch(/\$\.storage: matches 0 of oneOf/);
    const { issuer: _issuer, ...withoutIssuer } = good;
    expect(validate(schema, withoutIssuer)).toEqual(['$: missing required "issuer"']);
  });
});
