// Opens the store the configuration names.
import type { BatonConfig } from '../config/schema.ts';
import { MemoryStore } from './memory/memory-store.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import type { Clock, Store } from './store.ts';

export type { Store, ModelPayload, StoredRecord, PutRecordOptions, Clock } from './store.ts';

export function openStore(storage: BatonConfig['storage'], options: { clock?: Clock } = {}): Store {
  switch (storage.type) {
    case 'memory':
      return new MemoryStore(options);
    case 'sqlite':
      return new SqliteStore({ path: storage.path, ...options });
    default:
      throw new Error(`storage type ${storage.type} is not available in this build`);
  }
}
