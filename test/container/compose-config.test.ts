// compose.yaml and the configuration it mounts (examples/compose/baton.yaml) agree: every `${NAME}`
// the configuration reads is set by the compose file, it lands where the image reads it, and
// `baton check-config` accepts it. Runs everywhere (no container engine needed).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const compose = parse(readFileSync(`${root}compose.yaml`, 'utf8')) as {
  services: Record<string, { environment?: Record<string, string>; volumes?: string[]; depends_on?: Record<string, unknown> }>;
};
const configFile = 'examples/compose/baton.yaml';
const baton = compose.services.baton!;

describe('compose.yaml', () => {
  it('runs Baton with PostgreSQL and Redis, the configuration mounted where the image reads it', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['baton', 'postgres', 'redis']);
    expect(Object.keys(baton.depends_on ?? {}).sort()).toEqual(['postgres', 'redis']);
    expect(baton.volumes).toContain(`./${configFile}:/etc/baton/baton.yaml:ro`);
    expect(readFileSync(`${root}Dockerfile`, 'utf8')).toContain('CMD ["start", "--config", "/etc/baton/baton.yaml"]');
  });

  it('sets every environment variable the mounted configuration names, and the configuration is valid', () => {
    const names = [...readFileSync(`${root}${configFile}`, 'utf8').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(Object.keys(baton.environment ?? {}), name).toContain(name);

    // Values as compose would substitute them (with placeholders for the secrets).
    const env: Record<string, string> = { ...process.env as Record<string, string>, NODE_NO_WARNINGS: '1' };
    for (const [name, value] of Object.entries(baton.environment ?? {})) {
      env[name] = value.replace(/\$\{(\w+)(?::[-?][^}]*)?\}/g, (_, v: string) => (v === 'BATON_ISSUER' ? '' : 'x'.repeat(16)));
    }
    env.BATON_ISSUER = 'http://localhost:4000';
    env.BATON_MASTER_SECRET = 'm'.repeat(48);
    const result = spawnSync(process.execPath, ['bin/baton.js', 'check-config', configFile], { cwd: root, env, encoding: 'utf8' });
    expect(result.stderr + result.stdout).toContain('valid');
    expect(result.status, result.stderr).toBe(0);
  });
});
