// What a stolen copy of each backend's data shows: every row or key and value as sorted text, read
// beside the Store (SQL SELECT, Redis SCAN), for the tests proving no token value is stored.
import Database from 'better-sqlite3';

import { withClient } from './postgres-fixture.ts';
import { withRedis } from './redis-fixture.ts';

export function sqliteContents(path: string): Promise<string> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = [
      ...db.prepare('SELECT * FROM oidc_models').all(),
      ...db.prepare('SELECT * FROM baton_records').all(),
    ];
    return Promise.resolve(rows.map((row) => JSON.stringify(row)).sort().join('\n'));
  } finally {
    db.close();
  }
}

export async function postgresContents(schema: string): Promise<string> {
  return withClient(async (client) => {
    const rows = [
      ...(await client.query(`SELECT * FROM "${schema}".oidc_models`)).rows,
      ...(await client.query(`SELECT * FROM "${schema}".baton_records`)).rows,
    ];
    return rows.map((row) => JSON.stringify(row)).sort().join('\n');
  });
}

/** Every key under the prefix with its value (hash fields, set members, string), TTLs left out. */
export async function redisContents(prefix: string): Promise<string> {
  return withRedis(async (redis) => {
    const lines: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          // Field order of a hash is not stable: Redis' incremental rehashing reorders it on reads.
          type === 'hash' ? Object.fromEntries(Object.entries(await redis.hgetall(key)).sort(([a], [b]) => (a < b ? -1 : 1)))
            : type === 'set' ? (await redis.smembers(key)).sort()
              : type === 'zset' ? await redis.zrange(key, 0, -1)
                : type === 'string' ? await redis.get(key)
                  : type;
        lines.push(`${key} ${JSON.stringify(value)}`);
      }
    } while (cursor !== '0');
    return [...new Set(lines)].sort().join('\n');
  });
}
