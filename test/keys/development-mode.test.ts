// Development mode: starts without a master secret by generating one next to the database (owner
// read/write only), warns loudly once, and reuses it on restart so keys survive.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load.ts';
import { createBaton } from '../../src/server.ts';
import { scratchDir } from '../helpers/baton.ts';

const dir = scratchDir();
afterAll(() => dir.remove());

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

describe('development mode', () => {
  const config = validateConfig({ issuer: 'http://localhost:4000', development: true, storage: { type: 'sqlite', path: join(dir.path, 'data', 'baton.db') } }, 'dev', { env: {} });

  it('generates a private master secret file, warns once, and reuses it on restart', async () => {
    const first = capturingLogger();
    const a = await createBaton(config, { logger: first.logger, keyReloadInterval: 0 });
    const keysetVersion = (await a.store.getRecord('keyset', 'signing'))?.version;
    expect(keysetVersion).toBe(1);
    await a.close();

    const secretFile = join(dir.path, 'data', 'dev-master-secret');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    const warnings = first.lines.filter((l) => String(l.msg).startsWith('DEVELOPMENT MODE'));
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(first.lines)).not.toContain(secret);

    const second = capturingLogger();
    const b = await createBaton(config, { logger: second.logger, keyReloadInterval: 0 });
    // Same secret, so the sealed key set opens and is not regenerated.
    expect((await b.store.getRecord('keyset', 'signing'))?.version).toBe(keysetVersion);
    await b.close();
    expect(readFileSync(secretFile, 'utf8').trim()).toBe(secret);
  });
});
