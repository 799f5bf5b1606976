// PostgreSQL-only checks beyond the conformance suite: versioned migrations (idempotent, newer schema
// refused, concurrent first starts), prompt failures (no server, silent server, lock waits), batched collection.
import { type Server, type Socket, createServer } from 'node:net';

import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { LATEST_VERSION, MIGRATIONS, migratePostgres } from '../../src/storage/postgres/migrations.ts';
import { PostgresStore, type PostgresStoreOptions } from '../../src/storage/postgres/postgres-store.ts';
import { POSTGRES_URL, dropSchema, requirePostgres, uniqueSchema, withClient } from './postgres-fixture.ts';
import { raceAcrossProcesses } from './process-race.ts';
import { PROCESS_RACE_TIMEOUT } from './store-suite.ts';

const NOW = Date.UTC(2030, 0, 1);
const clock = () => NOW;
const REFUSED = `database schema version ${LATEST_VERSION + 1} is newer than this Baton (${LATEST_VERSION}); upgrade Baton`;

let schema: string;
const stores: PostgresStore[] = [];

function open(options: Partial<PostgresStoreOptions> = {}): PostgresStore {
  const store = new PostgresStore({ url: POSTGRES_URL, schema, poolSize: 3, timeout: 5, clock, ...options });
  stores.push(store);
  return store;
}

async function appliedVersions(): Promise<number[]> {
  const result = await withClient((c) => c.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`));
  return result.rows.map((r) => r.version);
}

/** Rejects unless `run` settles within `ms`; resolves with the rejection and the time it took. */
async function rejectsWithin(ms: number, run: () => Promise<unknown>): Promise<{ error: Error; elapsed: number }> {
  const started = Date.now();
  const error = await run().then(
    () => { throw new Error('expected a rejection'); },
    (e: unknown) => e as Error,
  );
  const elapsed = Date.now() - started;
  expect(elapsed).toBeLessThan(ms);
  return { error, elapsed };
}

// Every test fails (none skips) with how to start the server when PostgreSQL is not reachable.
beforeEach(async () => {
  schema = uniqueSchema('pgtest');
  await requirePostgres();
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const store of stores.splice(0)) await store.close();
  await requirePostgres().then(() => dropSchema(schema), () => undefined);
});

describe('PostgreSQL migrations', () => {
  it('are applied once, in the configured schema; migrating again or reopening applies nothing and keeps the data', async () => {
    expect(await migratePostgres(POSTGRES_URL, schema)).toStrictEqual(MIGRATIONS.map((m) => m.version));
    expect(await migratePostgres(POSTGRES_URL, schema)).toStrictEqual([]);
    const first = open();
    await first.putRecord('keys', 'k', 'v');
    await first.close();
    for (let i = 0; i < 3; i += 1) {
      const again = open();
      expect(await again.getRecord('keys', 'k')).toStrictEqual({ value: 'v', version: 1 });
      await again.close();
    }
    expect(await appliedVersions()).toStrictEqual(MIGRATIONS.map((m) => m.version));
    const tables = await withClient((c) => c.query<{ t: string }>('SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema]));
    expect(tables.rows.map((r) => r.t)).toStrictEqual(['baton_records', 'oidc_models', 'schema_migrations']);
  });

  it('a schema newer than this Baton is refused with a clear error on every call, and left untouched', async () => {
    const store = open();
    await store.putRecord('keys', 'k', 'v');
    await store.close();
    await withClient((c) => c.query(`INSERT INTO "${schema}".schema_migrations (version, name, applied_at) VALUES ($1, 'from the future', 0)`, [LATEST_VERSION + 1]));

    const refused = open();
    await expect(refused.ping()).rejects.toThrow(REFUSED);
    await expect(refused.find('Session', 's1')).rejects.toThrow(REFUSED);
    await expect(refused.putRecord('keys', 'k', 'w')).rejects.toThrow(REFUSED);
    await expect(migratePostgres(POSTGRES_URL, schema)).rejects.toThrow(REFUSED);
    expect(await appliedVersions()).toStrictEqual([...MIGRATIONS.map((m) => m.version), LATEST_VERSION + 1]);
    const kept = await withClient((c) => c.query(`SELECT value, version FROM "${schema}".baton_records`));
    expect(kept.rows).toStrictEqual([{ value: '"v"', version: 1 }]);
  });

  it('schema names are validated like the configuration does', async () => {
    expect(() => new PostgresStore({ url: POSTGRES_URL, schema: 'bad"; DROP SCHEMA public; --' })).toThrow(/invalid PostgreSQL schema name/);
    await expect(migratePostgres(POSTGRES_URL, 'Upper')).rejects.toThrow(/invalid PostgreSQL schema name/);
  });

  it('stores starting together on a fresh schema all open it, and each migration is applied once', async () => {
    const starters = Array.from({ length: 8 }, () => open());
    await Promise.all(starters.map((s) => s.ping()));
    expect(await appliedVersions()).toStrictEqual(MIGRATIONS.map((m) => m.version));
    expect(await Promise.all(starters.map((s, i) => s.putRecord('lock', 'l', i, { expectedVersion: 0 })))).toContain(true);
  });

  it('processes starting at once on a fresh schema all open it, and each migration is applied once', async () => {
    const config = { type: 'postgres', url: POSTGRES_URL, schema, poolSize: 2, timeout: 5 } as const;
    const attempts = await raceAcrossProcesses({ config, now: NOW, processes: 6, connectionsPerProcess: 2, op: { op: 'ping' } });
    expect(attempts).toHaveLength(12);
    expect(attempts.every((a) => a.won)).toBe(true);
    expect(await appliedVersions()).toStrictEqual(MIGRATIONS.map((m) => m.version));
  }, PROCESS_RACE_TIMEOUT);
});

describe('PostgreSQL failures reject promptly', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  /** A local TCP server: `silent` accepts connections and never answers; otherwise it is closed again, leaving the port free. */
  async function listen(silent: boolean): Promise<number> {
    const s = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address() as { port: number };
    if (silent) server = s;
    else await new Promise((resolve) => s.close(resolve));
    return port;
  }

  it('a closed port: ping and find reject within the timeout, and close still resolves', async () => {
    const port = await listen(false);
    const store = open({ url: `postgres://postgres@127.0.0.1:${port}/test`, timeout: 1 });
    expect((await rejectsWithin(1500, () => store.ping())).error.message).toMatch(/ECONNREFUSED|connect/);
    await rejectsWithin(1500, () => store.find('Session', 's1'));
    await store.close();
  });

  it('a server that accepts but never answers: ping, find and consume reject after about the timeout', async () => {
    const port = await listen(true);
    const store = open({ url: `postgres://postgres@127.0.0.1:${port}/test`, timeout: 1 });
    const { error, elapsed } = await rejectsWithin(2500, () => store.ping());
    expect(error.message).toMatch(/timeout/i);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    await Promise.all([rejectsWithin(2500, () => store.find('Session', 's1')), rejectsWithin(2500, () => store.consume('AuthorizationCode', 'c1'))]);
  });

  it('a statement stuck behind another transaction\'s lock is cancelled after the timeout; the store keeps working', async () => {
    const store = open({ timeout: 1 });
    await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
    await withClient(async (c) => {
      await c.query('BEGIN');
      await c.query(`SELECT 1 FROM "${schema}".oidc_models WHERE id = 'c1' FOR UPDATE`);
      const { error } = await rejectsWithin(2500, () => store.consume('AuthorizationCode', 'c1'));
      expect(error.message).toMatch(/timeout/i);
      await c.query('ROLLBACK');
    });
    expect(await store.consume('AuthorizationCode', 'c1')).toBe(true);
  });

  it('close is idempotent and later calls reject', async () => {
    const store = open();
    await store.ping();
    await Promise.all([store.close(), store.close()]);
    await store.close();
    await expect(store.ping()).rejects.toThrow('store is closed');
  });
});

