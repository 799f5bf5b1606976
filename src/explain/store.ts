// Where traces live: Baton's store, in pages of many traces (trace-pages.ts: Baton's own request ids,
// several of one 256 ms window in a write) or one record per request id (kind TRACE_KIND), expiring
// after `explain.ttl` on every backend. The first trace under an id stays: a client that sends
// another request's X-Request-Id cannot take that request's trace's place.
//
// Requests hand their traces over with `enqueue`: each is encoded at once (its stored form,
// stored-trace.ts, as JSON text written as it is), waits a few milliseconds outside the JavaScript
// heap (trace-buffer.ts: nothing of it is kept alive for the collector) and is written in batches
// (Store.insertRecords: one transaction or round trip per batch), so tracing every request does not
// cost one storage commit per request. A trace waiting here is already readable through `get`. The
// queue is bounded; `close` writes what waits before the store closes. A decision exactly like one
// kept before is kept as a reference to a shared body (`keep`), written in the same write.
import type { Store } from '../storage/store.ts';
import type { TraceRecorder } from './recorder.ts';
import { resolveStored, STORED_TRACE_VERSION, storedForm, type StoredTrace } from './stored-trace.ts';
import { TraceBuffer, type TraceBody } from './trace-buffer.ts';
import { storedValue } from './trace-pages-read.ts';
import { TraceWriter } from './trace-writer.ts';
import { TRACE_BODY_KIND, TRACE_KIND, type DecisionTrace } from './trace.ts';

/** Most decisions with a model at once (the one remembered longest ago makes way for a new one). */
const MAX_MODELS = 64;

/** The last trace kept in full for a client, grant and endpoint. */
interface Model {
  readonly recorder: TraceRecorder;
  readonly json: string;
  /** Where it is filed in TraceStore's models: client id, endpoint, grant type ('' for none). */
  readonly client: string;
  readonly endpoint: string;
  readonly grant: string;
  /** Its body's index among the waiting buffer's bodies, once a trace of this write (`write`) refers to it. */
  body?: number;
  write?: number;
}

/** Request ids as Baton issues or accepts them (observability/request-log.ts). */
export const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Why a trace was not stored. */
export type TraceLoss = 'queue_full' | 'store_failed' | 'closed';

export interface TraceStoreOptions {
  /** Most traces per write (default 256). */
  readonly batchSize?: number;
  /** Milliseconds the first waiting trace waits for others before its batch is written (default 20). */
  readonly flushDelay?: number;
  /** Most traces waiting in memory (default 10,000); beyond it new traces are dropped, never the process's memory. */
  readonly maxQueued?: number;
  /** Most bytes of encoded traces waiting (default 32 MiB): large traces are bounded by size, not only by count. */
  readonly maxQueuedBytes?: number;
  /** Milliseconds after its window a trace under an issued id may still be paged (trace-pages.ts LATENESS; tests shorten it). */
  readonly pageLateness?: number;
  /** `count` traces were not stored, and why (metrics, logs). `error` when the store refused the write. */
  readonly onLoss?: (reason: TraceLoss, count: number, error?: unknown) => void;
}

