// Pages of decision traces: many traces in one store record, so that storing every request's trace
// costs one insert per page instead of one per request. On SQLite an insert is three B-tree
// insertions whatever its size (the table, its key, the expiry index): with every request traced,
// that per-row cost, not the bytes, was what tracing cost (bench/README.md, tracing).
//
// A trace is looked up by its request id alone, so the page that holds it must be known from the
// id. Baton's own request ids are UUIDv7 (observability/request-log.ts): the time in milliseconds
// in their first 48 bits. A page holds traces of one window of ids, the ids' first 40 bits (256 ms),
// and the pages of a window are numbered from 0: record `<window>.<n>`, each inserted only where no
// record is, so that a writer (or another replica writing the same window) takes the next free
// number, and a reader reads `.0`, `.1`, ... until one is missing (at most MAX_PAGES). Every page of
// a window expires at the same moment (the window's end + ttl + LATENESS), so none goes missing
// before the others.
//
// Only traces under ids Baton issued (TraceRecorder.issuedId) are paged, only while the window is
// recent (LATENESS: a later trace, after a slow shadow authorizer, keeps its own record) and only
// where a write has several of one window (MIN_PAGE); any other trace (a proxy's or a client's
// X-Request-Id) keeps one record of kind TRACE_KIND, as before. So a client can neither create
// pages (in any window, past or future) nor be read in place of a request: an id Baton issued
// carries 74 random bits, and a page holds only the trace of the request it was issued to, which is
// read before a record under the same id (a client that sent that id afterwards).
//
// A page's text is assembled from the waiting bytes (trace-buffer.ts) as they are; trace-pages-read.ts reads pages.
import type { Store } from '../storage/store.ts';
import { PageText } from './page-text.ts';
import type { TraceBuffer } from './trace-buffer.ts';

/**
 * Record kind of pages; each holds `{ v: 5, traces: [stored trace, or [requestId, at, body], ...],
 * bodies: [stored trace, ...] }`: a trace that made the same decision as another (explain/store.ts
 * `keep`) is its request id, its time and the index of that decision's stored trace in `bodies`.
 * Pages of version 4 (a reference object per such trace, `bodies` by body id) are still read.
 */
export const TRACE_PAGE_KIND = 'decision-trace-page';
export const TRACE_PAGE_VERSION = 5;
export const TRACE_PAGE_V4 = 4;

/** Fewer traces than this of one window in a write are stored one record each (no page to look through for a quiet window). */
export const MIN_PAGE = 8;
/** Most pages per window: a reader looks through at most these; traces of a window beyond it get their own record. */
export const MAX_PAGES = 64;
/** The page numbers a writer remembers per window (the next free one), at most this many windows. */
const REMEMBERED_WINDOWS = 1024;
/** Milliseconds after its window a trace may still be paged (default); pages outlive their window's traces' ttl by this. */
export const LATENESS = 5_000;
const WINDOW_MS = 256;

/** A UUIDv7 as newRequestId writes it: the window is its first 40 bits (hex digits 1-8 and 10-11). */
const PAGED_ID = /^([0-9a-f]{8})-([0-9a-f]{2})[0-9a-f]{2}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The page window of a request id, or undefined when traces under this id are not paged. */
export function pageWindow(requestId: string): string | undefined {
  const match = PAGED_ID.exec(requestId);
  return match ? match[1]! + match[2]! : undefined;
}

/** Each byte's value as a lowercase hex digit, or -1. */
const HEX = new Int8Array(256).fill(-1);
for (let digit = 0; digit < 16; digit++) HEX['0123456789abcdef'.charCodeAt(digit)] = digit;

/** Whether bytes [from, to) are all lowercase hex digits. */
function hexDigits(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (HEX[bytes[i]!]! < 0) return false;
  return true;
}

/**
 * The window of an id's bytes as a number (the window's hex digits read as one), or -1 where
 * pageWindow would answer undefined: PAGED_ID checked byte by byte, without a string per id.
 */
export function windowOfBytes(bytes: Uint8Array, start: number, end: number): number {
  if (end - start !== 36) return -1;
  // xxxxxxxx-xxxx-7xxx-[89ab]xxx-xxxxxxxxxxxx
  if (bytes[start + 8] !== 0x2d || bytes[start + 13] !== 0x2d || bytes[start + 18] !== 0x2d || bytes[start + 23] !== 0x2d || bytes[start + 14] !== 0x37) return -1;
  const variant = bytes[start + 19];
  if (variant !== 0x38 && variant !== 0x39 && variant !== 0x61 && variant !== 0x62) return -1;
  if (!hexDigits(bytes, start, start + 8) || !hexDigits(bytes, start + 9, start + 13) || !hexDigits(bytes, start + 15, start + 18)
    || !hexDigits(bytes, start + 20, start + 23) || !hexDigits(bytes, start + 24, start + 36)) return -1;
  let window = 0;
  for (let i = start; i < start + 8; i++) window = window * 16 + HEX[bytes[i]!]!;
  return (window * 16 + HEX[bytes[start + 9]!]!) * 16 + HEX[bytes[start + 10]!]!;
}

