// Opens the store the configuration names.
import type { BatonConfig } from '../config/schema.ts';
import { MemoryStore } from './memory/memory-store.ts';
import { RedisStore } from './redis/redis-store.ts';
import { SplitStore } from './split/split-store.ts';
import { PostgresStore } from './postgres/postgres-store.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import type { Clock, Store } from './store.ts';

export type { Store, ModelPayload, StoredRecord, PutRecordOptions, Clock } from './store.ts';

export function openStore(storage: BatonConfig['storage'], options: { clock?: Clock } = {}): Store {
  switch (storage.type) {
    case 'memory':
      return new MemoryStore(options);
    case 'sqlite':
      return new SqliteStore({ path: storage.path, ...options });
    case 'redis':
      return new RedisStore({ url: storage.url, keyPrefix: storage.keyPrefix, timeout: storage.timeout, ...options });
    case 'split':
      // Durable side first: it is the one that can refuse to open (e.g. a newer schema).
      return new SplitStore({ durable: openStore(storage.durable, options), shortLived: openStore(storage.shortLived, options) });
    case 'postgres':
      return new PostgresStore({ url: storage.url, schema: storage.schema, poolSize: storage.poolSize, timeout: storage.timeout, ...options });
    default:
      throw new Error(`storage type ${(storage as { type: string }).type} is not available in this build`);
  }
}
