// Pages of traces (src/explain/trace-pages.ts): traces under Baton's own request ids (UUIDv7), several
// of one 256 ms window in a write, are stored as one page record instead of one record each; every
// reader finds them by request id (TraceStore.get, storedTrace, storedTraces); the first request
// under an id stays wherever its trace is; replicas writing the same window take different page
// numbers; a page that cannot be written is counted lost; a window with too many pages, and ids of
// any other form, keep one record per trace.
import { afterEach, describe, expect, it } from 'vitest';

import { TraceRecorder } from '../../src/explain/recorder.ts';
import { TraceStore, type TraceLoss } from '../../src/explain/store.ts';
import { MAX_PAGES, MIN_PAGE, pageWindow, TRACE_PAGE_KIND } from '../../src/explain/trace-pages.ts';
import { storedTrace, storedTraces } from '../../src/explain/trace-source.ts';
import { TRACE_KIND, TRACE_VERSION, type DecisionTrace } from '../../src/explain/trace.ts';
import { newRequestId } from '../../src/observability/request-log.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';

const trace = (requestId: string, clientId = 'service', at = Date.now()): DecisionTrace => ({
  v: TRACE_VERSION, requestId, at,
  request: { endpoint: 'token', clientId, grantType: 'client_credentials', resources: [], scopes: ['orders:read'] },
  steps: [], result: { outcome: 'issued', scopes: [{ scope: 'orders:read', granted: true, by: 'client' }], claims: [] },
});

/** Request ids of one window, as Baton issues them (a fixed time: the window does not change under the test). */
const idsAt = (time: number, count: number) => Array.from({ length: count }, () => newRequestId(time));
const WINDOW_START = 0x19a_0000_0000; // a 256 ms window's first millisecond (low 8 bits zero)

class WatchedStore extends MemoryStore {
  readonly inserts: Array<{ kind: string; ids: string[] }> = [];
  failingKind: string | undefined;
  override async insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]> {
    this.inserts.push({ kind, ids: records.map((r) => r.id) });
    if (kind === this.failingKind) throw new Error('connection refused');
    return super.insertRecords(kind, records, expiresIn);
  }
}

const losses: Array<[TraceLoss, number, unknown]> = [];
const onLoss = (reason: TraceLoss, count: number, error?: unknown) => { losses.push([reason, count, error]); };
afterEach(() => { losses.length = 0; });

describe('pageWindow', () => {
  it('is the first 40 bits of a UUIDv7 request id; any other id is not paged', () => {
    expect(pageWindow(newRequestId(WINDOW_START))).toBe(WINDOW_START.toString(16).padStart(12, '0').slice(0, 10));
    expect(pageWindow(newRequestId(WINDOW_START + 255))).toBe(pageWindow(newRequestId(WINDOW_START)));
    expect(pageWindow(newRequestId(WINDOW_START + 256))).not.toBe(pageWindow(newRequestId(WINDOW_START)));
    for (const other of ['req-1', '6f1c2e0a9b8d4c7e', newRequestId(WINDOW_START).toUpperCase(), '0190aaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', `${newRequestId(WINDOW_START)}x`]) {
      expect(pageWindow(other)).toBeUndefined();
    }
  });
});

