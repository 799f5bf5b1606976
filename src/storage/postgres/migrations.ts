// Versioned schema of the PostgreSQL backend, kept in its own SQL schema. Append new migrations;
// never edit an applied one. Concurrent starters serialise on a transaction-level advisory lock.
import type pg from 'pg';
import { drivers } from '../drivers.ts';

interface Migration {
  readonly version: number;
  readonly name: string;
  /** The statements, given the quoted schema name to qualify every object with. */
  readonly sql: (schema: string) => string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'models and records',
    sql: (s) => `
      CREATE TABLE ${s}.oidc_models (
        model       TEXT   NOT NULL,
        id          TEXT   NOT NULL,
        payload     TEXT   NOT NULL,
        grant_id    TEXT,
        uid         TEXT,
        user_code   TEXT,
        consumed_at BIGINT,
        expires_at  BIGINT,
        PRIMARY KEY (model, id)
      );
      CREATE INDEX oidc_models_grant_id  ON ${s}.oidc_models (model, grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX oidc_models_uid       ON ${s}.oidc_models (model, uid) WHERE uid IS NOT NULL;
      CREATE INDEX oidc_models_user_code ON ${s}.oidc_models (model, user_code) WHERE user_code IS NOT NULL;
      CREATE INDEX oidc_models_expires   ON ${s}.oidc_models (expires_at) WHERE expires_at IS NOT NULL;

      CREATE TABLE ${s}.baton_records (
        kind       TEXT    NOT NULL,
        id         TEXT    NOT NULL,
        value      TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        expires_at BIGINT,
        PRIMARY KEY (kind, id)
      );
      CREATE INDEX baton_records_expires ON ${s}.baton_records (expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** Same rule as the `storage.schema` configuration setting. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Advisory lock namespace ("BATN"); the second key is a hash of the schema name. */
const LOCK_CLASS = 0x4241544e;

/** Validates a schema name and returns it quoted for use in SQL text. */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)}: must be a lowercase SQL identifier`);
  return `"${schema}"`;
}

/**
 * Applies pending migrations to `schema` in one transaction under an advisory lock, so instances
 * starting together do not race. Refuses a schema newer than this code. Returns the versions applied.
 */
export async function migrate(client: pg.ClientBase, schema: string, now: number): Promise<number[]> {
  const s = quoteSchema(schema);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [LOCK_CLASS, schema]);
    // Checked first, so a role without CREATE on the database can use a schema prepared for it.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    const table = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [`${s}.schema_migrations`]);
    if (!table.rows[0]?.found) {
      await client.query(`CREATE TABLE ${s}.schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    }
    const row = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${s}.schema_migrations`);
    const current = row.rows[0]?.version ?? 0;
    if (current > LATEST_VERSION) {
      throw new Error(`database schema version ${current} is newer than this Baton (${LATEST_VERSION}); upgrade Baton`);
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      await client.query(migration.sql(s));
      await client.query(`INSERT INTO ${s}.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [migration.version, migration.name, Math.floor(now)]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export interface MigratePostgresOptions {
  /** Seconds to wait for the connection; statements are not bounded (a migration may be long). */
  readonly timeout?: number;
  readonly now?: number;
}

/** Connects once, applies pending migrations to `schema` and disconnects: for `baton migrate`. */
export async function migratePostgres(url: string, schema: string, options: MigratePostgresOptions = {}): Promise<number[]> {
  quoteSchema(schema);
  const client = new (drivers.pg().Client)({ connectionString: url, connectionTimeoutMillis: (options.timeout ?? 30) * 1000, application_name: 'baton migrate' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await migrate(client, schema, options.now ?? Date.now());
  } finally {
    await client.end().catch(() => undefined);
  }
}
