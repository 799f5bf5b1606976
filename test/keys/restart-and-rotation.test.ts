// Keys persist encrypted in SQLite: tokens issued before a restart still verify and introspect;
// `baton keys rotate` (the real CLI, beside the running server) adds keys while old tokens keep
// verifying; a wrong master secret is refused instead of silently generating new keys.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import Database from 'better-sqlite3';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ORDERS_API, WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { freePort, scratchDir, startBaton, TEST_ENV, TEST_MASTER_SECRET, type RunningBaton } from '../helpers/baton.ts';
import { discover } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/baton.js', import.meta.url));

const dir = scratchDir();
const dbPath = join(dir.path, 'baton.db');
let port: number;
let baton: RunningBaton | undefined;

const start = () => startBaton({ ...standardConfig, storage: { type: 'sqlite', path: dbPath } }, { port });
const jwks = async (url: string) => (await (await fetch(`${url}/jwks`)).json()) as JSONWebKeySet;

beforeAll(async () => {
  port = await freePort();
});
afterAll(async () => {
  await baton?.stop();
  dir.remove();
});

describe('restart on the same SQLite file', () => {
  let jwtBefore: string;
  let opaqueBefore: string;
  let refreshBefore: string;
  let kidsBefore: string[];

  it('issues tokens before the restart', async () => {
    baton = await start();
    const service = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
    jwtBefore = (await client.clientCredentialsGrant(service, { resource: ORDERS_API, scope: 'orders:read' })).access_token;
    opaqueBefore = (await client.clientCredentialsGrant(service)).access_token;
    const web = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT });
    refreshBefore = (await client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce })).refresh_token!;
    kidsBefore = (await jwks(baton.url)).keys.map((k) => k.kid!).sort();
    await baton.stop();
    baton = undefined;
    // Let the client's keep-alive pool see the closed sockets before the same port is reused.
    await new Promise((resolve) => setTimeout(resolve, 200));
  });

  it('after the restart the same keys are served and old tokens still verify and introspect', async () => {
    baton = await start();
    const keys = await jwks(baton.url);
    expect(keys.keys.map((k) => k.kid!).sort()).toEqual(kidsBefore);
    await expect(jwtVerify(jwtBefore, createLocalJWKSet(keys), { issuer: baton.url, audience: ORDERS_API })).resolves.toBeTruthy();

    const service = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
    expect(await client.tokenIntrospection(service, opaqueBefore)).toMatchObject({ active: true, client_id: 'service' });
    const web = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const refreshed = await client.refreshTokenGrant(web, refreshBefore);
    expect(refreshed.refresh_token).not.toBe(refreshBefore);
  });

  it('keeps private keys encrypted at rest', () => {
    const db = new Database(dbPath, { readonly: true });
    try {
      const rows = db.prepare("SELECT value FROM baton_records WHERE kind = 'keyset'").all() as Array<{ value: string }>;
      expect(rows).toHaveLength(1);
      const stored = rows[0]!.value;
      expect(JSON.parse(stored)).toEqual({ sealed: expect.stringMatching(/^v1\.[A-Za-z0-9_-]+$/) });
      for (const kid of kidsBefore) expect(stored).not.toContain(kid);
      expect(stored).not.toMatch(/"d"\s*:/);
    } finally {
      db.close();
    }
  });

  it('`baton keys rotate` beside the running server: new tokens use the new key, old and new both verify', async () => {
    const running = baton!;
    const service = await discover(running.url, 'service', TEST_ENV.SERVICE_SECRET);
    const oldToken = (await client.clientCredentialsGrant(service, { resource: ORDERS_API, scope: 'orders:read' })).access_token;

    const configFile = join(dir.path, 'baton.yaml');
    writeFileSync(configFile, `issuer: ${running.url}\nstorage: { type: sqlite, path: ${dbPath} }\nkeys: { masterSecret: "\${BATON_MASTER_SECRET}" }\naudit: { output: file, file: audit/keys.jsonl }\n`);
    const { stdout } = await run(process.execPath, [BIN, 'keys', 'rotate', '--config', configFile], { env: { ...process.env, BATON_MASTER_SECRET: TEST_MASTER_SECRET } });
    const result = JSON.parse(stdout) as { current: string[]; retired: Array<{ kid: string }> };
    expect(result.current).toHaveLength(2);
    expect(result.retired.map((r) => r.kid).sort()).toEqual(kidsBefore);

    expect(await running.baton.reloadKeys()).toBe(true);
    expect(await running.baton.reloadKeys()).toBe(false);

    const keys = await jwks(running.url);
    expect(keys.keys).toHaveLength(4);
    const newToken = (await client.clientCredentialsGrant(service, { resource: ORDERS_API, scope: 'orders:read' })).access_token;
    const oldKid = decodeProtectedHeader(oldToken).kid;
    const newKid = decodeProtectedHeader(newToken).kid;
    expect(newKid).not.toBe(oldKid);
    expect(result.current.some((entry) => entry.endsWith(newKid!))).toBe(true);
    // The rotation is in the audit log (relative to the configuration file), kids only.
    const [rotated, ...rest] = readFileSync(join(dir.path, 'audit', 'keys.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rest).toEqual([]);
    expect(rotated).toMatchObject({ type: 'keys.rotated', kids: expect.arrayContaining([newKid]) });
    expect((rotated!.kids as string[])).toHaveLength(2);

    const set = createLocalJWKSet(keys);
    await expect(jwtVerify(oldToken, set, { issuer: running.url, audience: ORDERS_API })).resolves.toBeTruthy();
    await expect(jwtVerify(newToken, set, { issuer: running.url, audience: ORDERS_API })).resolves.toBeTruthy();
    await expect(jwtVerify(jwtBefore, set, { issuer: running.url, audience: ORDERS_API })).resolves.toBeTruthy();
  });

  it('refuses to start with a different master secret instead of replacing the keys', async () => {
    await baton?.stop();
    baton = undefined;
    await expect(startBaton({ ...standardConfig, storage: { type: 'sqlite', path: dbPath }, keys: { masterSecret: 'a-different-master-secret-0123456789' } }, { port })).rejects.toThrow(/wrong master secret/);
  });
});
