// Shared Redis test fixture: the server URL, a reachability check that fails loudly (these tests never
// skip), and throwaway key prefixes. Override the URL with BATON_TEST_REDIS_URL.
import { randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';

export const REDIS_URL = process.env.BATON_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const START_HINT = 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log';

let reachable: Promise<void> | undefined;

/** Rejects with how to start the server when Redis is not reachable (checked once per process). */
export function requireRedis(): Promise<void> {
  reachable ??= withRedis((redis) => redis.ping()).then(
    () => undefined,
    (error: unknown) => {
      throw new Error(
        `Redis is not reachable at ${REDIS_URL} (${error instanceof Error ? error.message : String(error)}). ` +
          `These tests require it; start it with: ${START_HINT} (or point BATON_TEST_REDIS_URL at a server).`,
      );
    },
  );
  return reachable;
}

/** A fresh key prefix such as `baton-test:1a2b3c4d5e6f:` (no glob characters, so SCAN MATCH is exact). */
export function uniquePrefix(): string {
  return `baton-test:${randomBytes(6).toString('hex')}:`;
}

/** Runs commands on a short-lived client of its own that fails fast instead of retrying. */
export async function withRedis<T>(run: (redis: Redis) => Promise<T>, url = REDIS_URL): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 3000, commandTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause: Error | undefined;
  redis.on('error', (error: Error) => {
    cause ??= error;
  });
  try {
    await redis.connect().catch((error: unknown) => {
      throw cause ?? error;
    });
    return await run(redis);
  } finally {
    redis.disconnect();
  }
}

/**
 * Deletes every key under `prefix` (SCAN + DEL, never KEYS or FLUSHDB: the server may be shared); the one
 * clean-up of Redis key prefixes for tests and benchmarks.
 */
export async function dropPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  await withRedis(async (redis) => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }, url);
}

/** How many keys exist under `prefix`. */
export async function countKeys(prefix: string): Promise<number> {
  return withRedis(async (redis) => {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      count += keys.length;
      cursor = next;
    } while (cursor !== '0');
    return count;
  });
}
