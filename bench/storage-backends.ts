// The four storage backends of bench/storage.ts, each with a throwaway place of its own: a temp
// SQLite file, a unique PostgreSQL schema, a unique Redis key prefix. `cleanup()` removes them once the
// Baton children are stopped, with the same schema and key-prefix clean-up the conformance tests use.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { dropSchema, withClient } from '../test/conformance/postgres-fixture.ts';
import { dropPrefix, withRedis } from '../test/conformance/redis-fixture.ts';

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
    await withClient((client) => client.query('SELECT 1'), POSTGRES_URL).catch((err: unknown) => {
      throw new Error(`PostgreSQL is not reachable at ${POSTGRES_URL}: ${err instanceof Error ? err.message : String(err)}`);
    });
    await withRedis((redis) => redis.ping(), REDIS_URL).catch((err: unknown) => {
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
    for (const schema of this.#schemas) await attempt(`dropping schema ${schema}`, () => dropSchema(schema, POSTGRES_URL));
    for (const prefix of this.#prefixes) await attempt(`deleting keys under ${prefix}`, () => dropPrefix(prefix, REDIS_URL));
    for (const dir of this.#tempDirs) await attempt(`removing ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    this.#schemas.length = 0;
    this.#prefixes.length = 0;
    this.#tempDirs.length = 0;
    return problems;
  }
}