/** The first millisecond of a window. */
const windowStart = (window: number) => window * WINDOW_MS;

const pageId = (window: number, n: number) => `${window.toString(16).padStart(10, '0')}.${n}`;

/** What a page write left: entries (offsets in the buffer) to store one record each, and traces lost with the error. */
export interface PagedWrite {
  readonly rest: number[];
  readonly lost: number;
  readonly error?: unknown;
}

/** Writes traces in pages; the next free page number of each window, as this writer last found it. */
export class TracePager {
  readonly #store: Store;
  readonly #lateness: number;
  readonly #clock: () => number;
  readonly #next = new Map<number, number>();
  readonly #text = new PageText();

  /** `lateness`: milliseconds after its window a trace may still be paged (LATENESS). */
  constructor(store: Store, lateness = LATENESS, clock: () => number = Date.now) {
    this.#store = store;
    this.#lateness = lateness;
    this.#clock = clock;
  }

  /**
   * Stores the entries (offsets in `buffer`) under issued ids of every recent window with at
   * least MIN_PAGE of them as one page per window; returns the others, to be stored one record
   * each. Entries carry one id each (the caller keeps the first of an id).
   */
  async write(buffer: TraceBuffer, entries: readonly number[], ttl: number): Promise<PagedWrite> {
    const now = this.#clock();
    const windows = new Map<number, number[]>();
    const rest: number[] = [];
    for (const entry of entries) {
      const window = buffer.issued(entry) ? windowOfBytes(buffer.bytes, ...buffer.idRange(entry)) : -1;
      // A window still recent (and not in the future: an issued id's time is this clock's or a replica's).
      const start = windowStart(window);
      if (window < 0 || !(now - start < this.#lateness && start - now < this.#lateness)) {
        rest.push(entry);
        continue;
      }
      let traces = windows.get(window);
      if (!traces) windows.set(window, traces = []);
      traces.push(entry);
    }
    let lost = 0;
    let error: unknown;
    for (const [window, traces] of windows) {
      let n = this.#next.get(window) ?? 0;
      if (traces.length < MIN_PAGE || n >= MAX_PAGES) {
        rest.push(...traces);
        continue;
      }
      const json = this.#pageJson(buffer, traces);
      // Every page of the window expires together: its traces are kept ttl after their window at least.
      const expiresIn = ttl + (windowStart(window) + WINDOW_MS + this.#lateness - now) / 1000;
      try {
        // A number another writer took meanwhile is refused (insert only where none is): the next one is tried.
        while (n < MAX_PAGES && !(await this.#store.insertRecords(TRACE_PAGE_KIND, [{ id: pageId(window, n), json }], expiresIn))[0]) n += 1;
      } catch (failure) {
        lost += traces.length;
        error = failure;
        continue;
      }
      this.#remember(window, Math.min(n + 1, MAX_PAGES));
      // The window has no page left: its traces keep a record each, as its next ones will at once.
      if (n >= MAX_PAGES) rest.push(...traces);
    }
    return error === undefined ? { rest, lost } : { rest, lost, error };
  }

  #remember(window: number, next: number): void {
    this.#next.delete(window);
    this.#next.set(window, next);
    // Windows are written in time order: the one remembered longest ago goes first.
    if (this.#next.size > REMEMBERED_WINDOWS) this.#next.delete(this.#next.keys().next().value!);
  }

  /**
   * The page's JSON text, from the waiting bytes as they are (nothing encoded again): a trace in
   * full as its JSON, a reference as `[id, at, k]` with the body it refers to the page's k-th in
   * `bodies`. A page never refers to another record.
   */
  #pageJson(buffer: TraceBuffer, entries: readonly number[]): string {
    const text = this.#text.begin().ascii(`{"v":${TRACE_PAGE_VERSION},"traces":[`);
    const bytes = buffer.bytes;
    const slots = new Map<number, number>();
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (i > 0) text.ascii(',');
      const body = buffer.body(entry);
      if (body < 0) {
        text.copy(bytes, ...buffer.jsonRange(entry));
        continue;
      }
      let slot = slots.get(body);
      if (slot === undefined) slots.set(body, slot = slots.size);
      text.ascii('["').copy(bytes, ...buffer.idRange(entry)).ascii('",').number(buffer.time(entry)).ascii(',').number(slot).ascii(']');
    }
    text.ascii('],"bodies":[');
    let first = true;
    for (const body of slots.keys()) {
      if (!first) text.ascii(',');
      first = false;
      text.utf8(buffer.bodies[body]!.json);
    }
    return text.ascii(']}').take();
  }
}