export class TraceStore {
  readonly #store: Store;
  readonly #writer: TraceWriter;
  readonly #ttl: number;
  readonly #batchSize: number;
  readonly #flushDelay: number;
  readonly #maxQueued: number;
  readonly #maxQueuedBytes: number;
  readonly #onLoss: (reason: TraceLoss, count: number, error?: unknown) => void;
  /** Waiting to be written, in arrival order: request id and the stored form as JSON text, or a reference to a body (few: one per model referred to). */
  #queued = new TraceBuffer();
  /** The traces being written (still readable until the write settles); then the next queue. */
  #writing = new TraceBuffer();
  /**
   * The model the next identical decision refers to, by client id, endpoint and grant type ('' for
   * none): maps of the strings requests carry, looked up without building a key string per request
   * (~0.4 us each: a new string to flatten and hash).
   */
  readonly #models = new Map<string, Map<string, Map<string, Model>>>();
  /** Every model, the one remembered longest ago first (at most MAX_MODELS). */
  readonly #remembered = new Set<Model>();
  /** Which write the traces waiting in `#queued` go in (a body is written with the traces that refer to it). */
  #write = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(store: Store, ttlSeconds: number, options: TraceStoreOptions = {}) {
    this.#store = store;
    this.#ttl = ttlSeconds;
    this.#batchSize = options.batchSize ?? 256;
    this.#flushDelay = options.flushDelay ?? 20;
    this.#maxQueued = options.maxQueued ?? 10_000;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 32 * 1024 * 1024;
    this.#onLoss = options.onLoss ?? (() => undefined);
    this.#writer = new TraceWriter(store, ttlSeconds, this.#batchSize, this.#onLoss, options.pageLateness);
  }

  /** Writes one trace now. Resolves false when a trace already exists under this id. */
  async put(trace: DecisionTrace): Promise<boolean> {
    return this.#store.putRecord(TRACE_KIND, trace.requestId, storedForm(trace), { expectedVersion: 0, expiresIn: this.#ttl });
  }

  /**
   * Hands a trace over for a batched write (never throws, never waits). Of traces enqueued under one
   * id the first is kept; a trace already stored under that id stays (the later one is not written:
   * the store inserts only where no record is). `issuedId`: the id is one Baton issued for the request
   * (TraceRecorder.issuedId), so the trace may be paged.
   */
  enqueue(trace: DecisionTrace | StoredTrace, issuedId = false): void {
    if (this.#closed) return this.#onLoss('closed', 1);
    if (this.#queued.count >= this.#maxQueued || this.#queued.size >= this.#maxQueuedBytes) return this.#onLoss('queue_full', 1);
    this.#queued.push(trace.requestId, JSON.stringify(trace.v === STORED_TRACE_VERSION ? trace : storedForm(trace)), issuedId);
    if (this.#queued.count >= this.#batchSize) this.#writeSoon(0);
    else this.#writeSoon(this.#flushDelay);
  }

  /**
   * Hands a finished request's trace over (the hot path: every traced request). A decision exactly
   * like the last one kept in full for its client, grant and endpoint (same request, identity, steps
   * with their latencies, scopes, claims, refusal) is kept as a reference to a body holding that
   * one, written in the same write (a page's own, or a body record): neither the trace nor its JSON
   * is built again, and the store writes a few dozen bytes instead of the whole trace. Read back (`get`, baton explain, replay), it is the
   * same trace with its own request id and time.
   */
  keep(recorder: TraceRecorder): void {
    if (this.#closed) return this.#onLoss('closed', 1);
    if (this.#queued.count >= this.#maxQueued || this.#queued.size >= this.#maxQueuedBytes) return this.#onLoss('queue_full', 1);
    const request = recorder.requested;
    const model = request && this.#models.get(request.clientId ?? '')?.get(request.endpoint)?.get(request.grantType ?? '');
    if (model && model.recorder.sameDecision(recorder)) {
      if (model.write !== this.#write) {
        model.body = this.#queued.addBody(model.json);
        model.write = this.#write;
      }
      this.#queued.pushReference(recorder.requestId, recorder.at, model.body!, recorder.issuedId);
    } else {
      const json = JSON.stringify(recorder.toStored());
      this.#queued.push(recorder.requestId, json, recorder.issuedId);
      if (request) this.#remember({ recorder, json, client: request.clientId ?? '', endpoint: request.endpoint, grant: request.grantType ?? '' });
    }
    // What was stored is what it reads back: the recorder takes nothing more (a model is compared as it was encoded).
    recorder.seal();
    this.#writeSoon(this.#queued.count >= this.#batchSize ? 0 : this.#flushDelay);
  }

  /** Writes every waiting trace; resolves when they are all written (or reported lost). */
  async flush(): Promise<void> {
    while (this.#flushing || this.#queued.count > 0) {
      if (this.#flushing) await this.#flushing;
      else this.#startWrite();
    }
  }

  /** Writes what waits, then takes no more traces. Call before closing the store. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#models.clear();
    this.#remembered.clear();
    await this.flush();
  }

  /** The trace, or undefined when unknown, expired, malformed id, or written by an incompatible version. */
  async get(requestId: string): Promise<DecisionTrace | undefined> {
    if (!REQUEST_ID.test(requestId)) return undefined;
    // Looked up before the store is asked: a write that completes meanwhile empties the buffer (and
    // the bodies with it: a page's references have no body record, their page holds it).
    const waiting = this.#waiting(requestId);
    const bodies = [this.#writing.bodies, this.#queued.bodies];
    const stored = await storedValue(this.#store, requestId);
    // What is stored wins over a trace still waiting under the same id (first write wins).
    const value: unknown = stored !== undefined ? stored : waiting === undefined ? undefined : JSON.parse(waiting);
    return value === undefined ? undefined : resolveStored(value, (id) => this.#body(id, bodies));
  }

  /** The JSON text of an entry waiting to be written (or being written) under `id`. */
  #waiting(id: string): string | undefined {
    return this.#writing.find(id) ?? this.#queued.find(id);
  }

  /** A body's stored trace: its record, else as it waited when the read began (`bodies`: the buffers' bodies then). */
  async #body(id: string, bodies: ReadonlyArray<readonly TraceBody[]>): Promise<unknown> {
    const waiting = bodies.flat().find((body) => body.id === id)?.json;
    const record = await this.#store.getRecord<unknown>(TRACE_BODY_KIND, id);
    if (record) return record.value;
    return waiting === undefined ? undefined : JSON.parse(waiting);
  }

  /** Schedules a write in `delay` ms unless one is scheduled sooner or under way (it continues with what waits). */
  #writeSoon(delay: number): void {
    if (this.#flushing) return;
    if (this.#timer && delay > 0) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#flushing) this.#startWrite();
    }, delay);
    this.#timer.unref();
  }

  /** The model of its client, endpoint and grant from now on; past MAX_MODELS the one remembered longest ago goes. */
  #remember(model: Model): void {
    let endpoints = this.#models.get(model.client);
    if (!endpoints) this.#models.set(model.client, endpoints = new Map());
    let grants = endpoints.get(model.endpoint);
    if (!grants) endpoints.set(model.endpoint, grants = new Map());
    const earlier = grants.get(model.grant);
    if (earlier) this.#remembered.delete(earlier);
    grants.set(model.grant, model);
    this.#remembered.add(model);
    if (this.#remembered.size > MAX_MODELS) this.#forget(this.#remembered.values().next().value!);
  }

  /** Drops a model, and the maps it leaves empty. Every remembered model is the one filed in its place. */
  #forget(model: Model): void {
    this.#remembered.delete(model);
    const endpoints = this.#models.get(model.client)!;
    const grants = endpoints.get(model.endpoint)!;
    grants.delete(model.grant);
    if (grants.size === 0) endpoints.delete(model.endpoint);
    if (endpoints.size === 0) this.#models.delete(model.client);
  }

  /** Everything waiting is written, in batches of at most batchSize, one after another. */
  #startWrite(): void {
    // A body is written with the traces that refer to it: the next write adds the bodies its traces refer to again.
    this.#write += 1;
    const writing = this.#queued;
    this.#queued = this.#writing;
    this.#writing = writing;
    this.#flushing = this.#writer.write(writing).finally(() => {
      writing.clear();
      this.#flushing = undefined;
      // More arrived while writing: a full batch goes now, a partial one after the usual delay.
      if (this.#queued.count > 0 && !this.#closed) this.#writeSoon(this.#queued.count >= this.#batchSize ? 0 : this.#flushDelay);
    });
  }
}
