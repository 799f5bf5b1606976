// Shared PostgreSQL test fixture: the server URL, a reachability check that fails loudly (these tests
// never skip), and throwaway schemas. Override the URL with BATON_TEST_POSTGRES_URL.
import { randomBytes } from 'node:crypto';

import pg from 'pg';

export const POSTGRES_URL = process.env.BATON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<void> | undefined;

/** Rejects with how to start the server when PostgreSQL is not reachable (checked once per process). */
export function requirePostgres(): Promise<void> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
    } catch (error) {
      throw new Error(
        `PostgreSQL is not reachable at ${POSTGRES_URL} (${error instanceof Error ? error.message : String(error)}). ` +
          'These tests require it; start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start ' +
          '(or point BATON_TEST_POSTGRES_URL at a server).',
      );
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/** A fresh, unused schema name such as `conf_1a2b3c4d5e6f`. */
export function uniqueSchema(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Runs statements on a short-lived connection of its own (to the test server unless `url` says otherwise). */
export async function withClient<T>(run: (client: pg.Client) => Promise<T>, url = POSTGRES_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops `schema` and everything in it; the one clean-up of PostgreSQL schemas for tests and benchmarks. */
export async function dropSchema(schema: string, url = POSTGRES_URL): Promise<void> {
  await withClient((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`), url);
}
