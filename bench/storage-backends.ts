// The four storage backends of bench/storage.ts, each with a throwaway place of its own: a temp
// SQLite file, a unique PostgreSQL schema, a unique Redis key prefix. `cleanup()` removes them
// (DROP SCHEMA ... CASCADE, SCAN + DEL, rm) once the Baton children are stopped.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import pg from 'pg';

export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Backend { name: string; storage: Record<string, unknown> }

export class BackendPlaces {
  readonly #tempDirs: string[] = [];
  readonly #schemas: string[] = [];
  readonly #prefixes: string[] = [];
  readonly #tag = randomBytes(5).toString('hex');

  /** sqlite, postgres, redis, split (redis + postgres), in that order. */
  backends(): Backend[] {
    return [
      { name: 'sqlite', storage: { type: 'sqlite', path: join(this.tempDir('baton-bench-sqlite-'), 'baton.db') } },
      { name: 'postgres', storage: this.#postgres('pg') },
      { name: 'redis', storage: this.#redis('redis') },
      { name: 'split', storage: { type: 'split', durable: this.#postgres('split'), shortLived: this.#redis('split') } },
    ];
  }

  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.#tempDirs.push(dir);
    return dir;
  }

  #postgres(label: string): Record<string, unknown> {
    const schema = `bench_${label}_${this.#tag}`;
    this.#schemas.push(schema);
    return { type: 'postgres', url: POSTGRES_URL, schema };
  }

  #redis(label: string): Record<string, unknown> {
    const keyPrefix = `baton-bench:${this.#tag}:${label}:`;
    this.#prefixes.push(keyPrefix);
    return { type: 'redis', url: REDIS_URL, keyPrefix };
  }

  /** Fails loudly, before any child starts, when PostgreSQL or Redis is not reachable. */
  async check(): Promise<void> {
    await withPostgres((client) => client.query('SELECT 1')).catch((err: unknown) => {
      throw new Error(`PostgreSQL is not reachable at ${POSTGRES_URL}: ${err instanceof Error ? err.message : String(err)}`);
    });
    await withRedis((redis) => redis.ping()).catch((err: unknown) => {
      throw new Error(`Redis is not reachable at ${REDIS_URL}: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /** Removes every schema, key prefix and temp directory; reports what could not be removed. */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    const attempt = async (what: string, action: () => unknown) => {
      try {
        await action();
      } catch (err) {
        problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    if (this.#schemas.length > 0) {
      await attempt(`dropping schemas ${this.#schemas.join(', ')}`, () => withPostgres(async (client) => {
        for (const schema of this.#schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      }));
    }
    if (this.#prefixes.length > 0) {
      await attempt(`deleting keys under ${this.#prefixes.join(', ')}`, () => withRedis(async (redis) => {
        for (const prefix of this.#prefixes) await deletePrefix(redis, prefix);
      }));
    }
    for (const dir of this.#tempDirs) await attempt(`removing ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    this.#schemas.length = 0;
    this.#prefixes.length = 0;
    this.#tempDirs.length = 0;
    return problems;
  }
}

async function withPostgres<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function withRedis<T>(run: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, commandTimeout: 10_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause: Error | undefined;
  redis.on('error', (err: Error) => {
    cause ??= err;
  });
  try {
    await redis.connect().catch((err: unknown) => {
      throw cause ?? err;
    });
    return await run(redis);
  } finally {
    redis.disconnect();
  }
}

/** SCAN + DEL (never KEYS or FLUSHDB: the server is shared). The prefix has no glob characters. */
async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
