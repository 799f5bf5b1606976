// Decision traces expire on every backend: written through TraceStore with a 1 s ttl, one by one
// (put), batched (enqueue, then flush) or in pages, readable at once, gone after it; the first trace
// under a request id stays (a second write is refused).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { TraceRecorder } from '../../src/explain/recorder.ts';
import { TraceStore } from '../../src/explain/store.ts';
import { MIN_PAGE, pageWindow, TRACE_PAGE_KIND } from '../../src/explain/trace-pages.ts';
import { storedTraces } from '../../src/explain/trace-source.ts';
import { TRACE_BODY_KIND, TRACE_VERSION, type DecisionTrace } from '../../src/explain/trace.ts';
import { newRequestId } from '../../src/observability/request-log.ts';
import { openStore } from '../../src/storage/index.ts';
import type { Store } from '../../src/storage/store.ts';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'baton-trace-expiry-'));
const schema = uniqueSchema('traces');
const keyPrefix = uniquePrefix();
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(schema).catch(() => undefined);
  await dropPrefix(keyPrefix).catch(() => undefined);
});

const trace = (requestId: string, clientId: string): DecisionTrace => ({
  v: TRACE_VERSION, requestId, at: Date.now(),
  request: { endpoint: 'token', clientId, grantType: 'client_credentials', resources: [], scopes: ['orders:read'] },
  steps: [], result: { outcome: 'issued', scopes: [{ scope: 'orders:read', granted: true, by: 'client' }], claims: [] },
});

const backends: Array<[string, () => Promise<Store>]> = [
  ['memory', async () => openStore({ type: 'memory' })],
  ['sqlite', async () => openStore({ type: 'sqlite', path: join(dir, 'baton.db') })],
  ['postgres', async () => { await requirePostgres(); return openStore({ type: 'postgres', url: POSTGRES_URL, schema, poolSize: 2, timeout: 5 }); }],
  ['redis', async () => { await requireRedis(); return openStore({ type: 'redis', url: REDIS_URL, keyPrefix, timeout: 2 }); }],
];

describe.each(backends)('traces on %s', (_name, open) => {
  it('are kept for the ttl, then expire; the first trace under an id stays', async () => {
    const store = await open();
    try {
      const traces = new TraceStore(store, 1);
      const id = `req-${Math.random().toString(36).slice(2)}`;
      expect(await traces.put(trace(id, 'web'))).toBe(true);
      expect(await traces.put(trace(id, 'intruder'))).toBe(false);
      expect((await traces.get(id))?.request.clientId).toBe('web');
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect(await traces.get(id)).toBeUndefined();
      expect(await traces.get('not a request id')).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('batched: a batch lands in the store, expires with the ttl, and never overwrites a stored trace', async () => {
    const store = await open();
    try {
      const traces = new TraceStore(store, 1);
      const taken = `req-${Math.random().toString(36).slice(2)}`;
      expect(await traces.put(trace(taken, 'web'))).toBe(true);
      const ids = Array.from({ length: 30 }, (_, i) => `req-${i}-${Math.random().toString(36).slice(2)}`);
      for (const id of ids) traces.enqueue(trace(id, 'service'));
      traces.enqueue(trace(taken, 'intruder'));
      await traces.flush();
      for (const id of ids) expect((await store.getRecord<DecisionTrace>('decision-trace', id))?.value.request.clientId).toBe('service');
      expect((await traces.get(taken))?.request.clientId).toBe('web');
      await new Promise((resolve) => setTimeout(resolve, 2100));
      for (const id of [...ids, taken]) expect(await traces.get(id)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('identical decisions: stored as references to one body, read back whole, and expire with the ttl', async () => {
    const store = await open();
    try {
      const traces = new TraceStore(store, 1);
      const ids = Array.from({ length: 20 }, (_, i) => `same-${i}-${Math.random().toString(36).slice(2)}`);
      for (const id of ids) {
        const recorder = new TraceRecorder(id, Date.now());
        recorder.request({ endpoint: 'token', clientId: 'service', grantType: 'client_credentials', scopes: ['orders:read'] });
        recorder.scope({ scope: 'orders:read', granted: true, by: 'client' });
        traces.keep(recorder);
      }
      await traces.flush();
      expect(await store.listRecordIds(TRACE_BODY_KIND)).toHaveLength(1);
      expect((await store.getRecord<{ v: number }>('decision-trace', ids[19]!))?.value.v).toBe(3);
      for (const id of ids) expect(await traces.get(id)).toMatchObject({ requestId: id, request: { clientId: 'service' }, result: { scopes: [{ scope: 'orders:read', granted: true }] } });
      await new Promise((resolve) => setTimeout(resolve, 2100));
      for (const id of ids) expect(await traces.get(id)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('in pages (Baton\'s own request ids, many of one window): one record for them all, read back by id, expiring with the ttl', async () => {
    const store = await open();
    try {
      // Pages outlive their window's traces by the lateness allowed (here 0.5 s): gone by 2.1 s all the same.
      const traces = new TraceStore(store, 1, { pageLateness: 500 });
      const now = Date.now();
      const ids = Array.from({ length: 3 * MIN_PAGE }, () => newRequestId(now));
      for (const id of ids) traces.enqueue(trace(id, 'service'), true);
      await traces.flush();
      expect(await store.listRecordIds(TRACE_PAGE_KIND)).toEqual([`${pageWindow(ids[0]!)}.0`]);
      expect(await store.listRecordIds('decision-trace')).not.toContain(ids[0]);
      for (const id of ids) expect((await traces.get(id))?.request.clientId).toBe('service');
      expect((await storedTraces(store)).filter((t) => ids.includes(t.requestId))).toHaveLength(ids.length);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      for (const id of ids) expect(await traces.get(id)).toBeUndefined();
      expect(await store.listRecordIds(TRACE_PAGE_KIND)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
