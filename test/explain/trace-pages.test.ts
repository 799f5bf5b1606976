// Pages of traces (src/explain/trace-pages.ts): traces under request ids Baton issued (UUIDv7), several
// of one recent 256 ms window in a write, are stored as one page record instead of one record each;
// every reader finds them by request id (TraceStore.get, storedTrace, storedTraces); a client that
// sends an id (of any shape, any time) never gets a page, nor is read in place of the request the id
// was issued to; replicas writing the same window take different page numbers; every page of a
// window expires together; a page that cannot be written is counted lost; a window out of pages,
// and every other trace, keep one record per trace.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { TraceRecorder } from '../../src/explain/recorder.ts';
import { TraceStore, type TraceLoss } from '../../src/explain/store.ts';
import { storedForm } from '../../src/explain/stored-trace.ts';
import { TraceBuffer } from '../../src/explain/trace-buffer.ts';
import { MAX_PAGES, MIN_PAGE, pageWindow, TRACE_PAGE_KIND, TracePager, windowOfBytes } from '../../src/explain/trace-pages.ts';
import { pageTraces } from '../../src/explain/trace-pages-read.ts';
import { storedTrace, storedTraces } from '../../src/explain/trace-source.ts';
import { TRACE_KIND, TRACE_VERSION, type DecisionTrace } from '../../src/explain/trace.ts';
import { newRequestId } from '../../src/observability/request-log.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { startBaton, TEST_ENV } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';

const API = 'https://orders.api.example';

const trace = (requestId: string, clientId = 'service', at = Date.now()): DecisionTrace => ({
  v: TRACE_VERSION, requestId, at,
  request: { endpoint: 'token', clientId, grantType: 'client_credentials', resources: [], scopes: ['orders:read'] },
  steps: [], result: { outcome: 'issued', scopes: [{ scope: 'orders:read', granted: true, by: 'client' }], claims: [] },
});

