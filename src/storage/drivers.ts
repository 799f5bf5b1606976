// The database drivers, loaded when a store of their kind is opened, not when Baton starts: an
// instance on one backend never holds the others (ioredis and pg alone weigh ~40 MiB of RSS). All
// three are CommonJS, so they load synchronously and openStore() stays synchronous.
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export const drivers = {
  ioredis: (): typeof import('ioredis') => load('ioredis') as typeof import('ioredis'),
  pg: (): typeof import('pg').default => load('pg') as typeof import('pg').default,
  betterSqlite3: (): typeof import('better-sqlite3') => load('better-sqlite3') as typeof import('better-sqlite3'),
};
