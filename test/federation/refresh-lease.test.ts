// The two mechanisms behind one upstream refresh per upstream session, on every backend: the lease
// (one holder at a time, an expired lease can be taken over, a failed holder tells its waiters) and
// the fence on the vault entry (a holder that read an older version cannot overwrite a newer token).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { deriveKey } from '../../src/keys/seal.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.ts';
import { RedisStore } from '../../src/storage/redis/redis-store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { RefreshLeases } from '../../src/upstream/refresh-lease.ts';
import { UpstreamVault, type VaultEntry } from '../../src/upstream/vault.ts';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';

const key = deriveKey('lease-test-master-secret-0123456789abc', 'upstream-vault');
const entry = (accessToken: string): VaultEntry => ({ upstream: 'corp', tokens: { accessToken, refreshToken: `rt-${accessToken}`, expiresAt: 2_000_000_000 }, refreshedAt: 1_900_000_000 });

const dir = mkdtempSync(join(tmpdir(), 'baton-lease-'));
const schema = uniqueSchema('lease');
const prefix = uniquePrefix();
const opened: Store[] = [];
afterAll(async () => {
  for (const store of opened) await store.close();
  await Promise.all([dropSchema(schema).catch(() => undefined), dropPrefix(prefix).catch(() => undefined)]);
  rmSync(dir, { recursive: true, force: true });
});

const backends: Array<[string, () => Promise<Store>]> = [
  ['memory', async () => new MemoryStore()],
  ['sqlite', async () => new SqliteStore({ path: join(dir, 'lease.db') })],
  ['postgres', async () => { await requirePostgres(); return new PostgresStore({ url: POSTGRES_URL, schema, poolSize: 4, timeout: 5 }); }],
  ['redis', async () => { await requireRedis(); return new RedisStore({ url: REDIS_URL, keyPrefix: prefix, timeout: 5 }); }],
];

describe.each(backends)('%s', (_name, open) => {
  const store = async () => {
    const s = await open();
    opened.push(s);
    return s;
  };

  it('of many concurrent attempts exactly one takes the lease; the others see it busy', async () => {
    const leases = new RefreshLeases(await store());
    const session = `session-${Math.random()}`;
    const states = await Promise.all(Array.from({ length: 20 }, () => leases.acquire(session, 30)));
    expect(states.filter((s) => s.kind === 'held')).toHaveLength(1);
    expect(states.filter((s) => s.kind === 'busy')).toHaveLength(19);
  });

  it('a released lease can be taken again; an expired one is taken over', async () => {
    const leases = new RefreshLeases(await store());
    const session = `session-${Math.random()}`;
    const first = await leases.acquire(session, 30);
    if (first.kind !== 'held') throw new Error('expected the lease');
    await first.lease.release();
    expect((await leases.acquire(session, 1)).kind).toBe('held');
    // A holder that stalls: its one-second lease runs out and another instance takes over.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await leases.acquire(session, 30)).kind).toBe('held');
  });

  it('a holder whose upstream call failed tells the waiters why, for a short while', async () => {
    const leases = new RefreshLeases(await store());
    const session = `session-${Math.random()}`;
    const held = await leases.acquire(session, 30);
    if (held.kind !== 'held') throw new Error('expected the lease');
    await held.lease.fail('unreachable', 1);
    expect(await leases.acquire(session, 30)).toEqual({ kind: 'busy', failed: 'unreachable' });
    expect(await leases.state(session)).toEqual({ held: true, failed: 'unreachable' });
  });

  it('fencing: a write against the version read is refused once a newer token was stored, and the newer one stands', async () => {
    const vault = new UpstreamVault(await store(), key, 3600);
    const grant = `grant-${Math.random()}`;
    await vault.put(grant, entry('signed-in'));
    const stalled = await vault.read(grant);
    const current = await vault.read(grant);
    expect(await vault.put(grant, entry('newer'), current!.version)).toBe(true);
    // The stalled holder comes back with its (older) refresh result.
    expect(await vault.put(grant, entry('stale'), stalled!.version)).toBe(false);
    expect((await vault.get(grant))?.tokens.accessToken).toBe('newer');
  });
});