/** Request ids of one window, as Baton issues them (a fixed time: the window does not change under the test). */
const idsAt = (time: number, count: number) => Array.from({ length: count }, () => newRequestId(time));
/** The first millisecond of the current 256 ms window, when the test began (pages are written for recent windows only). */
let WINDOW_START = 0;
beforeEach(() => { WINDOW_START = Math.floor(Date.now() / 256) * 256; });
/** Hands traces over as Baton's own requests do: under ids Baton issued. */
const issued = (traces: TraceStore, trace: DecisionTrace) => traces.enqueue(trace, true);

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
  it('windowOfBytes reads the same window from an id\'s bytes, and refuses exactly what pageWindow refuses', () => {
    const ids = [...idsAt(WINDOW_START, 50), ...Array.from({ length: 50 }, (_, i) => newRequestId(i * 9_973_117))];
    const variants = ids.flatMap((id) => [id, id.toUpperCase(), `${id}0`, id.slice(1), ...[0, 8, 9, 13, 14, 18, 19, 23, 35].flatMap((at) => ['g', '-', '7', '8', 'b', 'c', 'A'].map((c) => id.slice(0, at) + c + id.slice(at + 1)))]);
    for (const id of [...variants, 'req-1', '', 'ü'.repeat(18)]) {
      const bytes = Buffer.from(`xx${id}yy`);
      const window = pageWindow(id);
      expect(windowOfBytes(bytes, 2, bytes.length - 2)).toBe(window === undefined ? -1 : Number.parseInt(window, 16));
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
    for (const id of [...paged, ...few]) issued(traces, trace(id));
    for (const id of proxied) traces.enqueue(trace(id));
    await traces.flush();
    expect(store.inserts).toEqual([
      { kind: TRACE_PAGE_KIND, ids: [`${pageWindow(paged[0]!)}.0`] },
      // Under ids Baton issued first (under one id, the store keeps the first).
      { kind: TRACE_KIND, ids: [...few, ...proxied] },
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
      const recorder = new TraceRecorder(id, Date.now(), undefined, true);
      recorder.request({ endpoint: 'token', clientId: 'service', grantType: 'client_credentials', scopes: ['orders:read'] });
      recorder.scope({ scope: 'orders:read', granted: true, by: 'client' });
      traces.keep(recorder);
    }
    await traces.flush();
    const page = await store.getRecord<{ v: number; traces: unknown[]; bodies: unknown[] }>(TRACE_PAGE_KIND, `${pageWindow(ids[0]!)}.0`);
    // The first in full; the others its request id, its time and the index of their shared body in the page.
    expect(page!.value.v).toBe(5);
    expect(page!.value.traces[0]).toMatchObject({ v: 2, requestId: ids[0] });
    expect(page!.value.traces.slice(1)).toEqual(ids.slice(1).map((id) => [id, expect.any(Number), 0]));
    expect(page!.value.bodies).toEqual([expect.objectContaining({ v: 2, requestId: ids[0] })]);
    expect(store.inserts).toEqual([{ kind: TRACE_PAGE_KIND, ids: [`${pageWindow(ids[0]!)}.0`] }]);
    for (const id of ids) {
      expect(await storedTrace(store, id)).toMatchObject({ requestId: id, result: { scopes: [{ scope: 'orders:read', granted: true }] } });
      expect(await traces.get(id)).toEqual(await storedTrace(store, id));
    }
    expect((await storedTraces(store)).map((t) => t.requestId).sort()).toEqual([...ids].sort());
  });

  it('the request an id was issued to is the one read: a client sending that id, before or after, in the same write or not, is never read in its place', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    const ids = idsAt(WINDOW_START, MIN_PAGE);
    const [victim, other] = [ids[3]!, ids[5]!];
    const began = Date.now();
    // A client's request sending the id finished first, in the same write as the request it was issued to.
    traces.enqueue(trace(victim, 'intruder', began + 5));
    for (const id of ids) issued(traces, trace(id, 'web', began));
    await traces.flush();
    // And again later, stored first as a record of its own.
    expect(await traces.put(trace(other, 'intruder', began + 5))).toBe(true);
    for (const id of [victim, other]) {
      expect((await traces.get(id))?.request.clientId).toBe('web');
      expect((await storedTrace(store, id))?.request.clientId).toBe('web');
    }
    expect((await storedTraces(store)).filter((t) => t.request.clientId === 'intruder')).toEqual([]);
  });

  it('fewer than a page: the issued id\'s trace is written before a client\'s under the same id in the same write, and is the one kept', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    const [victim] = idsAt(WINDOW_START, 1);
    traces.enqueue(trace(victim!, 'intruder'));
    issued(traces, trace(victim!, 'web'));
    await traces.flush();
    expect(store.inserts).toEqual([{ kind: TRACE_KIND, ids: [victim, victim] }]);
    expect((await traces.get(victim!))?.request.clientId).toBe('web');
  });

  it('a client never gets a page: ids it sends, UUIDv7-shaped or not, in this window, a past or a future one, keep a record each', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    const sent = [...idsAt(WINDOW_START, MIN_PAGE), ...idsAt(WINDOW_START + 86_400_000, MIN_PAGE), ...idsAt(WINDOW_START - 86_400_000, MIN_PAGE)];
    for (const id of sent) traces.enqueue(trace(id, 'client'));
    await traces.flush();
    expect(await store.listRecordIds(TRACE_PAGE_KIND)).toEqual([]);
    expect((await store.listRecordIds(TRACE_KIND)).sort()).toEqual([...sent].sort());
  });

  it('only recent windows are paged: a trace stored long after its request (or with a replica\'s clock far ahead) keeps its own record', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5, pageLateness: 1000 });
    const late = idsAt(WINDOW_START - 2000, MIN_PAGE);
    const ahead = idsAt(WINDOW_START + 2000, MIN_PAGE);
    const recent = idsAt(WINDOW_START, MIN_PAGE);
    for (const id of [...late, ...ahead, ...recent]) issued(traces, trace(id));
    await traces.flush();
    expect(await store.listRecordIds(TRACE_PAGE_KIND)).toEqual([`${pageWindow(recent[0]!)}.0`]);
    for (const id of [...late, ...ahead, ...recent]) expect((await traces.get(id))?.requestId).toBe(id);
  });

  it('every page of a window expires at the same moment: the window\'s end + ttl + the lateness allowed', async () => {
    const expiries: number[] = [];
    let now = WINDOW_START + 10;
    const store = new (class extends MemoryStore {
      override async insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]> {
        expiries.push(now + expiresIn! * 1000);
        return super.insertRecords(kind, records, expiresIn);
      }
    })();
    const pager = new TracePager(store, 1000, () => now);
    const entries = () => {
      const buffer = new TraceBuffer();
      for (const id of idsAt(WINDOW_START, MIN_PAGE)) buffer.push(id, JSON.stringify(storedForm(trace(id))), true);
      return buffer;
    };
    const write = (buffer: TraceBuffer) => pager.write(buffer, buffer.offsets(), 60);
    expect(await write(entries())).toEqual({ rest: [], lost: 0 });
    now += 700;
    expect(await write(entries())).toEqual({ rest: [], lost: 0 });
    expect(expiries).toHaveLength(2);
    for (const at of expiries) expect(at).toBeCloseTo(WINDOW_START + 256 + 60_000 + 1000, 3);
  });

  it('two replicas writing the same window take different page numbers, and every trace is found', async () => {
    const store = new WatchedStore();
    const [a, b] = [new TraceStore(store, 60, { flushDelay: 5, onLoss }), new TraceStore(store, 60, { flushDelay: 5, onLoss })];
    const ids = idsAt(WINDOW_START, 4 * MIN_PAGE);
    for (const [i, id] of ids.entries()) issued(i % 2 === 0 ? a : b, trace(id, i % 2 === 0 ? 'a' : 'b'));
    await Promise.all([a.flush(), b.flush()]);
    // Again, each writer now behind the other's page numbers.
    const more = idsAt(WINDOW_START, 2 * MIN_PAGE);
    for (const [i, id] of more.entries()) issued(i % 2 === 0 ? b : a, trace(id));
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
    for (const id of ids) issued(traces, trace(id));
    traces.enqueue(trace('proxy-1'));
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
    for (const id of ids) issued(traces, trace(id));
    await traces.flush();
    for (const id of ids) expect((await store.getRecord<DecisionTrace>(TRACE_KIND, id))?.value.requestId).toBe(id);
    // Remembered: the next write to that window does not try its pages again.
    const inserts = store.inserts.length;
    for (const id of idsAt(WINDOW_START, MIN_PAGE)) issued(traces, trace(id));
    await traces.flush();
    expect(store.inserts.slice(inserts).map((insert) => insert.kind)).toEqual([TRACE_KIND]);
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

  it('a paged reference read while its write completes is still read (its body is in the page, not in a record)', async () => {
    let release!: () => void;
    let gate: Promise<void> | undefined = new Promise((resolve) => { release = resolve; });
    let onRecordRead: (() => Promise<void>) | undefined;
    const store = new (class extends MemoryStore {
      override async insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]> {
        if (gate) await gate;
        return super.insertRecords(kind, records, expiresIn);
      }
      override async getRecord<T>(kind: string, id: string) {
        const record = await super.getRecord<T>(kind, id);
        // The reader has looked through the pages (none yet) and reads the id's own record: the write ends now.
        if (kind === TRACE_KIND && onRecordRead) {
          const during = onRecordRead;
          onRecordRead = undefined;
          await during();
        }
        return record;
      }
    })();
    const traces = new TraceStore(store, 60, { flushDelay: 1, onLoss });
    const ids = idsAt(WINDOW_START, MIN_PAGE + 2);
    for (const id of ids) {
      const recorder = new TraceRecorder(id, Date.now(), undefined, true);
      recorder.request({ endpoint: 'token', clientId: 'service', grantType: 'client_credentials' });
      recorder.scope({ scope: 'orders:read', granted: true, by: 'client' });
      traces.keep(recorder);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    const flushed = traces.flush();
    onRecordRead = async () => { release(); gate = undefined; await flushed; };
    expect(await traces.get(ids[5]!)).toMatchObject({ requestId: ids[5], request: { clientId: 'service' } });
    expect(await store.listRecordIds(TRACE_PAGE_KIND)).toHaveLength(1);
    expect(await traces.get(ids[6]!)).toMatchObject({ requestId: ids[6] });
    expect(losses).toEqual([]);
  });

  it('a compact entry is read only through a stored trace at its index in the same page; a version 5 page never refers to another record', async () => {
    const store = new WatchedStore();
    const ids = idsAt(WINDOW_START, 10);
    const window = pageWindow(ids[0]!)!;
    const full = { ...trace('model', 'web'), v: 2, result: { outcome: 'issued', scopes: [], tokens: [] } };
    const reference = { v: 3, requestId: 'x', at: 1, body: `~${'0'.repeat(8)}-0000-4000-8000-000000000000` };
    await store.putRecord(TRACE_PAGE_KIND, `${window}.0`, {
      v: 5,
      traces: [[ids[0], 5, 0], [ids[1], 6, 1], [ids[2], 7, 2], [ids[3], 8, -1], [ids[4], 9, 0.5], [ids[5], '9', 0], [ids[6], 9, 0, 'more'], [9, 9, 0], [ids[8], 10, '0'],
        { v: 3, requestId: ids[9], at: 11, body: reference.body }],
      bodies: [full, reference],
    }, { expiresIn: 60 });
    // A body record another client's trace is in: a reference object in a version 5 page never reaches it.
    await store.putRecord('decision-trace-body', reference.body, { ...full, request: { ...full.request, clientId: 'other' } }, { expiresIn: 60 });
    const traces = new TraceStore(store, 60);
    expect(await traces.get(ids[0]!)).toMatchObject({ requestId: ids[0], at: 5, request: { clientId: 'web' } });
    for (const id of ids.slice(1)) expect(await traces.get(id)).toBeUndefined();
    expect((await storedTraces(store)).map((t) => t.requestId)).toEqual([ids[0]]);
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

describe('a Baton tracing every request', () => {
  it('pages the traces under the ids it issues (lean token path and full pipeline alike); ids a client sends keep a record each', async () => {
    const store = new WatchedStore();
    const baton = await startBaton({
      explain: { enabled: true, sample: 1 },
      resources: [{ id: API, scopes: ['orders:read'] }],
      clients: [{ client_id: 'service', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API }] }],
      // A burst's traces in one write even on a loaded machine (the default 20 ms split it into writes of fewer than MIN_PAGE).
    }, { store, traceWrites: { flushDelay: 400 } });
    try {
      const body = `grant_type=client_credentials&resource=${encodeURIComponent(API)}`;
      const burst = async (secret: string, headers: Record<string, string> = {}) => (await Promise.all(Array.from({ length: 40 }, () => postForm(`${baton.url}/token`, body, { authorization: basic('service', secret), ...headers })))).map((res) => res);
      const settle = async (ids: readonly string[]) => {
        for (let i = 0; i < 100 && (await Promise.all(ids.map((id) => storedTrace(store, id)))).some((t) => t === undefined); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      };
      // Granted (the lean token path) and refused (a wrong secret: the full pipeline), under ids Baton issues.
      for (const [secret, status] of [[TEST_ENV.SERVICE_SECRET, 200], ['wrong', 401]] as const) {
        const answers = await burst(secret);
        expect(answers.map((res) => res.status)).toEqual(answers.map(() => status));
        const ids = answers.map((res) => res.headers.get('x-request-id')!);
        await settle(ids);
        for (const id of ids) expect((await storedTrace(store, id))?.result.outcome).toBe(status === 200 ? 'issued' : 'refused');
        const paged = new Set((await Promise.all((await store.listRecordIds(TRACE_PAGE_KIND)).map((id) => store.getRecord<unknown>(TRACE_PAGE_KIND, id))))
          .flatMap((page) => pageTraces(page!.value).map((t) => t.requestId)));
        expect(ids.filter((id) => paged.has(id)).length).toBeGreaterThanOrEqual(MIN_PAGE);
      }
      // The same, each sending its own UUIDv7-shaped X-Request-Id: no page.
      const pages = (await store.listRecordIds(TRACE_PAGE_KIND)).length;
      const sent = idsAt(Date.now(), 40);
      await Promise.all(sent.map((id) => postForm(`${baton.url}/token`, body, { authorization: basic('service', TEST_ENV.SERVICE_SECRET), 'x-request-id': id })));
      await settle(sent);
      expect((await store.listRecordIds(TRACE_PAGE_KIND)).length).toBe(pages);
      for (const id of sent) expect((await store.getRecord<DecisionTrace>(TRACE_KIND, id))?.value.requestId).toBe(id);
    } finally {
      await baton.stop();
    }
  });
});
