// Data files on disk are Baton's user's alone: a listening Baton on SQLite (development mode, so it also
// writes its generated master secret) creates the database, its -wal and -shm files and the secret 0600,
// and the directories it creates 0700; an existing directory keeps its mode, an existing database file
// loses world access.
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as client from 'openid-client';
import { afterEach, describe, expect, it } from 'vitest';

import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { ORDERS_API, standardConfig } from '../fixtures/standard.ts';
import { scratchDir, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { discover } from '../helpers/rp.ts';

const mode = (path: string) => statSync(path).mode & 0o777;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function scratch(): string {
  const dir = scratchDir();
  cleanups.push(dir.remove);
  return dir.path;
}

describe('data file modes', () => {
  it('a fresh Baton creates its database, -wal, -shm and development secret 0600 in 0700 directories', async () => {
    const root = join(scratch(), 'existing');
    mkdirSync(root);
    chmodSync(root, 0o755);
    const dbPath = join(root, 'state', 'baton', 'baton.db');
    const baton: RunningBaton = await startBaton({ ...standardConfig, development: true, keys: {}, storage: { type: 'sqlite', path: dbPath } });
    cleanups.push(() => baton.stop());
    // Some writes while the connection is open, so the WAL and shared-memory files exist.
    const rp = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
    await client.clientCredentialsGrant(rp, { resource: ORDERS_API });

    for (const file of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, join(root, 'state', 'baton', 'dev-master-secret')]) {
      expect(existsSync(file), file).toBe(true);
      expect(mode(file).toString(8), file).toBe('600');
    }
    expect(mode(join(root, 'state', 'baton')).toString(8)).toBe('700');
    expect(mode(join(root, 'state')).toString(8)).toBe('700');
    expect(mode(root).toString(8)).toBe('755'); // existed before: not Baton's to change
  });

  it('an existing directory keeps its mode; an existing world-readable database loses world access', async () => {
    const dir = join(scratch(), 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const dbPath = join(dir, 'baton.db');
    writeFileSync(dbPath, '');
    chmodSync(dbPath, 0o644);

    const store = new SqliteStore({ path: dbPath });
    cleanups.push(() => store.close());
    await store.upsert('Grant', 'g1', { accountId: 'alice' });

    expect(mode(dir).toString(8)).toBe('755');
    expect(mode(dbPath).toString(8)).toBe('640');
    expect(mode(`${dbPath}-wal`).toString(8)).toBe('640');
  });
});
