// TraceStore's batched writes (src/explain/store.ts): traces handed over with `enqueue` wait a few
// milliseconds and reach the store in batches (one insertRecords call each), are readable while
// they wait, keep "first trace under an id wins", are bounded in memory (drops counted), report a
// store that refuses the write, and are all written by `close` before the store closes.
import { join } from 'node:path';

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { TraceRecorder } from '../../src/explain/recorder.ts';
import { TraceStore, type TraceLoss } from '../../src/explain/store.ts';
import { storedTrace, storedTraces } from '../../src/explain/trace-source.ts';
import { TRACE_BODY_KIND, TRACE_KIND, TRACE_VERSION, type DecisionTrace } from '../../src/explain/trace.ts';
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
  /** Refuses the writes of this record kind only. */
  failingKind: string | undefined;
  stall: Promise<void> | undefined;
  override async insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]> {
    this.batches.push(records.map((r) => r.id));
    if (this.stall) await this.stall;
    if (this.failing || kind === this.failingKind) throw new Error('connection refused');
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

/** A recorder as the lean client_credentials path fills it; `vary` changes one part of the decision. */
function recorded(requestId: string, vary: Partial<{ scope: string; aud: string; sub: string; latency: number; refused: boolean; value: unknown }> = {}): TraceRecorder {
  const recorder = new TraceRecorder(requestId, Date.now());
  recorder.request({ endpoint: 'token', clientId: 'service', grantType: 'client_credentials', scopes: [vary.scope ?? 'orders:read'] });
  recorder.addResource(API);
  recorder.identity({ sub: vary.sub ?? 'service', claims: {} });
  if (vary.latency !== undefined) recorder.step({ kind: 'hook', hook: 'buildAccessTokenClaims', module: 'hooks.ts', latencyMs: vary.latency, outcome: 'ran', input: { client: 'service' } });
  recorder.scope({ scope: vary.scope ?? 'orders:read', resource: API, granted: true, by: 'client' });
  recorder.claim({ token: 'access_token', resource: API, claim: 'aud', by: 'baton', value: vary.aud ?? API });
  recorder.claim({ token: 'access_token', resource: API, claim: 'jti', by: 'baton', value: `jti-${requestId}` });
  if (vary.value !== undefined) recorder.claim({ token: 'access_token', resource: API, claim: 'tier', by: 'hook:buildAccessTokenClaims', value: vary.value });
  if (vary.refused) recorder.refuse('invalid_scope', 'not for you', 'rules');
  return recorder;
}

describe('identical decisions share one stored body', () => {
  it('a decision like one waiting is stored as a reference; read back (get, storedTrace, storedTraces) it is the same trace with its own id and time', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    const first = recorded('req-1');
    const same = [recorded('req-2'), recorded('req-3')];
    traces.keep(first);
    for (const r of same) traces.keep(r);
    // Readable while waiting, through the waiting body.
    expect(await traces.get('req-3')).toMatchObject({ requestId: 'req-3', at: same[1]!.at });
    await traces.flush();
    const raw = (id: string) => store.getRecord<Record<string, unknown>>(TRACE_KIND, id).then((r) => r?.value);
    expect(await raw('req-1')).toMatchObject({ v: 2, requestId: 'req-1' });
    const reference = await raw('req-2');
    expect(reference).toEqual({ v: 3, requestId: 'req-2', at: same[0]!.at, body: expect.stringMatching(/^~[0-9a-f-]{36}$/) });
    expect(await raw('req-3')).toMatchObject({ body: reference!.body });
    // One body, written before the traces that refer to it.
    expect(store.batches).toEqual([[reference!.body], ['req-1', 'req-2', 'req-3']]);
    const full = first.toTrace();
    for (const r of same) {
      const expected = { ...full, requestId: r.requestId, at: r.at };
      expect(await traces.get(r.requestId)).toEqual(expected);
      expect(await storedTrace(store, r.requestId)).toEqual(expected);
    }
    expect((await storedTraces(store)).map((t) => t.requestId)).toEqual(['req-1', 'req-2', 'req-3']);
  });

  it('any difference in the decision is kept in full: scopes, claim values, identity, step latency, refusal, a non-plain value', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    const variants = [{}, { scope: 'orders:write' }, { aud: 'https://other.example' }, { sub: 'other' }, { latency: 1.5 }, { latency: 2.5 }, { refused: true }, { value: new Date(0) }, { value: new Date(1) }];
    variants.forEach((vary, i) => traces.keep(recorded(`var-${i}`, vary)));
    await traces.flush();
    for (let i = 0; i < variants.length; i++) {
      expect((await store.getRecord<{ v: number }>(TRACE_KIND, `var-${i}`))?.value.v).toBe(2);
      // As JSON keeps it (a Date as its ISO text).
      expect(await traces.get(`var-${i}`)).toEqual({ ...JSON.parse(JSON.stringify(recorded(`var-${i}`, variants[i]).toTrace())), at: expect.any(Number) });
    }
    expect(await store.listRecordIds(TRACE_BODY_KIND)).toEqual([]);
  });

  it('a decision\'s model outlives a write, but no reference crosses writes: each write holds the body its references name', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    traces.keep(recorded('a-1'));
    traces.keep(recorded('a-2'));
    await traces.flush();
    traces.keep(recorded('b-1'));
    traces.keep(recorded('b-2'));
    await traces.flush();
    const bodyOf = async (id: string) => (await store.getRecord<{ body?: string }>(TRACE_KIND, id))?.value.body;
    expect(await bodyOf('a-1')).toBeUndefined();
    expect(await bodyOf('b-1')).toBeDefined();
    expect(await bodyOf('b-2')).toBe(await bodyOf('b-1'));
    expect(await bodyOf('b-2')).not.toBe(await bodyOf('a-2'));
    expect(await store.listRecordIds(TRACE_BODY_KIND)).toHaveLength(2);
    for (const id of ['a-1', 'a-2', 'b-1', 'b-2']) expect(await traces.get(id)).toMatchObject({ requestId: id });
  });

  it('a reference whose body is gone, or that names no valid body, reads as no trace (never another trace)', async () => {
    const store = new MemoryStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    traces.keep(recorded('m-1'));
    traces.keep(recorded('m-2'));
    await traces.flush();
    const { body } = (await store.getRecord<{ body: string }>(TRACE_KIND, 'm-2'))!.value;
    await store.deleteRecord(TRACE_BODY_KIND, body);
    expect(await traces.get('m-2')).toBeUndefined();
    expect(await storedTrace(store, 'm-2')).toBeUndefined();
    expect(await traces.get('m-1')).toMatchObject({ requestId: 'm-1' });
    // A body id that is a request id (not a body's form) is not followed.
    await store.putRecord(TRACE_KIND, 'forged', { v: 3, requestId: 'forged', at: 1, body: 'm-1' });
    expect(await traces.get('forged')).toBeUndefined();
    // A body that is itself a reference is not followed either.
    await store.putRecord(TRACE_BODY_KIND, '~00000000-0000-4000-8000-000000000000', { v: 3, requestId: 'x', at: 1, body: '~00000000-0000-4000-8000-000000000000' });
    await store.putRecord(TRACE_KIND, 'loop', { v: 3, requestId: 'loop', at: 1, body: '~00000000-0000-4000-8000-000000000000' });
    expect(await traces.get('loop')).toBeUndefined();
  });

  it('a body that cannot be written: the traces referring to it are counted lost, never left pointing at nothing', async () => {
    const store = new WatchedStore();
    store.failingKind = TRACE_BODY_KIND;
    const traces = new TraceStore(store, 60, { flushDelay: 5, onLoss });
    for (const id of ['f-1', 'f-2', 'f-3']) traces.keep(recorded(id));
    await traces.flush();
    expect(await traces.get('f-1')).toMatchObject({ requestId: 'f-1' });
    expect(await store.getRecord(TRACE_KIND, 'f-2')).toBeUndefined();
    expect(await store.getRecord(TRACE_KIND, 'f-3')).toBeUndefined();
    expect(losses).toEqual([['store_failed', 2, expect.any(Error)]]);
  });

  it('a recorder takes nothing once handed over: a model is compared as it was stored', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    const model = recorded('s-1');
    traces.keep(model);
    model.step({ kind: 'hook', hook: 'buildAccessTokenClaims', module: 'hooks.ts', latencyMs: 1, outcome: 'ran', input: {} });
    model.refuse('invalid_scope', 'late');
    const late = recorded('s-2', { latency: 1 });
    traces.keep(late);
    const same = recorded('s-3');
    traces.keep(same);
    await traces.flush();
    expect((await traces.get('s-1'))?.steps).toEqual([]);
    expect((await traces.get('s-1'))?.result.outcome).toBe('issued');
    expect((await traces.get('s-2'))?.steps).toHaveLength(1);
    expect(await traces.get('s-3')).toEqual({ ...(await traces.get('s-1')), requestId: 's-3', at: same.at });
  });

  it('each client keeps a model per endpoint and grant: a decision of another grant between two alike leaves the first model in place', async () => {
    const store = new WatchedStore();
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    const ofGrant = (requestId: string, grantType?: string, endpoint?: 'token' | 'passthrough') => {
      const recorder = recorded(requestId);
      if (grantType !== undefined) recorder.request({ grantType });
      if (endpoint !== undefined) recorder.request({ endpoint });
      return recorder;
    };
    for (const recorder of [ofGrant('a-1'), ofGrant('b-1', 'urn:ietf:params:oauth:grant-type:token-exchange'), ofGrant('p-1', undefined, 'passthrough'), ofGrant('a-2'), ofGrant('b-2', 'urn:ietf:params:oauth:grant-type:token-exchange'), ofGrant('p-2', undefined, 'passthrough')]) traces.keep(recorder);
    await traces.flush();
    const version = async (id: string) => (await store.getRecord<{ v: number }>(TRACE_KIND, id))?.value.v;
    expect(await Promise.all(['a-1', 'b-1', 'p-1', 'a-2', 'b-2', 'p-2'].map(version))).toStrictEqual([2, 2, 2, 3, 3, 3]);
    expect(await traces.get('b-2')).toMatchObject({ requestId: 'b-2', request: { grantType: 'urn:ietf:params:oauth:grant-type:token-exchange', endpoint: 'token' } });
    expect(await traces.get('p-2')).toMatchObject({ requestId: 'p-2', request: { endpoint: 'passthrough', grantType: 'client_credentials' } });
  });

  it('models are bounded: at most 64 decisions are remembered, the one remembered longest ago making way', async () => {
    const store = new WatchedStore();
    let release!: () => void;
    store.stall = new Promise((resolve) => { release = resolve; });
    const traces = new TraceStore(store, 60, { flushDelay: 5 });
    // A first write stalls; everything after waits behind it in one queue.
    traces.keep(recorded('stall-0'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const clients = Array.from({ length: 80 }, (_, i) => `client-${i}`);
    for (const n of [1, 2]) {
      // The second time round from the last: the last 64 are still remembered, the first 16 are not.
      for (const clientId of n === 1 ? clients : [...clients].reverse()) {
        const recorder = recorded(`${clientId}-${n}`);
        recorder.request({ clientId });
        traces.keep(recorder);
      }
    }
    release();
    await traces.flush();
    const references = [];
    for (const clientId of clients) if ((await store.getRecord<{ v: number }>(TRACE_KIND, `${clientId}-2`))?.value.v === 3) references.push(clientId);
    expect(references).toEqual(clients.slice(16));
    for (const clientId of clients) expect(await traces.get(`${clientId}-2`)).toMatchObject({ request: { clientId } });
  });

  it('bodies outlive the traces that refer to them (ttl + 60 s)', async () => {
    let now = Date.UTC(2026, 0, 1);
    const store = new MemoryStore({ clock: () => now });
    const traces = new TraceStore(store, 10, { flushDelay: 5 });
    traces.keep(recorded('t-1'));
    traces.keep(recorded('t-2'));
    await traces.flush();
    now += 9_000;
    expect(await traces.get('t-2')).toMatchObject({ requestId: 't-2' });
    now += 2_000;
    expect(await traces.get('t-2')).toBeUndefined();
    expect(await store.listRecordIds(TRACE_BODY_KIND)).toHaveLength(1);
    now += 60_000;
    expect(await store.listRecordIds(TRACE_BODY_KIND)).toHaveLength(0);
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
        // Five identical decisions: read back through their shared body, each with its own id.
        for (const id of ids) expect(await storedTrace(reopened, id)).toMatchObject({ requestId: id, request: { clientId: 'service' } });
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
