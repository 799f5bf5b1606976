// The storage contract every backend (memory, sqlite; later postgres, redis) implements, and that
// test/conformance/storage.test.ts proves for each. Two families of records:
//  - models: oidc-provider's artifacts (Session, Grant, AuthorizationCode, RefreshToken, ...),
//    addressed by (model, id) with secondary lookups by uid, userCode and grantId;
//  - records: Baton's own state (key set, accounts, later the upstream vault and replay caches),
//    addressed by (kind, id), with an optimistic version for compare-and-set.

/** A stored oidc-provider payload. Opaque to the store except for the indexed fields. */
export interface ModelPayload {
  readonly [key: string]: unknown;
  readonly grantId?: string;
  readonly uid?: string;
  readonly userCode?: string;
  readonly consumed?: number;
}

export interface StoredRecord<T = unknown> {
  readonly value: T;
  /** Starts at 1 on insert and increases by one on every successful write. */
  readonly version: number;
}

export interface PutRecordOptions {
  /**
   * Compare-and-set: `0` means "only if absent", `n > 0` means "only if the stored version is n".
   * Omitted: unconditional write.
   */
  readonly expectedVersion?: number;
  /** Seconds until the record expires; omitted means it never does. */
  readonly expiresIn?: number;
}

export interface Store {
  /** Backend name for logs and metrics. */
  readonly kind: string;

  /**
   * Inserts or replaces a model instance. `expiresIn` (seconds) sets when it stops being found;
   * omitted means no expiry. MUST replace the payload and the indexes atomically and MUST reset
   * `consumed` to the payload's own value.
   */
  upsert(model: string, id: string, payload: ModelPayload, expiresIn?: number): Promise<void>;

  /** MUST return undefined when absent or expired. Returns `consumed` (epoch seconds) once consumed. */
  find(model: string, id: string): Promise<ModelPayload | undefined>;

  /** Lookup by the payload's `uid` (Session). Same expiry rule as `find`. */
  findByUid(model: string, uid: string): Promise<ModelPayload | undefined>;

  /** Lookup by the payload's `userCode` (DeviceCode). Same expiry rule as `find`. */
  findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined>;

  /**
   * Marks a one-time artifact (authorization code, refresh token, device code) consumed.
   * MUST be atomic in the backend: of any number of concurrent calls for the same (model, id),
   * from any number of processes, exactly one resolves `true`; every other call, and any call for
   * an absent, expired or already consumed instance, resolves `false`.
   */
  consume(model: string, id: string): Promise<boolean>;

  /** Removes one instance; removing an absent one is not an error. */
  destroy(model: string, id: string): Promise<void>;

  /**
   * Removes every instance of `model` whose payload carries this `grantId`. MUST be atomic per
   * call: no instance of the grant survives a completed call.
   */
  revokeByGrantId(model: string, grantId: string): Promise<void>;

  /**
   * The ids of the live instances of `model`, in no particular order. For maintenance (the
   * token-id migration), never for request paths: it reads every instance of the model.
   */
  listModelIds(model: string): Promise<string[]>;

  /**
   * Moves one instance to another id with a new payload (indexes follow the new payload), keeping
   * its expiry and consumed state. MUST be atomic: when `from` holds a live instance and nothing is
   * stored under `to` (not even an expired, uncollected instance), the instance then exists only
   * under `to` and the call resolves `true`; otherwise nothing changes and it resolves `false`. Of
   * concurrent calls with the same `from`, from any number of processes, at most one wins.
   */
  rekey(model: string, from: string, to: string, payload: ModelPayload): Promise<boolean>;

  /** Reads one of Baton's own records; undefined when absent or expired. Values are JSON (no Dates, no undefined). */
  getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined>;

  /**
   * Writes one of Baton's own records. With `expectedVersion` the write MUST be an atomic
   * compare-and-set: it resolves `false`, writing nothing, when the stored version differs (an
   * expired record counts as absent). Resolves `true` when written. Leases are taken this way
   * (`expectedVersion: 0`, e.g. one rotation per refresh token): of any number of concurrent calls
   * for the same (kind, id), from any number of processes, exactly one MUST resolve `true`.
   */
  putRecord<T>(kind: string, id: string, value: T, options?: PutRecordOptions): Promise<boolean>;

  /**
   * Inserts many records of one kind, each only if absent: for every entry exactly what
   * `putRecord(kind, id, value, { expectedVersion: 0, expiresIn })` does (an expired record counts
   * as absent; each entry atomic on its own, not the batch as a whole), in one transaction or round
   * trip where the backend has one. Resolves one boolean per entry, in order: `true` when written;
   * `false` when a live record exists, or when an earlier entry of the same call has the same id.
   * For write-heavy background records (decision traces), never for leases. Each value comes as
   * its JSON text (`JSON.stringify` output, encoded once by the caller where it is cheapest, and
   * written as it is); `getRecord` returns it parsed.
   */
  insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]>;

  /** Removes a record; removing an absent one is not an error. */
  deleteRecord(kind: string, id: string): Promise<void>;

  /**
   * The ids of the live records of `kind`, in no particular order, each once. MUST NOT list an
   * expired record nor a record of another kind (not even one whose kind starts with `kind`). For
   * maintenance (`baton replay --from-store` reads the stored decision traces), never for request
   * paths: it reads every record of the kind (Redis: SCAN, never KEYS).
   */
  listRecordIds(kind: string): Promise<string[]>;

  /** Deletes expired models and records; returns how many were removed. MUST NOT block readers for long. */
  collectExpired(): Promise<number>;

  /** Resolves when the backend answers; rejects otherwise (used by /readyz). */
  ping(): Promise<void>;

  /** Releases connections and files; idempotent. Every other call after close rejects. */
  close(): Promise<void>;
}

/** Epoch milliseconds; injected so expiry is deterministic in tests. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

export function expiresAt(clock: Clock, expiresIn: number | undefined): number | null {
  return expiresIn === undefined ? null : clock() + expiresIn * 1000;
}
