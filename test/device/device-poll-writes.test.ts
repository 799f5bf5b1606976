// Device-code polling (RFC 8628 section 3.4) must not write to the store for a request that did not
// authenticate a client and name its own pending device code: an unknown client_id, a wrong secret or
// an unknown device_code leave the store exactly as it was. Baton on SQLite, read back with SQL.
import { join } from 'node:path';

import Database from 'better-sqlite3';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { scratchDir, startBaton, type RunningBaton } from '../helpers/baton.ts';
import { basic, discover, postForm } from '../helpers/rp.ts';

const API = 'https://media.api.example';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const POLLS = 40;

let baton: RunningBaton;
let dir: ReturnType<typeof scratchDir>;
let dbPath: string;

beforeAll(async () => {
  dir = scratchDir();
  dbPath = join(dir.path, 'baton.db');
  baton = await startBaton({
    storage: { type: 'sqlite', path: dbPath },
    resources: [{ id: API, scopes: ['media:play'] }],
    clients: [
      { client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: [DEVICE_GRANT], resources: [{ id: API }] },
      { client_id: 'console', client_secret: 'console-secret-0123456789', grant_types: [DEVICE_GRANT], resources: [{ id: API }] },
    ],
  });
});
afterAll(async () => {
  await baton?.stop();
  dir?.remove();
});

/** Every model and record row, as stored. */
function snapshot(): unknown {
  const db = new Database(dbPath, { readonly: true });
  try {
    return {
      models: db.prepare('SELECT model, id, payload, consumed_at, expires_at FROM oidc_models ORDER BY model, id').all(),
      records: db.prepare('SELECT kind, id, value, version, expires_at FROM baton_records ORDER BY kind, id').all(),
    };
  } finally {
    db.close();
  }
}

const poll = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
  postForm(`${baton.url}/token`, new URLSearchParams({ grant_type: DEVICE_GRANT, ...fields }), headers);

describe('device-code polling writes nothing before the client is authenticated', () => {
  it('many polls with an unknown client_id leave the store unchanged', async () => {
    const tv = await discover(baton.url, 'tv', undefined, 'none');
    const { device_code } = await client.initiateDeviceAuthorization(tv, { scope: 'openid', resource: API });
    const before = snapshot();
    for (let i = 0; i < POLLS; i += 1) {
      const answer = await poll({ client_id: `stranger-${i}`, device_code: i % 2 ? device_code : `made-up-${i}` });
      expect(answer.status).toBe(401);
      expect(answer.json.error).toBe('invalid_client');
    }
    expect(snapshot()).toStrictEqual(before);
  });

  it('polls with a wrong client secret, or an unknown device_code, leave the store unchanged', async () => {
    const console = await discover(baton.url, 'console', 'console-secret-0123456789');
    const { device_code } = await client.initiateDeviceAuthorization(console, { scope: 'openid', resource: API });
    const before = snapshot();
    for (let i = 0; i < POLLS / 2; i += 1) {
      const wrongSecret = await poll({ device_code }, { authorization: basic('console', `wrong-${i}`) });
      expect(wrongSecret.status).toBe(401);
      const unknownCode = await poll({ client_id: 'tv', device_code: `made-up-${i}` });
      expect(unknownCode.status).toBe(400);
      expect(unknownCode.json.error).toBe('invalid_grant');
    }
    expect(snapshot()).toStrictEqual(before);
  });

  it('the client\'s own pending code is still tracked: an early second poll gets slow_down', async () => {
    const tv = await discover(baton.url, 'tv', undefined, 'none');
    const { device_code } = await client.initiateDeviceAuthorization(tv, { scope: 'openid', resource: API });
    expect((await poll({ client_id: 'tv', device_code })).json.error).toBe('authorization_pending');
    expect((await poll({ client_id: 'tv', device_code })).json.error).toBe('slow_down');
  });
});