describe('PostgreSQL collectExpired', () => {
  async function seedExpired(models: number, records: number): Promise<void> {
    await withClient(async (c) => {
      await c.query(`INSERT INTO "${schema}".oidc_models (model, id, payload, expires_at) SELECT 'AccessToken', 'at-' || g, '{}', $1 FROM generate_series(1, $2) g`, [NOW - 1000, models]);
      await c.query(`INSERT INTO "${schema}".baton_records (kind, id, value, version, expires_at) SELECT 'replay', 'r-' || g, 'null', 1, $1 FROM generate_series(1, $2) g`, [NOW, records]);
    });
  }

  it('removes more than one batch of expired rows, 500 at a time, and keeps live ones', async () => {
    const store = open();
    await store.upsert('Grant', 'forever', { accountId: 'alice' });
    await store.upsert('AccessToken', 'live', { grantId: 'g1' }, 60);
    await store.putRecord('replay', 'live', 1, { expiresIn: 60 });
    await seedExpired(1234, 600);

    const query = vi.spyOn(pg.Pool.prototype, 'query');
    expect(await store.collectExpired()).toBe(1834);
    const deletes = query.mock.calls.map((call) => String(call[0])).filter((text) => text.startsWith('DELETE'));
    expect(deletes).toHaveLength(3 + 2); // models: 500 + 500 + 234; records: 500 + 100
    expect(deletes.every((text) => text.includes('LIMIT 500'))).toBe(true);

    expect(await store.collectExpired()).toBe(0);
    const left = await withClient((c) => c.query(`SELECT (SELECT count(*) FROM "${schema}".oidc_models)::int AS models, (SELECT count(*) FROM "${schema}".baton_records)::int AS records`));
    expect(left.rows[0]).toStrictEqual({ models: 2, records: 1 });
    expect(await store.find('AccessToken', 'live')).toStrictEqual({ grantId: 'g1' });
  });

  it('skips expired rows another transaction holds instead of waiting, and collects them later', async () => {
    const store = open({ timeout: 2 });
    await store.ping();
    await seedExpired(10, 0);
    await withClient(async (c) => {
      await c.query('BEGIN');
      await c.query(`SELECT 1 FROM "${schema}".oidc_models WHERE id = 'at-3' FOR UPDATE`);
      const started = Date.now();
      expect(await store.collectExpired()).toBe(9);
      expect(Date.now() - started).toBeLessThan(1000);
      await c.query('ROLLBACK');
    });
    expect(await store.collectExpired()).toBe(1);
  });
});
