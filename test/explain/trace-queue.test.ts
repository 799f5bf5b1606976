// TraceStore's batched writes (src/explain/store.ts): traces handed over with `enqueue` wait a few
// milliseconds and reach the store in batches (one insertRecords call each), are readable while
// they wait, keep "first trace under an id wins", are bounded in memory (drops counted), report a
// store that refuses the write, and are all written by `close` before the store closes.
import { join } from 'node:path';

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { TraceStore, type TraceLoss } from '../../src/explain/store.ts';
import { TRACE_KIND, TRACE_VERSION, type DecisionTrace } from '../../src/explain/trace.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { scratchDir, startBaton, TEST_ENV } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';

const API = 'https://orders.api.example';

const trace = (requestId: string, clientId = 'service'): DecisionTrace => ({
  v: TRACE_VERSION, requestId, at: Date.now(),
  request: { endpoint: 'token', clientId, grantType: 'client_credentials', resources: [], scopes: ['orders:read'] },
  steps: [], result: { outcome: 'issued', scopes: [{ scope: 'orders:read', granted: true, by: 'client' }], claims: [] },
});

/** A memory store that records each insertRecords batch, and can be made to fail or stall. */
class WatchedStore extends MemoryStore {
  readonly batches: string[][] = [];
  failing = false;
  stall: Promise<void> | undefined;
  override async insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]> {
    this.batches.push(records.map((r) => r.id));
    if (this.stall) await this.stall;
    if (this.failing) throw new Error('connection refused');
    return super.insertRecords(kind, records, expiresIn);
  }
}

const losses: Array<[TraceLoss, number, unknown]> = [];
const onLoss = (reason: TraceLoss, count: number, error?: unknown) => { losses.push([reason, count, error]); };
afterEach(() => { losses.length = 0; });

const clientOf = async (store: MemoryStore, id: string) => (await store.getRecord<DecisionTrace>(TRACE_KIND, id))?.value.request.clientId;

describe('TraceStore batched writes', () => {
  it('traces enqueued together reach the store in one insertRecords call, after the flush delay', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 30, onLoss });
    for (let i = 0; i < 10; i++) traces.enqueue(trace(`r${i}`));
    expect(store.batches).toHaveLength(0);
    expect(await clientOf(store, 'r0')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(store.batches).toStrictEqual([Array.from({ length: 10 }, (_, i) => `r${i}`)]);
    for (let i = 0; i < 10; i++) expect(await clientOf(store, `r${i}`)).toBe('service');
    expect(losses).toStrictEqual([]);
  });

  it('a waiting trace is already readable through get', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 10_000 });
    traces.enqueue(trace('waiting', 'web'));
    expect((await traces.get('waiting'))?.request.clientId).toBe('web');
    expect(await clientOf(store, 'waiting')).toBeUndefined();
    await traces.close();
    expect(await clientOf(store, 'waiting')).toBe('web');
  });

  it('a full batch is written at once; batches never exceed batchSize', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { batchSize: 4, flushDelay: 10_000 });
    for (let i = 0; i < 10; i++) traces.enqueue(trace(`r${i}`));
    await traces.flush();
    expect(store.batches.map((b) => b.length)).toStrictEqual([4, 4, 2]);
    expect(store.batches.flat()).toStrictEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
  });

  it('the first trace under an id wins, whether waiting, being written or stored', async () => {
    const store = new WatchedStore();
    await store.putRecord(TRACE_KIND, 'stored', trace('stored', 'first'), { expectedVersion: 0, expiresIn: 60 });
    let release!: () => void;
    store.stall = new Promise((resolve) => { release = resolve; });
    const traces = new TraceStore(store, 60, { flushDelay: 1 });
    traces.enqueue(trace('writing', 'first'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(store.batches).toStrictEqual([['writing']]);
    traces.enqueue(trace('writing', 'second'));
    traces.enqueue(trace('waiting', 'first'));
    traces.enqueue(trace('waiting', 'second'));
    traces.enqueue(trace('stored', 'second'));
    expect((await traces.get('writing'))?.request.clientId).toBe('first');
    expect((await traces.get('stored'))?.request.clientId).toBe('first');
    release();
    store.stall = undefined;
    await traces.flush();
    // The later ones reach the store, which keeps the first (insert only where no record is).
    expect(store.batches).toStrictEqual([['writing'], ['writing', 'waiting', 'stored']]);
    for (const id of ['writing', 'waiting', 'stored']) expect(await clientOf(store, id)).toBe('first');
  });

  it('beyond maxQueued new traces are dropped and counted, never held', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { maxQueued: 3, batchSize: 100, flushDelay: 10_000, onLoss });
    for (let i = 0; i < 5; i++) traces.enqueue(trace(`r${i}`));
    expect(losses.map(([reason, count]) => [reason, count])).toStrictEqual([['queue_full', 1], ['queue_full', 1]]);
    await traces.flush();
    expect(store.batches).toStrictEqual([['r0', 'r1', 'r2']]);
    expect(await traces.get('r4')).toBeUndefined();
  });

  it('beyond maxQueuedBytes new traces are dropped and counted too', async () => {
    const store = new WatchedStore();
    const size = JSON.stringify(trace('r0')).length;
    const traces = new TraceStore(store, 60, { maxQueuedBytes: 2 * size, batchSize: 100, flushDelay: 10_000, onLoss });
    for (let i = 0; i < 4; i++) traces.enqueue(trace(`r${i}`));
    expect(losses.map(([reason]) => reason)).toStrictEqual(['queue_full', 'queue_full']);
    await traces.flush();
    expect(store.batches).toStrictEqual([['r0', 'r1']]);
  });

  it('a store that refuses the batch: the loss is reported with the error, and later batches still go', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 1, onLoss });
    store.failing = true;
    traces.enqueue(trace('a'));
    traces.enqueue(trace('b'));
    await traces.flush();
    expect(losses).toHaveLength(1);
    expect(losses[0]![0]).toBe('store_failed');
    expect(losses[0]![1]).toBe(2);
    expect(String(losses[0]![2])).toMatch(/connection refused/);
    expect(await traces.get('a')).toBeUndefined();
    store.failing = false;
    traces.enqueue(trace('c'));
    await traces.flush();
    expect(await clientOf(store, 'c')).toBe('service');
  });

  it('close writes everything waiting; a trace handed over after close is reported, not written', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 10_000, batchSize: 7, onLoss });
    for (let i = 0; i < 20; i++) traces.enqueue(trace(`r${i}`));
    await traces.close();
    for (let i = 0; i < 20; i++) expect(await clientOf(store, `r${i}`)).toBe('service');
    traces.enqueue(trace('late'));
    expect(losses.map(([reason]) => reason)).toStrictEqual(['closed']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await clientOf(store, 'late')).toBeUndefined();
  });
});

