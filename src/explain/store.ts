// Where traces live: Baton's store, one record per request id (kind TRACE_KIND), expiring after
// `explain.ttl` on every backend. The first trace written under an id stays: a client that sends
// another request's X-Request-Id cannot overwrite that request's trace.
//
// Requests hand their traces over with `enqueue`: they wait a few milliseconds in memory and are
// written in batches (Store.insertRecords: one transaction or round trip per batch), so tracing
// every request does not cost one storage commit per request. A trace waiting here is already
// readable through `get`. The queue is bounded; `close` writes what waits before the store closes.
import type { Store } from '../storage/store.ts';
import { TRACE_KIND, TRACE_VERSION, type DecisionTrace } from './trace.ts';

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
  /** `count` traces were not stored, and why (metrics, logs). `error` when the store refused the write. */
  readonly onLoss?: (reason: TraceLoss, count: number, error?: unknown) => void;
}

export class TraceStore {
  readonly #store: Store;
  readonly #ttl: number;
  readonly #batchSize: number;
  readonly #flushDelay: number;
  readonly #maxQueued: number;
  readonly #onLoss: (reason: TraceLoss, count: number, error?: unknown) => void;
  /** Waiting to be written, by request id, in arrival order. */
  #queued = new Map<string, DecisionTrace>();
  /** The batch being written (still readable until the write settles). */
  #writing = new Map<string, DecisionTrace>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(store: Store, ttlSeconds: number, options: TraceStoreOptions = {}) {
    this.#store = store;
    this.#ttl = ttlSeconds;
    this.#batchSize = options.batchSize ?? 256;
    this.#flushDelay = options.flushDelay ?? 20;
    this.#maxQueued = options.maxQueued ?? 10_000;
    this.#onLoss = options.onLoss ?? (() => undefined);
  }

  /** Writes one trace now. Resolves false when a trace already exists under this id. */
  async put(trace: DecisionTrace): Promise<boolean> {
    return this.#store.putRecord(TRACE_KIND, trace.requestId, trace, { expectedVersion: 0, expiresIn: this.#ttl });
  }

  /**
   * Hands a trace over for a batched write (never throws, never waits). Of traces enqueued under one
   * id the first is kept; a trace already stored under that id stays (the later one is not written).
   */
  enqueue(trace: DecisionTrace): void {
    if (this.#closed) return this.#onLoss('closed', 1);
    if (this.#queued.has(trace.requestId) || this.#writing.has(trace.requestId)) return;
    if (this.#queued.size >= this.#maxQueued) return this.#onLoss('queue_full', 1);
    this.#queued.set(trace.requestId, trace);
    if (this.#queued.size >= this.#batchSize) this.#writeSoon(0);
    else this.#writeSoon(this.#flushDelay);
  }

  /** Writes every waiting trace; resolves when they are all written (or reported lost). */
  async flush(): Promise<void> {
    while (this.#flushing || this.#queued.size > 0) {
      if (this.#flushing) await this.#flushing;
      else this.#startWrite();
    }
  }

  /** Writes what waits, then takes no more traces. Call before closing the store. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** The trace, or undefined when unknown, expired, malformed id, or written by an incompatible version. */
  async get(requestId: string): Promise<DecisionTrace | undefined> {
    if (!REQUEST_ID.test(requestId)) return undefined;
    const record = await this.#store.getRecord<DecisionTrace>(TRACE_KIND, requestId);
    // What is stored wins over a trace still waiting under the same id (first write wins).
    const trace = record?.value ?? this.#writing.get(requestId) ?? this.#queued.get(requestId);
    return trace && trace.v === TRACE_VERSION ? trace : undefined;
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

  #startWrite(): void {
    const batch: DecisionTrace[] = [];
    for (const [id, trace] of this.#queued) {
      if (batch.length >= this.#batchSize) break;
      batch.push(trace);
      this.#queued.delete(id);
      this.#writing.set(id, trace);
    }
    this.#flushing = this.#write(batch).finally(() => {
      this.#writing = new Map();
      this.#flushing = undefined;
      // More arrived while writing: a full batch goes now, a partial one after the usual delay.
      if (this.#queued.size > 0 && !this.#closed) this.#writeSoon(this.#queued.size >= this.#batchSize ? 0 : this.#flushDelay);
    });
  }

  async #write(batch: DecisionTrace[]): Promise<void> {
    try {
      await this.#store.insertRecords(TRACE_KIND, batch.map((trace) => ({ id: trace.requestId, value: trace })), this.#ttl);
    } catch (error) {
      this.#onLoss('store_failed', batch.length, error);
    }
  }
}
