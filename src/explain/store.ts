// Where traces live: Baton's store, one record per request id (kind TRACE_KIND), expiring after
// `explain.ttl` on every backend. The first trace written under an id stays: a client that sends
// another request's X-Request-Id cannot overwrite that request's trace.
import type { Store } from '../storage/store.ts';
import { TRACE_KIND, TRACE_VERSION, type DecisionTrace } from './trace.ts';

/** Request ids as Baton issues or accepts them (observability/request-log.ts). */
export const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export class TraceStore {
  readonly #store: Store;
  readonly #ttl: number;

  constructor(store: Store, ttlSeconds: number) {
    this.#store = store;
    this.#ttl = ttlSeconds;
  }

  /** Resolves false when a trace already exists under this id. */
  put(trace: DecisionTrace): Promise<boolean> {
    return this.#store.putRecord(TRACE_KIND, trace.requestId, trace, { expectedVersion: 0, expiresIn: this.#ttl });
  }

  /** The trace, or undefined when unknown, expired, malformed id, or written by an incompatible version. */
  async get(requestId: string): Promise<DecisionTrace | undefined> {
    if (!REQUEST_ID.test(requestId)) return undefined;
    const record = await this.#store.getRecord<DecisionTrace>(TRACE_KIND, requestId);
    return record && record.value.v === TRACE_VERSION ? record.value : undefined;
  }
}
