// Where `baton preview --recorded` and `baton replay` read decision traces from: Baton's store
// (pages and records of traces, trace-pages.ts, enumerated with listRecordIds, a maintenance read) or a file of JSON lines,
// one DecisionTrace per line, as `baton replay --export` writes them.
import { readFileSync } from 'node:fs';

import type { Store } from '../storage/store.ts';
import { resolveStored } from './stored-trace.ts';
import { allStoredValues, storedValue } from './trace-pages-read.ts';
import { TRACE_BODY_KIND, TRACE_VERSION, type DecisionTrace } from './trace.ts';

/** A file or record that is not a trace this code can read. */
export class TraceSourceError extends Error {
  override readonly name = 'TraceSourceError';
}

/** Reads body records (the trace several identical decisions share), each once. */
type Bodies = (id: string) => Promise<unknown>;

function bodiesOf(store: Store): Bodies {
  const read = new Map<string, Promise<unknown>>();
  return (id) => {
    let body = read.get(id);
    if (!body) {
      body = store.getRecord<unknown>(TRACE_BODY_KIND, id).then((record) => record?.value);
      read.set(id, body);
    }
    return body;
  };
}

export async function storedTrace(store: Store, requestId: string): Promise<DecisionTrace | undefined> {
  return readableTrace(await storedValue(store, requestId), bodiesOf(store));
}

async function readableTrace(value: unknown, bodies: Bodies): Promise<DecisionTrace | undefined> {
  const trace = value === undefined ? undefined : await resolveStored(value, bodies);
  return trace && readable(trace) ? trace : undefined;
}

/** Every stored trace this version can read, oldest first, then by request id (one that expired meanwhile is skipped). */
export async function storedTraces(store: Store): Promise<DecisionTrace[]> {
  const traces: DecisionTrace[] = [];
  const bodies = bodiesOf(store);
  for (const value of await allStoredValues(store)) {
    const trace = await readableTrace(value, bodies);
    if (trace) traces.push(trace);
  }
  return traces.sort((a, b) => a.at - b.at || a.requestId.localeCompare(b.requestId));
}

/** JSON lines (blank lines ignored); a file holding one JSON trace is read too. */
export function traceFile(path: string): DecisionTrace[] {
  const text = readFileSync(path, 'utf8');
  const lines = isOneJsonObject(text) ? [text] : text.split('\n');
  return lines.filter((line) => line.trim() !== '').map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new TraceSourceError(`${path}:${i + 1}: not JSON`);
    }
    if (!readable(value)) throw new TraceSourceError(`${path}:${i + 1}: not a decision trace of version ${TRACE_VERSION}`);
    return value;
  });
}

/** Traces as JSON lines, for `baton replay --export`. */
export function toJsonLines(traces: readonly DecisionTrace[]): string {
  return traces.map((trace) => `${JSON.stringify(trace)}\n`).join('');
}

function readable(value: unknown): value is DecisionTrace {
  const trace = value as Partial<DecisionTrace> | null;
  return typeof trace === 'object' && trace !== null && trace.v === TRACE_VERSION && typeof trace.requestId === 'string'
    && typeof trace.at === 'number' && typeof trace.request === 'object' && typeof trace.result === 'object';
}

function isOneJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
