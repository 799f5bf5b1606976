// In-process store for tests and `storage.type: memory`. Every operation completes synchronously
// inside one call, which is what makes consume and compare-and-set atomic here. Payloads and values
// are kept as their JSON text, as every persistent backend keeps them: each read parses a fresh
// copy (nothing a caller does to it reaches the store), and a write serializes once.
import { GroupedKeySets } from '../../lang/key-sets.ts';
import { type Clock, type ModelPayload, type PutRecordOptions, type Store, type StoredRecord, expiresAt, systemClock } from '../store.ts';

interface ModelEntry {
  /** The payload's JSON text. */
  json: string;
  /** The payload fields the secondary lookups match on, kept beside the text. */
  keys: Pick<ModelPayload, 'uid' | 'userCode' | 'grantId'>;
  expiresAt: number | null;
  consumed: number | null;
}

interface RecordEntry {
  /** The value's JSON text. */
  json: string;
  version: number;
  expiresAt: number | null;
}

/**
 * Entries by model (or kind), then by id: a lookup hashes the id as given, where one map keyed by
 * `model + id` would build, flatten and hash a new string on every call (~0.5 µs of each).
 */
type Shelves<E> = Map<string, Map<string, E>>;

export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly #models: Shelves<ModelEntry> = new Map();
  /** The secondary lookups (findByUid, findByUserCode, revokeByGrantId): ids by model, then value, not a scan of every model. */
  readonly #byUid = new GroupedKeySets();
  readonly #byUserCode = new GroupedKeySets();
  readonly #byGrantId = new GroupedKeySets();
  readonly #records: Shelves<RecordEntry> = new Map();
  readonly #clock: Clock;
  #closed = false;

  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  async upsert(model: string, id: string, payload: ModelPayload, expiresIn?: number): Promise<void> {
    this.#open();
    this.#setModel(model, id, modelEntry(payload, expiresAt(this.#clock, expiresIn), typeof payload.consumed === 'number' ? payload.consumed : null));
  }

  async find(model: string, id: string): Promise<ModelPayload | undefined> {
    this.#open();
    const entry = this.#live(model, id);
    return entry && present(entry);
  }

  async findByUid(model: string, uid: string): Promise<ModelPayload | undefined> {
    return this.#findBy(this.#byUid, model, 'uid', uid);
  }

  async findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined> {
    return this.#findBy(this.#byUserCode, model, 'userCode', userCode);
  }

  async consume(model: string, id: string): Promise<boolean> {
    this.#open();
    const entry = this.#live(model, id);
    if (!entry || entry.consumed !== null) return false;
    entry.consumed = Math.floor(this.#clock() / 1000);
    return true;
  }

  async destroy(model: string, id: string): Promise<void> {
    this.#open();
    this.#deleteModel(model, id);
  }

  async revokeByGrantId(model: string, grantId: string): Promise<void> {
    this.#open();
    const entries = this.#models.get(model);
    for (const id of this.#byGrantId.keys(model, grantId)) {
      if (entries?.get(id)?.keys.grantId === grantId) this.#deleteModel(model, id);
    }
  }

  async listModelIds(model: string): Promise<string[]> {
    this.#open();
    return [...this.#models.get(model) ?? []].filter(([, entry]) => !this.#expired(entry.expiresAt)).map(([id]) => id);
  }

  async rekey(model: string, from: string, to: string, payload: ModelPayload): Promise<boolean> {
    this.#open();
    const moved = this.#live(model, from);
    if (!moved || this.#models.get(model)?.has(to)) return false;
    // Encoded first: a payload that cannot be written leaves the instance where it was.
    const entry = modelEntry(withoutConsumed(payload), moved.expiresAt, moved.consumed);
    this.#deleteModel(model, from);
    this.#setModel(model, to, entry);
    return true;
  }

  async listRecordIds(kind: string): Promise<string[]> {
    this.#open();
    return [...this.#records.get(kind) ?? []].filter(([, entry]) => !this.#expired(entry.expiresAt)).map(([id]) => id);
  }

  async getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined> {
    this.#open();
    const entry = this.#liveRecord(kind, id);
    return entry && { value: JSON.parse(entry.json) as T, version: entry.version };
  }

  async insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]> {
    this.#open();
    const written: boolean[] = [];
    for (const { id, json } of records) written.push(this.#put(kind, id, json, { expectedVersion: 0, ...(expiresIn === undefined ? {} : { expiresIn }) }));
    return written;
  }

  async putRecord<T>(kind: string, id: string, value: T, options: PutRecordOptions = {}): Promise<boolean> {
    this.#open();
    return this.#put(kind, id, value === undefined ? 'null' : JSON.stringify(value), options);
  }

  #put(kind: string, id: string, json: string, options: PutRecordOptions): boolean {
    const current = this.#liveRecord(kind, id);
    if (options.expectedVersion !== undefined && (current?.version ?? 0) !== options.expectedVersion) return false;
    shelf(this.#records, kind).set(id, {
      json,
      version: (current?.version ?? 0) + 1,
      expiresAt: expiresAt(this.#clock, options.expiresIn),
    });
    return true;
  }

  async deleteRecord(kind: string, id: string): Promise<void> {
    this.#open();
    this.#records.get(kind)?.delete(id);
  }

  async collectExpired(): Promise<number> {
    this.#open();
    const now = this.#clock();
    let removed = 0;
    for (const [model, entries] of this.#models) {
      for (const [id, entry] of entries) {
        if (entry.expiresAt !== null && entry.expiresAt <= now) {
          this.#deleteModel(model, id);
          removed += 1;
        }
      }
    }
    for (const entries of this.#records.values()) {
      for (const [id, entry] of entries) {
        if (entry.expiresAt !== null && entry.expiresAt <= now) {
          entries.delete(id);
          removed += 1;
        }
      }
    }
    return removed;
  }

  async ping(): Promise<void> {
    this.#open();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new Error('store is closed');
  }

  #live(model: string, id: string): ModelEntry | undefined {
    const entry = this.#models.get(model)?.get(id);
    return entry && !this.#expired(entry.expiresAt) ? entry : undefined;
  }

  #liveRecord(kind: string, id: string): RecordEntry | undefined {
    const entry = this.#records.get(kind)?.get(id);
    return entry && !this.#expired(entry.expiresAt) ? entry : undefined;
  }

  #expired(at: number | null): boolean {
    return at !== null && at <= this.#clock();
  }

  #findBy(index: GroupedKeySets, model: string, field: 'uid' | 'userCode', value: string): ModelPayload | undefined {
    this.#open();
    for (const id of index.keys(model, value)) {
      const entry = this.#live(model, id);
      // The instance itself is asked too: the index only narrows the search.
      if (entry && entry.keys[field] === value) return present(entry);
    }
    return undefined;
  }

  /** Stores instance `id` of `model`, its lookups moved from what it replaces where they changed. */
  #setModel(model: string, id: string, entry: ModelEntry): void {
    const entries = shelf(this.#models, model);
    const before = entries.get(id)?.keys;
    entries.set(id, entry);
    const after = entry.keys;
    if (before?.uid !== after.uid) reindex(this.#byUid, model, before?.uid, after.uid, id);
    if (before?.userCode !== after.userCode) reindex(this.#byUserCode, model, before?.userCode, after.userCode, id);
    if (before?.grantId !== after.grantId) reindex(this.#byGrantId, model, before?.grantId, after.grantId, id);
  }

  #deleteModel(model: string, id: string): void {
    const entries = this.#models.get(model);
    const entry = entries?.get(id);
    if (!entries || !entry) return;
    reindex(this.#byUid, model, entry.keys.uid, undefined, id);
    reindex(this.#byUserCode, model, entry.keys.userCode, undefined, id);
    reindex(this.#byGrantId, model, entry.keys.grantId, undefined, id);
    entries.delete(id);
  }
}

/** The entries of one model or kind, created on its first write. */
function shelf<E>(shelves: Shelves<E>, name: string): Map<string, E> {
  let entries = shelves.get(name);
  if (!entries) {
    entries = new Map();
    shelves.set(name, entries);
  }
  return entries;
}

/** Moves instance `id` of `model` from one looked-up value to another (a value that is not a string is not looked up). */
function reindex(index: GroupedKeySets, model: string, from: unknown, to: unknown, id: string): void {
  if (typeof from === 'string') index.remove(model, from, id);
  if (typeof to === 'string') index.add(model, to, id);
}

/** A payload as kept: its JSON text, the fields secondary lookups match on, its expiry and consumed state. */
function modelEntry(payload: ModelPayload, expiresAt: number | null, consumed: number | null): ModelEntry {
  return { json: JSON.stringify(payload), keys: { uid: payload.uid, userCode: payload.userCode, grantId: payload.grantId }, expiresAt, consumed };
}

/** The consumed state lives beside the payload (see present), so a moved payload does not carry its own. */
function withoutConsumed(payload: ModelPayload): ModelPayload {
  const { consumed: _consumed, ...rest } = payload;
  return rest;
}

function present(entry: ModelEntry): ModelPayload {
  const payload = JSON.parse(entry.json) as Record<string, unknown>;
  if (entry.consumed !== null) payload.consumed = entry.consumed;
  return payload;
}
