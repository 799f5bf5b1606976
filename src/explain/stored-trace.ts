// How a decision trace is kept in the store: the trace as `baton explain --json`, the admin endpoint
// and `baton replay --export` show it (DecisionTrace, version 1), except that the claims of the
// result are grouped per token: each token and resource named once, each claim a tuple
// [name, by, value?]. A token's claims repeated the token and the resource in every entry, more than
// half of a typical trace; when every request is traced, the bytes each trace costs are encoded,
// written and held in memory per request. Records of the earlier form (the DecisionTrace itself)
// are still read.
import { merged } from '../lang/merged.ts';
import { TRACE_VERSION, type ClaimOrigin, type DecisionTrace, type TraceActor, type TraceResult } from './trace.ts';

/** Version of the stored form (1 = the DecisionTrace itself, as stored before). */
export const STORED_TRACE_VERSION = 2;

/** One claim: its name, who set it, and its value unless it has none in traces (PER_TOKEN_CLAIMS). */
export type StoredClaim = readonly [claim: string, by: TraceActor, value?: unknown];

/** The claims of one token, in the order they were recorded. */
export interface StoredToken {
  readonly token: ClaimOrigin['token'];
  readonly resource?: string;
  readonly claims: readonly StoredClaim[];
}

export interface StoredTrace extends Omit<DecisionTrace, 'v' | 'result'> {
  readonly v: typeof STORED_TRACE_VERSION;
  readonly result: Omit<TraceResult, 'claims'> & { readonly tokens: readonly StoredToken[] };
}

/** The stored form of a trace (claims grouped per token and resource, first appearance first). */
export function storedForm(trace: DecisionTrace): StoredTrace {
  const tokens = new Map<string, { token: ClaimOrigin['token']; resource?: string; claims: StoredClaim[] }>();
  for (const { token, resource, claim, by, value } of trace.result.claims) {
    const key = resource === undefined ? token : `${token} ${resource}`;
    let group = tokens.get(key);
    if (!group) {
      group = resource === undefined ? { token, claims: [] } : { token, resource, claims: [] };
      tokens.set(key, group);
    }
    group.claims.push(value === undefined ? [claim, by] : [claim, by, value]);
  }
  const { claims: _claims, ...result } = trace.result;
  const { v: _v, ...rest } = trace;
  return { v: STORED_TRACE_VERSION, ...rest, result: merged(result, { tokens: [...tokens.values()] }) };
}

/** The claims of grouped tokens as the trace lists them, one ClaimOrigin per claim, in order. */
export function claimOrigins(tokens: Iterable<{ readonly token: ClaimOrigin['token']; readonly resource?: string; readonly claims: Iterable<StoredClaim> }>): ClaimOrigin[] {
  const claims: ClaimOrigin[] = [];
  for (const { token, resource, claims: tuples } of tokens) {
    for (const [claim, by, ...rest] of tuples) {
      const origin: { -readonly [K in keyof ClaimOrigin]: ClaimOrigin[K] } = resource === undefined ? { token, claim, by } : { token, resource, claim, by };
      if (rest.length > 0) origin.value = rest[0];
      claims.push(origin);
    }
  }
  return claims;
}

/**
 * A trace that made exactly the same decision as another written with it (explain/store.ts): its
 * request id and time, and the id of the body record (kind TRACE_BODY_KIND) holding that other
 * trace in the stored form.
 */
export interface TraceReference {
  readonly v: typeof TRACE_REFERENCE_VERSION;
  readonly requestId: string;
  readonly at: number;
  readonly body: string;
}

export const TRACE_REFERENCE_VERSION = 3;

/** Body ids: random, never a request id (REQUEST_ID has no `~`). */
export const BODY_ID = /^~[0-9a-f-]{36}$/;

/** The reference's JSON text, built without JSON.stringify of an object (this runs per traced request). */
export function referenceJson(requestId: string, at: number, body: string): string {
  return `{"v":${TRACE_REFERENCE_VERSION},"requestId":${JSON.stringify(requestId)},"at":${at},"body":"${body}"}`;
}

/** The body id a stored record refers to, when it is a reference. */
export function referencedBody(value: unknown): string | undefined {
  const ref = value as Partial<TraceReference> | null;
  return typeof ref === 'object' && ref !== null && ref.v === TRACE_REFERENCE_VERSION && typeof ref.requestId === 'string'
    && typeof ref.at === 'number' && typeof ref.body === 'string' && BODY_ID.test(ref.body) ? ref.body : undefined;
}

/**
 * The trace in a stored record of any form: a reference is read through `body` (its body
 * record's value, or undefined when that is gone); undefined for anything unreadable.
 */
export async function resolveStored(value: unknown, body: (id: string) => Promise<unknown>): Promise<DecisionTrace | undefined> {
  const id = referencedBody(value);
  if (id === undefined) return traceFromStored(value);
  const shared = await body(id);
  if (!isTraceShaped(shared) || shared.v === TRACE_REFERENCE_VERSION) return undefined;
  const { requestId, at } = value as TraceReference;
  return traceFromStored(merged(shared, { requestId, at }));
}

/**
 * The trace in a stored record, of either full form; undefined for anything else (a record written
 * by an incompatible version, a reference (resolveStored), or not a trace).
 */
export function traceFromStored(value: unknown): DecisionTrace | undefined {
  if (!isTraceShaped(value)) return undefined;
  if (value.v === TRACE_VERSION) return value as unknown as DecisionTrace;
  if (value.v !== STORED_TRACE_VERSION) return undefined;
  const stored = value as unknown as StoredTrace;
  if (!Array.isArray(stored.result.tokens) || !stored.result.tokens.every(isStoredToken)) return undefined;
  const claims = claimOrigins(stored.result.tokens);
  const { tokens: _tokens, ...result } = stored.result;
  const { v: _v, ...rest } = stored;
  return { v: TRACE_VERSION, ...rest, result: merged(result, { claims }) };
}

function isTraceShaped(value: unknown): value is Record<string, unknown> & { v: unknown; result: Record<string, unknown> } {
  const trace = value as Record<string, unknown> | null;
  return typeof trace === 'object' && trace !== null && typeof trace.requestId === 'string' && typeof trace.at === 'number'
    && typeof trace.request === 'object' && trace.request !== null && typeof trace.result === 'object' && trace.result !== null;
}

function isStoredToken(entry: unknown): entry is StoredToken {
  const token = entry as Partial<StoredToken> | null;
  return typeof token === 'object' && token !== null && typeof token.token === 'string'
    && (token.resource === undefined || typeof token.resource === 'string') && Array.isArray(token.claims)
    && token.claims.every((claim) => Array.isArray(claim) && claim.length >= 2 && claim.length <= 3 && typeof claim[0] === 'string' && typeof claim[1] === 'string');
}
