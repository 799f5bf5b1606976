// Reading pages of decision traces (trace-pages.ts writes them): the trace under a request id is
// looked for in its window's pages, `.0`, `.1`, ... until one is missing, before the id's own
// record. A page holds only the trace of the request an issued id was issued to; what is not a
// page, or not a stored trace in one, is never read as a trace. Pages of version 4 (a reference
// object per shared decision, bodies by id) are read as well as those of version 5.
import { merged } from '../lang/merged.ts';
import type { Store } from '../storage/store.ts';
import { referencedBody, STORED_TRACE_VERSION } from './stored-trace.ts';
import { MAX_PAGES, pageWindow, TRACE_PAGE_KIND, TRACE_PAGE_V4, TRACE_PAGE_VERSION } from './trace-pages.ts';
import { TRACE_KIND } from './trace.ts';

/**
 * The stored entries of a page record's value (empty for anything that is not a page), a reference
 * read through the body it names in the page (as a stored trace with its own id and time).
 */
export function pageTraces(value: unknown): StoredEntry[] {
  const page = pageOf(value);
  if (!page) return [];
  const traces: StoredEntry[] = [];
  for (const entry of page.traces) {
    const trace = readEntry(page, entry);
    if (trace) traces.push(trace);
  }
  return traces;
}

/** The stored entry under `requestId` in a page record's value, if any (only that entry is read). */
function pageTrace(value: unknown, requestId: string): StoredEntry | undefined {
  const page = pageOf(value);
  if (!page) return undefined;
  for (const entry of page.traces) {
    const id = Array.isArray(entry) ? entry[0] : (entry as { requestId?: unknown } | null)?.requestId;
    if (id !== requestId) continue;
    const trace = readEntry(page, entry);
    if (trace) return trace;
  }
  return undefined;
}

interface Page {
  readonly v: number;
  readonly traces: readonly unknown[];
  readonly bodies: unknown;
}

function pageOf(value: unknown): Page | undefined {
  const page = value as { v?: unknown; traces?: unknown } | null;
  if (typeof page !== 'object' || page === null || (page.v !== TRACE_PAGE_VERSION && page.v !== TRACE_PAGE_V4) || !Array.isArray(page.traces)) return undefined;
  return page as Page;
}

/** One entry of a page as a stored entry: a reference through its body in the page, a trace as it is; else undefined. */
function readEntry(page: Page, entry: unknown): StoredEntry | undefined {
  if (page.v === TRACE_PAGE_VERSION && Array.isArray(entry)) {
    const [requestId, at, slot] = entry as unknown[];
    if (entry.length !== 3 || typeof requestId !== 'string' || typeof at !== 'number' || !Number.isInteger(slot) || !Array.isArray(page.bodies)) return undefined;
    return sharedBody(page.bodies[slot as number], requestId, at);
  }
  if (!isStoredEntry(entry)) return undefined;
  // Version 5 holds shared decisions only as compact entries: an object in it is a trace in full, never a reference to another record.
  if (page.v !== TRACE_PAGE_V4) return referencedBody(entry) === undefined ? entry : undefined;
  const bodies = typeof page.bodies === 'object' && page.bodies !== null ? page.bodies as Record<string, unknown> : {};
  const id = referencedBody(entry);
  return (id !== undefined && Object.hasOwn(bodies, id) ? sharedBody(bodies[id], entry.requestId, entry.at) : undefined) ?? entry;
}

/** A page's body as the trace of `requestId` at `at`: only a stored trace stands in (never a reference, nor anything else). */
function sharedBody(body: unknown, requestId: string, at: number): StoredEntry | undefined {
  return isStoredEntry(body) && body.v === STORED_TRACE_VERSION ? merged(body, { requestId, at }) : undefined;
}

type StoredEntry = Record<string, unknown> & { requestId: string; at: number };

function isStoredEntry(entry: unknown): entry is StoredEntry {
  const trace = entry as { requestId?: unknown; at?: unknown } | null;
  return typeof trace === 'object' && trace !== null && !Array.isArray(trace) && typeof trace.requestId === 'string' && typeof trace.at === 'number';
}

/**
 * The stored value of the trace under a request id, as written; undefined when none. A page's
 * (only the request the id was issued to is in one) before the id's own record.
 */
export async function storedValue(store: Store, requestId: string): Promise<unknown> {
  const window = pageWindow(requestId);
  if (window !== undefined) {
    for (let n = 0; n < MAX_PAGES; n++) {
      const page = await store.getRecord<unknown>(TRACE_PAGE_KIND, `${window}.${n}`);
      if (!page) break;
      const trace = pageTrace(page.value, requestId);
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
