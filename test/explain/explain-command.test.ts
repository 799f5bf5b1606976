// `baton explain REQUEST_ID --config F [--json]` as a real process against the SQLite file a running
// Baton writes its traces to: the tree, the JSON, and exit 1 with a message for an unknown id.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { scratchDir, startBaton, TEST_ENV, TEST_MASTER_SECRET, type RunningBaton } from '../helpers/baton.ts';
import { runCli } from '../helpers/baton-cli.ts';
import { basic, postForm } from '../helpers/rp.ts';

const API = 'https://orders.api.example';
const dir = scratchDir('baton-explain-cli-');
const configFile = join(dir.path, 'baton.yaml');
let baton: RunningBaton;
let requestId: string;

beforeAll(async () => {
  const raw = {
    storage: { type: 'sqlite', path: join(dir.path, 'baton.db') },
    explain: { enabled: true },
    resources: [{ id: API, scopes: ['orders:read', 'orders:write'] }],
    clients: [{ client_id: 'service', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API, scopes: ['orders:read'] }] }],
  };
  baton = await startBaton(raw);
  writeFileSync(configFile, JSON.stringify({ ...raw, issuer: baton.url, keys: { masterSecret: TEST_MASTER_SECRET } }));
  const res = await postForm(`${baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=orders:read`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
  expect(res.status).toBe(200);
  requestId = res.headers.get('x-request-id')!;
  await new Promise((resolve) => setTimeout(resolve, 300));
});
afterAll(async () => {
  await baton?.stop();
  dir.remove();
});

describe('baton explain', () => {
  it('prints the tree of a stored trace', async () => {
    const cli = runCli(['explain', requestId, '--config', configFile], TEST_ENV);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toContain(`request ${requestId}`);
    expect(cli.stdout()).toMatch(/client\s+service/);
    expect(cli.stdout()).toMatch(/granted orders:read\s+by client\s+at https:\/\/orders\.api\.example/);
    expect(cli.stdout()).toMatch(/client_id\s+baton\s+"service"/);
  });

  it('--json prints the trace itself', async () => {
    const cli = runCli(['explain', requestId, '--config', configFile, '--json'], TEST_ENV);
    expect(await cli.exited).toBe(0);
    expect(JSON.parse(cli.stdout())).toMatchObject({ requestId, request: { clientId: 'service', grantType: 'client_credentials' }, result: { outcome: 'issued' } });
  });

  it('an unknown request id: exit 1 with a clear message', async () => {
    const cli = runCli(['explain', 'no-such-request', '--config', configFile], TEST_ENV);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toMatch(/no trace of request no-such-request/);
    expect(cli.stdout()).toBe('');
  });
});