describe('traces in pages', () => {
  it('several traces of one window are one page record, read back by every reader; a few, and other ids, keep their own records', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5, onLoss });
    const paged = idsAt(WINDOW_START, MIN_PAGE + 2);
    const few = idsAt(WINDOW_START + 1024, MIN_PAGE - 1);
    const proxied = ['proxy-1', 'proxy-2'];
    for (const id of [...paged, ...few, ...proxied]) traces.enqueue(trace(id));
    await traces.flush();
    expect(store.inserts).toEqual([
      { kind: TRACE_PAGE_KIND, ids: [`${pageWindow(paged[0]!)}.0`] },
      { kind: TRACE_KIND, ids: [...proxied, ...few] },
    ]);
    for (const id of paged) expect(await store.getRecord(TRACE_KIND, id)).toBeUndefined();
    for (const id of [...paged, ...few, ...proxied]) {
      expect(await traces.get(id)).toEqual(trace(id, 'service', (await traces.get(id))!.at));
      expect((await storedTrace(store, id))?.requestId).toBe(id);
    }
    expect((await storedTraces(store)).map((t) => t.requestId).sort()).toEqual([...paged, ...few, ...proxied].sort());
    expect(losses).toEqual([]);
  });

  it('identical decisions in a page are references to one body held in the page itself: one record for them all', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    const ids = idsAt(WINDOW_START, MIN_PAGE);
    for (const id of ids) {
      const recorder = new TraceRecorder(id, Date.now());
      recorder.request({ endpoint: 'token', clientId: 'service', grantType: 'client_credentials', scopes: ['orders:read'] });
      recorder.scope({ scope: 'orders:read', granted: true, by: 'client' });
      traces.keep(recorder);
    }
    await traces.flush();
    const page = await store.getRecord<{ traces: Array<{ v: number; body?: string }>; bodies: Record<string, { v: number }> }>(TRACE_PAGE_KIND, `${pageWindow(ids[0]!)}.0`);
    expect(page!.value.traces.map((t) => t.v)).toEqual([2, ...Array.from({ length: MIN_PAGE - 1 }, () => 3)]);
    const body = page!.value.traces[1]!.body!;
    expect(Object.keys(page!.value.bodies)).toEqual([body]);
    expect(page!.value.bodies[body]).toMatchObject({ v: 2, requestId: ids[0] });
    expect(store.inserts).toEqual([{ kind: TRACE_PAGE_KIND, ids: [`${pageWindow(ids[0]!)}.0`] }]);
    for (const id of ids) {
      expect(await storedTrace(store, id)).toMatchObject({ requestId: id, result: { scopes: [{ scope: 'orders:read', granted: true }] } });
      expect(await traces.get(id)).toEqual(await storedTrace(store, id));
    }
    expect((await storedTraces(store)).map((t) => t.requestId).sort()).toEqual([...ids].sort());
  });

  it('the first request under an id stays: a later request sending its id as X-Request-Id is never read in its place', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    const ids = idsAt(WINDOW_START, MIN_PAGE);
    const victim = ids[3]!;
    const began = Date.now();
    for (const id of ids) traces.enqueue(trace(id, 'web', began));
    await traces.flush();
    // The same id later: in its own record, and in a later page of the window.
    expect(await traces.put(trace(victim, 'intruder', began + 5))).toBe(true);
    for (const id of [victim, ...idsAt(WINDOW_START, MIN_PAGE)]) traces.enqueue(trace(id, 'intruder', began + 5));
    await traces.flush();
    expect(await store.getRecord(TRACE_PAGE_KIND, `${pageWindow(victim)}.1`)).toBeDefined();
    expect((await traces.get(victim))?.request.clientId).toBe('web');
    expect((await storedTrace(store, victim))?.request.clientId).toBe('web');
    expect((await storedTraces(store)).filter((t) => t.requestId === victim).map((t) => t.request.clientId)).toEqual(['web']);
  });

  it('two replicas writing the same window take different page numbers, and every trace is found', async () => {
    const store = new WatchedStore();
    const [a, b] = [new TraceStore(store, 60, { flushDelay: 5, onLoss }), new TraceStore(store, 60, { flushDelay: 5, onLoss })];
    const ids = idsAt(WINDOW_START, 4 * MIN_PAGE);
    for (const [i, id] of ids.entries()) (i % 2 === 0 ? a : b).enqueue(trace(id, i % 2 === 0 ? 'a' : 'b'));
    await Promise.all([a.flush(), b.flush()]);
    // Again, each writer now behind the other's page numbers.
    const more = idsAt(WINDOW_START, 2 * MIN_PAGE);
    for (const [i, id] of more.entries()) (i % 2 === 0 ? b : a).enqueue(trace(id));
    await Promise.all([a.flush(), b.flush()]);
    expect((await store.listRecordIds(TRACE_PAGE_KIND)).sort()).toEqual([0, 1, 2, 3].map((n) => `${pageWindow(ids[0]!)}.${n}`));
    for (const id of [...ids, ...more]) expect((await storedTrace(store, id))?.requestId).toBe(id);
    expect(losses).toEqual([]);
  });

  it('a page that cannot be written: its traces are counted lost with the error, the other records still go', async () => {
    const store = new WatchedStore();
    store.failingKind = TRACE_PAGE_KIND;
    const traces = new TraceStore(store, 60, { flushDelay: 5, onLoss });
    const ids = idsAt(WINDOW_START, MIN_PAGE);
    for (const id of [...ids, 'proxy-1']) traces.enqueue(trace(id));
    await traces.flush();
    expect(losses).toEqual([['store_failed', MIN_PAGE, expect.objectContaining({ message: 'connection refused' })]]);
    expect((await storedTrace(store, 'proxy-1'))?.requestId).toBe('proxy-1');
    for (const id of ids) expect(await storedTrace(store, id)).toBeUndefined();
  });

  it(`a window with ${MAX_PAGES} pages: its further traces get their own records, so a reader never looks through more`, async () => {
    const store = new WatchedStore();
    const ids = idsAt(WINDOW_START, MIN_PAGE);
    const window = pageWindow(ids[0]!)!;
    for (let n = 0; n < MAX_PAGES; n++) await store.putRecord(TRACE_PAGE_KIND, `${window}.${n}`, { v: 4, traces: [] }, { expiresIn: 60 });
    const traces = new TraceStore(store, 60, { flushDelay: 5, onLoss });
    for (const id of ids) traces.enqueue(trace(id));
    await traces.flush();
    for (const id of ids) expect((await store.getRecord<DecisionTrace>(TRACE_KIND, id))?.value.requestId).toBe(id);
    for (const id of ids) expect((await traces.get(id))?.requestId).toBe(id);
    expect(losses).toEqual([]);
  });

  it('a reference in a page is read only through a stored trace in the same page, else through a body record', async () => {
    const store = new WatchedStore();
    const [a, b, c] = idsAt(WINDOW_START, 3);
    const window = pageWindow(a!)!;
    const body = (id: string) => `~${id.slice(0, 8)}-0000-4000-8000-000000000000`;
    const full = { ...trace(a!, 'web'), v: 2, result: { outcome: 'issued', scopes: [], tokens: [] } };
    await store.putRecord(TRACE_PAGE_KIND, `${window}.0`, {
      v: 4,
      traces: [{ v: 3, requestId: a, at: 5, body: body('aaaaaaaa') }, { v: 3, requestId: b, at: 6, body: body('bbbbbbbb') }, { v: 3, requestId: c, at: 7, body: body('cccccccc') }],
      bodies: { [body('aaaaaaaa')]: full, [body('bbbbbbbb')]: { v: 3, requestId: 'x', at: 1, body: body('aaaaaaaa') } },
    }, { expiresIn: 60 });
    await store.putRecord('decision-trace-body', body('cccccccc'), { ...full, requestId: 'other' }, { expiresIn: 60 });
    const traces = new TraceStore(store, 60);
    expect(await traces.get(a!)).toMatchObject({ requestId: a, at: 5, request: { clientId: 'web' } });
    expect(await traces.get(b!)).toBeUndefined();
    expect(await traces.get(c!)).toMatchObject({ requestId: c, at: 7, request: { clientId: 'web' } });
  });

  it('what is not a page, or not a trace in one, is never read as a trace', async () => {
    const store = new WatchedStore();
    const [id, other] = idsAt(WINDOW_START, 2);
    const window = pageWindow(id!)!;
    await store.putRecord(TRACE_PAGE_KIND, `${window}.0`, { v: 4, traces: [{ requestId: id }, 'text', null, { requestId: id, at: 'now' }] }, { expiresIn: 60 });
    await store.putRecord(TRACE_PAGE_KIND, `${window}.1`, { v: 99, traces: [trace(other!)] }, { expiresIn: 60 });
    await store.putRecord(TRACE_PAGE_KIND, `${window}.2`, [trace(other!)], { expiresIn: 60 });
    const traces = new TraceStore(store, 60);
    expect(await traces.get(id!)).toBeUndefined();
    expect(await traces.get(other!)).toBeUndefined();
    expect(await storedTraces(store)).toEqual([]);
  });
});
