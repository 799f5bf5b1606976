// The store-backed attempt counter (src/storage/attempt-counter.ts) on every backend: fixed windows
// that expire with the store's records, hashed record ids (no username or address in clear in the
// store), and concurrent increments over two connections: exact up to the compare-and-set bound,
// and precisely accounted for (recorded or reported as not) beyond it.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { AttemptCounter, DEFAULT_MAX_TRIES, type AttemptWindow } from '../../src/storage/attempt-counter.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.ts';
import { RedisStore } from '../../src/storage/redis/redis-store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Clock, Store } from '../../src/storage/store.ts';
import { POSTGRES_URL, dropSchema, requirePostgres, uniqueSchema, withClient } from './postgres-fixture.ts';
import { REDIS_URL, dropPrefix, requireRedis, uniquePrefix, withRedis } from './redis-fixture.ts';

interface Backend {
  /** Two connections to the same data (the same store twice where there is only one). */
  readonly stores: readonly [Store, Store];
  /** Every record id and value as the backend holds them, to look for personal data in clear. */
  readonly raw?: () => Promise<string>;
  readonly cleanup: () => Promise<void>;
}

/** 2030-01-01T00:00:00.400Z: sub-second, so the whole-second expiry has to round up. */
const T0 = Date.UTC(2030, 0, 1) + 400;
const WINDOW_MS = 60_000;
const RACERS = 50;
const KIND = 'attempts:test';
const KEY = ['legacy-app', 'alice@example.com', '203.0.113.9'];

function describeCounter(name: string, open: (clock: Clock) => Promise<Backend>): void {
  describe(`AttemptCounter on ${name}`, () => {
    let now = T0;
    const clock: Clock = () => now;
    const advance = (ms: number) => {
      now += ms;
    };
    let backend: Backend;
    const counter = (store: Store, maxTries?: number) => new AttemptCounter({ store, kind: KIND, windowMs: WINDOW_MS, clock, maxTries });

    beforeEach(async () => {
      now = T0;
      backend = await open(clock);
    });
    afterEach(() => backend.cleanup());

    it('counts within a window, and a window that ended starts again at 1', async () => {
      const attempts = counter(backend.stores[0]);
      expect(await attempts.count(KEY)).toBe(0);
      expect(await attempts.increment(KEY)).toStrictEqual({ count: 1, resetAt: T0 + WINDOW_MS, recorded: true });
      advance(30_000);
      expect(await attempts.increment(KEY)).toStrictEqual({ count: 2, resetAt: T0 + WINDOW_MS, recorded: true });
      expect(await counter(backend.stores[1]).count(KEY)).toBe(2);

      // 60.0 s after the first attempt: the window is over, though the record (whole seconds) may linger.
      advance(30_000);
      expect(await attempts.count(KEY)).toBe(0);
      expect(await attempts.increment(KEY)).toStrictEqual({ count: 1, resetAt: now + WINDOW_MS, recorded: true });
    });

    it('records expire with their window, and keys are told apart by every part', async () => {
      const attempts = counter(backend.stores[0]);
      await attempts.increment(['a', 'bc']);
      await attempts.increment(['a', 'bc']);
      expect(await attempts.count(['ab', 'c'])).toBe(0);
      advance(WINDOW_MS);
      expect(await backend.stores[0].getRecord(KIND, hashed(['a', 'bc']))).toBeUndefined();
    });

    it('reset forgets a key and no other', async () => {
      const attempts = counter(backend.stores[0]);
      await attempts.increment(KEY);
      await attempts.increment(['someone else']);
      await attempts.reset(KEY);
      expect(await attempts.count(KEY)).toBe(0);
      expect(await attempts.count(['someone else'])).toBe(1);
    });

    it('the record id is the SHA-256 of the key: no username or address in clear in the store', async () => {
      await counter(backend.stores[0]).increment(KEY);
      expect(await backend.stores[1].getRecord(KIND, hashed(KEY))).toStrictEqual({ value: { start: T0, count: 1 }, version: 1 });
      if (backend.raw) {
        const raw = await backend.raw();
        expect(raw).toContain(hashed(KEY));
        expect(raw).not.toMatch(/alice|203\.0\.113\.9/);
      }
    });

    it(`${RACERS} concurrent increments over two connections, with the bound at ${RACERS} tries: exactly ${RACERS}, counts 1..${RACERS}`, async () => {
      const windows = await race(backend.stores, RACERS);
      expect(windows.every((w) => w.recorded)).toBe(true);
      expect(windows.map((w) => w.count).sort((x, y) => x - y)).toStrictEqual(Array.from({ length: RACERS }, (_, i) => i + 1));
      expect(await counter(backend.stores[0]).count(KEY)).toBe(RACERS);
    });

    it(`${RACERS} concurrent increments with the default bound (${DEFAULT_MAX_TRIES} tries): every one settles; the recorded ones are exactly the stored count`, async () => {
      const windows = await race(backend.stores);
      const recorded = windows.filter((w) => w.recorded).map((w) => w.count).sort((x, y) => x - y);
      const stored = await counter(backend.stores[0]).count(KEY);
      expect(windows).toHaveLength(RACERS);
      expect(stored).toBeGreaterThanOrEqual(DEFAULT_MAX_TRIES);
      expect(recorded).toStrictEqual(Array.from({ length: stored }, (_, i) => i + 1));
      // An increment that lost every try reports one more than the last count it saw, not stored.
      for (const w of windows.filter((x) => !x.recorded)) expect(w.count).toBeGreaterThanOrEqual(DEFAULT_MAX_TRIES);
    });

    it('a store that fails makes increment reject (the limited request fails closed)', async () => {
      const attempts = counter(backend.stores[0]);
      await backend.stores[0].close();
      await expect(attempts.increment(KEY)).rejects.toThrow();
    });

    function race(stores: readonly Store[], maxTries?: number): Promise<AttemptWindow[]> {
      const counters = stores.map((s) => counter(s, maxTries));
      return Promise.all(Array.from({ length: RACERS }, (_, i) => counters[i % counters.length]!.increment(KEY)));
    }
  });
}

