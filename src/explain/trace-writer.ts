// How waiting traces reach the store (explain/store.ts hands each write over): in batches, each in
// pages where several share a window of ids Baton issued (trace-pages.ts; a page holds the bodies its
// references name), the others one record each (kind TRACE_KIND) after the body records they refer to.
import type { Store } from '../storage/store.ts';
import type { TraceLoss } from './store.ts';
import { referencedBodyId } from './stored-trace.ts';
import type { TraceEntry } from './trace-buffer.ts';
import { TracePager } from './trace-pages.ts';
import { TRACE_BODY_KIND, TRACE_KIND } from './trace.ts';

/** A body outlives the traces referring to it (all written in the same write, moments after it). */
const BODY_EXTRA_SECONDS = 60;

export class TraceWriter {
  readonly #store: Store;
  readonly #pager: TracePager;
  readonly #ttl: number;
  readonly #batchSize: number;
  readonly #onLoss: (reason: TraceLoss, count: number, error?: unknown) => void;

  constructor(store: Store, ttl: number, batchSize: number, onLoss: (reason: TraceLoss, count: number, error?: unknown) => void, pageLateness?: number) {
    this.#store = store;
    this.#pager = new TracePager(store, pageLateness);
    this.#ttl = ttl;
    this.#batchSize = batchSize;
    this.#onLoss = onLoss;
  }

  /** Writes `entries` (in arrival order) in batches of at most batchSize, with the bodies their references name. */
  async write(entries: Iterable<TraceEntry>, bodies: readonly TraceEntry[]): Promise<void> {
    const write: WriteState = { bodies: new Map(bodies.map(({ id, json }) => [id, json])), written: new Set(), failed: new Set() };
    let batch: TraceEntry[] = [];
    // Of one id within this write the first stays (the store answers false to the others anyway),
    // and the trace under an id Baton issued besides: it is the request's own (read first: trace-pages.ts).
    const seen = new Set<string>();
    for (const entry of entries) {
      const key = entry.issuedId ? `+${entry.id}` : entry.id;
      if (seen.has(key)) continue;
      seen.add(key);
      batch.push(entry);
      if (batch.length >= this.#batchSize) {
        await this.#write(batch, write);
        batch = [];
      }
    }
    if (batch.length > 0) await this.#write(batch, write);
  }

  /**
   * A batch: in pages where several share a window of ids (trace-pages.ts; a page holds the bodies
   * its references name), the others one record each, after the body records they refer to: a
   * trace is never readable before its body, and a reference whose body could not be written is
   * lost, not left pointing at nothing.
   */
  async #write(batch: readonly TraceEntry[], write: WriteState): Promise<void> {
    const { rest, lost, error } = await this.#pager.write(batch, this.#ttl, (id) => write.bodies.get(id));
    if (lost > 0) this.#onLoss('store_failed', lost, error);
    if (rest.length === 0) return;
    const needed = new Map<string, string>();
    for (const { json } of rest) {
      const id = referencedBodyId(json);
      const body = id === undefined || write.written.has(id) || write.failed.has(id) ? undefined : write.bodies.get(id);
      if (body !== undefined) needed.set(id!, body);
    }
    if (needed.size > 0) {
      try {
        await this.#store.insertRecords(TRACE_BODY_KIND, [...needed].map(([id, json]) => ({ id, json })), this.#ttl + BODY_EXTRA_SECONDS);
        for (const id of needed.keys()) write.written.add(id);
      } catch {
        for (const id of needed.keys()) write.failed.add(id);
      }
    }
    // Under one id, the trace of the request Baton issued it to goes first (the store keeps the first).
    const ordered = rest.some((entry) => entry.issuedId) ? [...rest.filter((e) => e.issuedId), ...rest.filter((e) => !e.issuedId)] : rest;
    const rows = write.failed.size === 0 ? ordered : ordered.filter(({ json }) => !write.failed.has(referencedBodyId(json) ?? ''));
    if (rows.length < ordered.length) this.#onLoss('store_failed', ordered.length - rows.length, new Error('the shared body of these traces could not be written'));
    if (rows.length === 0) return;
    try {
      await this.#store.insertRecords(TRACE_KIND, rows, this.#ttl);
    } catch (failure) {
      this.#onLoss('store_failed', rows.length, failure);
    }
  }
}

/** The bodies of one write: their JSON by id, and which have a record of their own (or failed to get one). */
interface WriteState {
  readonly bodies: ReadonlyMap<string, string>;
  readonly written: Set<string>;
  readonly failed: Set<string>;
}
