// `audit.output: stdout`: the real `baton start` writes its audit events beside its JSON logs on
// stdout, one object per line, told apart by `type` (logs carry `msg`), and SIGTERM flushes them.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { freePort, scratchDir, TEST_ENV, TEST_MASTER_SECRET } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';

const BIN = fileURLToPath(new URL('../../bin/baton.js', import.meta.url));
const dir = scratchDir('baton-audit-stdout-');
afterAll(() => dir.remove());

describe('audit log on stdout', () => {
  it('carries config.loaded and token.issued next to the logs, and no secret', async () => {
    const port = await freePort();
    const file = join(dir.path, 'baton.yaml');
    writeFileSync(file, [
      `issuer: http://127.0.0.1:${port}`,
      `server: { host: 127.0.0.1, port: ${port} }`,
      `storage: { type: sqlite, path: ${join(dir.path, 'baton.db')} }`,
      'keys: { masterSecret: "${BATON_MASTER_SECRET}" }',
      'audit: { output: stdout }',
      'resources: [{ id: "https://orders.api.example", scopes: [orders:read] }]',
      'clients: [{ client_id: service, client_secret: "${SERVICE_SECRET}", grant_types: [client_credentials], resources: [{ id: "https://orders.api.example" }] }]',
    ].join('\n'));
    const child = spawn(process.execPath, [BIN, 'start', '--config', file], {
      env: { ...process.env, ...TEST_ENV, BATON_MASTER_SECRET: TEST_MASTER_SECRET, NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await expect.poll(() => out.includes('Baton is listening'), { timeout: 15_000 }).toBe(true);
      const res = await postForm(`http://127.0.0.1:${port}/token`, 'grant_type=client_credentials&resource=https%3A%2F%2Forders.api.example&scope=orders%3Aread', { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
      expect(res.status).toBe(200);
      const token = String(res.json.access_token);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);

      const lines = out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      const audit = lines.filter((l) => typeof l.type === 'string');
      expect(audit.map((l) => l.type)).toEqual(['config.loaded', 'token.issued']);
      expect(audit[1]).toMatchObject({ grantType: 'client_credentials', clientId: 'service', resource: 'https://orders.api.example', scope: 'orders:read' });
      expect(lines.some((l) => l.msg === 'signing keys loaded')).toBe(true);
      for (const secret of [token, TEST_ENV.SERVICE_SECRET, TEST_MASTER_SECRET]) expect(out).not.toContain(secret);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