function hashed(key: readonly string[]): string {
  return createHash('sha256').update(key.join('\u0000')).digest('base64url');
}

describeCounter('memory', async (clock) => {
  const store = new MemoryStore({ clock });
  return { stores: [store, store], cleanup: () => store.close() };
});

describeCounter('sqlite', async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-attempts-'));
  const path = join(dir, 'baton.db');
  const stores = [new SqliteStore({ path, clock }), new SqliteStore({ path, clock })] as const;
  return {
    stores,
    raw: async () => {
      const db = new Database(path, { readonly: true });
      try {
        return JSON.stringify(db.prepare('SELECT kind, id, value FROM baton_records').all());
      } finally {
        db.close();
      }
    },
    cleanup: async () => {
      for (const store of stores) await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeCounter('postgres', async (clock) => {
  await requirePostgres();
  const schema = uniqueSchema('attempts');
  const connect = () => new PostgresStore({ url: POSTGRES_URL, schema, poolSize: 4, timeout: 5, clock });
  const stores = [connect(), connect()] as const;
  return {
    stores,
    raw: async () => JSON.stringify((await withClient((c) => c.query(`SELECT kind, id, value FROM "${schema}".baton_records`))).rows),
    cleanup: async () => {
      for (const store of stores) await store.close();
      await dropSchema(schema);
    },
  };
});

describeCounter('redis', async (clock) => {
  await requireRedis();
  const keyPrefix = uniquePrefix();
  const connect = () => new RedisStore({ url: REDIS_URL, keyPrefix, timeout: 5, clock });
  const stores = [connect(), connect()] as const;
  return {
    stores,
    raw: () => withRedis(async (redis) => {
      const [, keys] = await redis.scan('0', 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
      const values = await Promise.all(keys.map(async (k) => ((await redis.type(k)) === 'hash' ? redis.hgetall(k) : redis.zrange(k, 0, -1))));
      return JSON.stringify({ keys, values });
    }),
    cleanup: async () => {
      for (const store of stores) await store.close();
      await dropPrefix(keyPrefix);
    },
  };
});
