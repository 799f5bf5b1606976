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
import { merged } from '../lang/merged.ts';
import type { Store } from '../storage/store.ts';
import { referencedBody, referencedBodyId, STORED_TRACE_VERSION } from './stored-trace.ts';
import type { TraceEntry } from './trace-buffer.ts';
import { TRACE_KIND } from './trace.ts';

/** Record kind of pages; each holds `{ v: 4, traces: [stored trace or reference, ...], bodies: { [id]: stored trace } }`. */
export const TRACE_PAGE_KIND = 'decision-trace-page';
export const TRACE_PAGE_VERSION = 4;

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

/** The first millisecond of a window. */
const windowStart = (window: string) => Number.parseInt(window, 16) * WINDOW_MS;

const pageId = (window: string, n: number) => `${window}.${n}`;

/** What a page write left: traces to store one record each, and traces lost with the error. */
export interface PagedWrite {
  readonly rest: TraceEntry[];
  readonly lost: number;
  readonly error?: unknown;
}

/** Writes traces in pages; the next free page number of each window, as this writer last found it. */
export class TracePager {
  readonly #store: Store;
  readonly #lateness: number;
  readonly #clock: () => number;
  readonly #next = new Map<string, number>();

  /** `lateness`: milliseconds after its window a trace may still be paged (LATENESS). */
  constructor(store: Store, lateness = LATENESS, clock: () => number = Date.now) {
    this.#store = store;
    this.#lateness = lateness;
    this.#clock = clock;
  }

  /**
   * Stores the traces under issued ids of every recent window with at least MIN_PAGE of them in
   * `entries` as one page per window; returns the others, to be stored one record each. Entries
   * carry one id each (the caller keeps the first of an id).
   */
  async write(entries: readonly TraceEntry[], ttl: number, bodyOf: (id: string) => string | undefined): Promise<PagedWrite> {
    const now = this.#clock();
    const windows = new Map<string, TraceEntry[]>();
    const rest: TraceEntry[] = [];
    for (const entry of entries) {
      const window = entry.issuedId ? pageWindow(entry.id) : undefined;
      // A window still recent (and not in the future: an issued id's time is this clock's or a replica's).
      const start = window === undefined ? NaN : windowStart(window);
      if (window === undefined || !(now - start < this.#lateness && start - now < this.#lateness)) {
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
      const json = pageJson(traces, bodyOf);
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

  #remember(window: string, next: number): void {
    this.#next.delete(window);
    this.#next.set(window, next);
    // Windows are written in time order: the one remembered longest ago goes first.
    if (this.#next.size > REMEMBERED_WINDOWS) this.#next.delete(this.#next.keys().next().value!);
  }
}

/**
 * The page's JSON text, from the traces' own JSON texts as they are (nothing encoded again), with
 * the bodies its references name (explain/store.ts `keep`) inside it: a page never refers to
 * another record, and a reference in it is never readable without its body.
 */
function pageJson(traces: readonly TraceEntry[], bodyOf: (id: string) => string | undefined): string {
  let json = `{"v":${TRACE_PAGE_VERSION},"traces":[`;
  let bodies = '';
  const named = new Set<string>();
  for (let i = 0; i < traces.length; i++) {
    const trace = traces[i]!.json;
    json += i === 0 ? trace : `,${trace}`;
    const id = referencedBodyId(trace);
    if (id === undefined || named.has(id)) continue;
    named.add(id);
    const body = bodyOf(id);
    if (body !== undefined) bodies += `${bodies === '' ? '' : ','}"${id}":${body}`;
  }
  return `${json}],"bodies":{${bodies}}}`;
}

/**
 * The stored entries of a page record's value (empty for anything that is not a page), a reference
 * read through the body it names in the page (as a stored trace with its own id and time).
 */
export function pageTraces(value: unknown): StoredEntry[] {
  const page = value as { v?: unknown; traces?: unknown; bodies?: unknown } | null;
  if (typeof page !== 'object' || page === null || page.v !== TRACE_PAGE_VERSION || !Array.isArray(page.traces)) return [];
  const bodies = typeof page.bodies === 'object' && page.bodies !== null ? page.bodies as Record<string, unknown> : {};
  return page.traces.filter(isStoredEntry).map((entry) => {
    const id = referencedBody(entry);
    const body = id === undefined || !Object.hasOwn(bodies, id) ? undefined : bodies[id];
    // Only a stored trace stands in for a reference (never another reference, nor anything else).
    return isStoredEntry(body) && body.v === STORED_TRACE_VERSION ? merged(body, { requestId: entry.requestId, at: entry.at }) : entry;
  });
}

type StoredEntry = Record<string, unknown> & { requestId: string; at: number };

function isStoredEntry(entry: unknown): entry is StoredEntry {
  const trace = entry as { requestId?: unknown; at?: unknown } | null;
  return typeof trace === 'object' && trace !== null && typeof trace.requestId === 'string' && typeof trace.at === 'number';
}

/**
 * The stored value of the trace under a request id, as written; undefined when none. A page's
 * (only the request the id was issued to is in one) before the id's own record.
 */
export async function storedValue(store: Store, requestId: string): Promise<unknown> {
  const window = pageWindow(requestId);
  if (window !== undefined) {
    for (let n = 0; n < MAX_PAGES; n++) {
      const page = await store.getRecord<unknown>(TRACE_PAGE_KIND, pageId(window, n));
      if (!page) break;
      const trace = pageTraces(page.value).find((entry) => entry.requestId === requestId);
      if (trace) return trace;
    }
  }
  return (await store.getRecord<unknown>(TRACE_KIND, requestId))?.value;
}

/** Every stored trace's value, one per request id (a page's before a record's), in no particular order. A maintenance read. */
export async function allStoredValues(store: Store): Promise<unknown[]> {
  const byId = new Map<string, unknown>();
  for (const id of await store.listRecordIds(TRACE_PAGE_KIND)) {
    const page = await store.getRecord<unknown>(TRACE_PAGE_KIND, id);
    for (const trace of pageTraces(page?.value)) if (!byId.has(trace.requestId)) byId.set(trace.requestId, trace);
  }
  for (const id of await store.listRecordIds(TRACE_KIND)) {
    if (byId.has(id)) continue;
    const record = await store.getRecord<unknown>(TRACE_KIND, id);
    if (record) byId.set(id, record.value);
  }
  return [...byId.values()];
}