describe('a Baton shutting down', () => {
  it('writes the traces still waiting before it closes its store', async () => {
    const dir = scratchDir('baton-trace-close-');
    try {
      const path = join(dir.path, 'baton.db');
      const baton = await startBaton({
        storage: { type: 'sqlite', path },
        explain: { enabled: true },
        resources: [{ id: API, scopes: ['orders:read'] }],
        clients: [{ client_id: 'service', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API }] }],
      });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await postForm(`${baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(API)}`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
        expect(res.status).toBe(200);
        ids.push(res.headers.get('x-request-id')!);
      }
      await baton.stop();
      const reopened = new SqliteStore({ path });
      try {
        for (const id of ids) expect((await reopened.getRecord<DecisionTrace>(TRACE_KIND, id))?.value.request.clientId).toBe('service');
      } finally {
        await reopened.close();
      }
    } finally {
      dir.remove();
    }
  });
});

describe('a store that refuses trace writes', () => {
  it('never fails the request; the loss is counted in baton_explain_traces_lost_total and logged without the token', async () => {
    const store = new WatchedStore();
    store.failing = true;
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => { lines.push(line); } });
    const baton = await startBaton({
      explain: { enabled: true },
      resources: [{ id: API, scopes: ['orders:read'] }],
      clients: [{ client_id: 'service', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API }] }],
    }, { store, logger });
    try {
      const res = await postForm(`${baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(API)}`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
      expect(res.status).toBe(200);
      const token = res.json.access_token as string;
      expect(token).toMatch(/^ey/);
      let metrics = '';
      for (let i = 0; i < 40 && !/baton_explain_traces_lost_total\{reason="store_failed"\} 1/.test(metrics); i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        metrics = await (await fetch(`${baton.url}/metrics`)).text();
      }
      expect(metrics).toMatch(/baton_explain_traces_lost_total\{reason="store_failed"\} 1/);
      const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.event === 'explain.store_failed');
      expect(logged).toMatchObject({ level: 50, reason: 'store_failed', count: 1 });
      expect(lines.join('\n')).not.toContain(token);
    } finally {
      await baton.stop();
    }
  });
});
