// Runs the storage conformance suite against every backend, plus the SQLite-only schema checks
// (idempotent migrations, refusal of a newer schema, concurrent first starts on a fresh file).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openStore } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.ts';
import { MIGRATIONS, migrate } from '../../src/storage/sqlite/migrations.ts';
import { RedisStore } from '../../src/storage/redis/redis-store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Clock, Store } from '../../src/storage/store.ts';
import { POSTGRES_URL, dropSchema, requirePostgres, uniqueSchema } from './postgres-fixture.ts';
import { type StorageConfig, raceAcrossProcesses } from './process-race.ts';
import { postgresContents, redisContents, sqliteContents } from './raw-contents.ts';
import { REDIS_URL, dropPrefix, requireRedis, uniquePrefix } from './redis-fixture.ts';
import { PROCESS_RACE_TIMEOUT, describeStoreConformance } from './store-suite.ts';

describeStoreConformance('memory', async (clock) => {
  const store = new MemoryStore({ clock });
  return { store, cleanup: () => store.close() };
});

describeStoreConformance('sqlite', async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-conformance-'));
  const path = join(dir, 'baton.db');
  const opened: SqliteStore[] = [];
  const openOne = async () => {
    const store = new SqliteStore({ path, clock });
    opened.push(store);
    return store;
  };
  return {
    store: await openOne(),
    reopen: openOne,
    connect: openOne,
    processConfig: { type: 'sqlite', path },
    raw: () => sqliteContents(path),
    cleanup: async () => {
      for (const store of opened) await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/**
 * A store on a shared server: every opened connection is closed afterwards and the store's own
 * namespace (schema, key prefix) dropped. Reopening and a second connection are new connections.
 */
async function sharedServerStore<C>(config: C, open: (config: C) => Store, drop: () => Promise<void>, raw: () => Promise<string>) {
  const opened: Store[] = [];
  const openOne = async () => {
    const store = open(config);
    opened.push(store);
    return store;
  };
  return {
    store: await openOne(),
    reopen: openOne,
    connect: openOne,
    processConfig: config,
    raw,
    cleanup: async () => {
      for (const store of opened) await store.close();
      await drop();
    },
  };
}

// A schema of its own per opened store, dropped afterwards. Fails (never skips) without a server.
describeStoreConformance('postgres', async (clock) => {
  await requirePostgres();
  const config = { type: 'postgres', url: POSTGRES_URL, schema: uniqueSchema('conf'), poolSize: 4, timeout: 5 } as const;
  return sharedServerStore(config, (c) => new PostgresStore({ ...c, clock }), () => dropSchema(config.schema), () => postgresContents(config.schema));
});

// A key prefix of its own per opened store, deleted afterwards (SCAN + DEL). Fails (never skips) without a server.
describeStoreConformance('redis', async (clock) => {
  await requireRedis();
  const config = { type: 'redis', url: REDIS_URL, keyPrefix: uniquePrefix(), timeout: 5 } as const;
  return sharedServerStore(config, (c) => new RedisStore({ ...c, clock }), () => dropPrefix(config.keyPrefix), () => redisContents(config.keyPrefix));
});

/** A split store over a fresh Redis prefix and the given durable side, opened through openStore() as in production. */
async function openSplit(clock: Clock, durable: Extract<StorageConfig, { type: 'split' }>['durable'], dropDurable: () => Promise<void>, durableContents: () => Promise<string>) {
  await requireRedis();
  const config: StorageConfig = { type: 'split', durable, shortLived: { type: 'redis', url: REDIS_URL, keyPrefix: uniquePrefix(), timeout: 5 } };
  const opened: Store[] = [];
  const openOne = async () => {
    const store = openStore(config, { clock });
    opened.push(store);
    return store;
  };
  return {
    store: await openOne(),
    reopen: openOne,
    connect: openOne,
    processConfig: config,
    raw: async () => `${await redisContents(config.shortLived.keyPrefix)}\n${await durableContents()}`,
    cleanup: async () => {
      for (const store of opened) await store.close();
      await dropPrefix(config.shortLived.keyPrefix);
      await dropDurable();
    },
  };
}

describeStoreConformance('split (redis + sqlite)', async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-conformance-'));
  const path = join(dir, 'baton.db');
  return openSplit(clock, { type: 'sqlite', path }, async () => rmSync(dir, { recursive: true, force: true }), () => sqliteContents(path));
});

describeStoreConformance('split (redis + postgres)', async (clock) => {
  await requirePostgres();
  const schema = uniqueSchema('split');
  return openSplit(clock, { type: 'postgres', url: POSTGRES_URL, schema, poolSize: 4, timeout: 5 }, () => dropSchema(schema), () => postgresContents(schema));
});

describe('SQLite schema', () => {
  const clock: Clock = () => Date.UTC(2030, 0, 1);
  const latest = MIGRATIONS.at(-1)!.version;
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'baton-schema-'));
    path = join(dir, 'baton.db');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function appliedVersions(): number[] {
    const db = new Database(path, { readonly: true });
    try {
      return (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
    } finally {
      db.close();
    }
  }

  it('reopening applies no migration twice and keeps the data', async () => {
    const first = new SqliteStore({ path, clock });
    await first.putRecord('keys', 'k', 'v');
    await first.close();
    for (let i = 0; i < 3; i += 1) {
      const again = new SqliteStore({ path, clock });
      expect(await again.getRecord('keys', 'k')).toStrictEqual({ value: 'v', version: 1 });
      await again.close();
    }
    expect(appliedVersions()).toStrictEqual(MIGRATIONS.map((m) => m.version));

    const db = new Database(path);
    try {
      expect(migrate(db, clock())).toStrictEqual([]);
    } finally {
      db.close();
    }
  });

  it('a database whose schema is newer than this Baton is refused with a clear error, and left untouched', async () => {
    const store = new SqliteStore({ path, clock });
    await store.putRecord('keys', 'k', 'v');
    await store.close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(latest + 1, 'from the future', clock());
    db.close();

    expect(() => new SqliteStore({ path, clock })).toThrow(`database schema version ${latest + 1} is newer than this Baton (${latest}); upgrade Baton`);

    // The refused open must not leave its connection behind: once every connection is closed,
    // SQLite checkpoints and deletes the WAL and shared-memory files.
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(existsSync(`${path}-shm`)).toBe(false);
    expect(appliedVersions()).toStrictEqual([...MIGRATIONS.map((m) => m.version), latest + 1]);
  });

  it('processes starting at once on a fresh file all open it, and each migration is applied once', async () => {
    const attempts = await raceAcrossProcesses({ config: { type: 'sqlite', path }, now: clock(), processes: 6, connectionsPerProcess: 2, op: { op: 'ping' } });
    expect(attempts).toHaveLength(12);
    expect(attempts.every((a) => a.won)).toBe(true);
    expect(appliedVersions()).toStrictEqual(MIGRATIONS.map((m) => m.version));
  }, PROCESS_RACE_TIMEOUT);
});
