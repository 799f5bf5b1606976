// How waiting traces reach the store (explain/store.ts hands each write over): in batches, each in
// pages where several share a window of ids Baton issued (trace-pages.ts; a page holds the bodies its
// references name), the others one record each (kind TRACE_KIND) after the body records they refer to.
import type { Store } from '../storage/store.ts';
import type { TraceLoss } from './store.ts';
import type { TraceBuffer, TraceEntry } from './trace-buffer.ts';
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

  /** Writes the buffer's entries (in arrival order) in batches of at most batchSize, with the bodies their references name. */
  async write(buffer: TraceBuffer): Promise<void> {
    const write: WriteState = { written: new Set(), failed: new Set() };
    let batch: number[] = [];
    // Of one id within this write the first stays (the store answers false to the others anyway),
    // and the trace under an id Baton issued besides: it is the request's own (read first: trace-pages.ts).
    // Ids Baton issued are new for each request (74 random bits): only the others are compared.
    const seen = new Set<string>();
    for (const entry of buffer.offsets()) {
      if (!buffer.issued(entry)) {
        const id = buffer.id(entry);
        if (seen.has(id)) continue;
        seen.add(id);
      }
      batch.push(entry);
      if (batch.length >= this.#batchSize) {
        await this.#write(buffer, batch, write);
        batch = [];
      }
    }
    if (batch.length > 0) await this.#write(buffer, batch, write);
  }

  /**
   * A batch: in pages where several share a window of ids (trace-pages.ts; a page holds the bodies
   * its references name), the others one record each, after the body records they refer to: a
   * trace is never readable before its body, and a reference whose body could not be written is
   * lost, not left pointing at nothing.
   */
  async #write(buffer: TraceBuffer, batch: readonly number[], write: WriteState): Promise<void> {
    const { rest: offsets, lost, error } = await this.#pager.write(buffer, batch, this.#ttl);
    if (lost > 0) this.#onLoss('store_failed', lost, error);
    if (offsets.length === 0) return;
    const rest = offsets.map((offset) => ({ entry: buffer.entry(offset), body: buffer.body(offset) }));
    const needed = new Set<number>();
    for (const { body } of rest) if (body >= 0 && !write.written.has(body) && !write.failed.has(body)) needed.add(body);
    if (needed.size > 0) {
      try {
        await this.#store.insertRecords(TRACE_BODY_KIND, [...needed].map((body) => buffer.bodies[body]!), this.#ttl + BODY_EXTRA_SECONDS);
        for (const body of needed) write.written.add(body);
      } catch {
        for (const body of needed) write.failed.add(body);
      }
    }
    // Under one id, the trace of the request Baton issued it to goes first (the store keeps the first).
    const ordered = rest.some(({ entry }) => entry.issuedId) ? [...rest.filter(({ entry }) => entry.issuedId), ...rest.filter(({ entry }) => !entry.issuedId)] : rest;
    const rows: TraceEntry[] = [];
    for (const { entry, body } of ordered) if (!write.failed.has(body)) rows.push(entry);
    if (rows.length < ordered.length) this.#onLoss('store_failed', ordered.length - rows.length, new Error('the shared body of these traces could not be written'));
    if (rows.length === 0) return;
    try {
      await this.#store.insertRecords(TRACE_KIND, rows, this.#ttl);
    } catch (failure) {
      this.#onLoss('store_failed', rows.length, failure);
    }
  }
}

/** The bodies of one write (by index in the buffer) that have a record of their own, or failed to get one. */
interface WriteState {
  readonly written: Set<number>;
  readonly failed: Set<number>;
}
