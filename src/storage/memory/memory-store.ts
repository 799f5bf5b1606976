// In-process store for tests and `storage.type: memory`. Every operation completes synchronously
// inside one call, which is what makes consume and compare-and-set atomic here. Payloads and values
// are kept as their JSON text, as every persistent backend keeps them: each read parses a fresh
// copy (nothing a caller does to it reaches the store), and a write serializes once.
import { KeySets } from '../../lang/key-sets.ts';
import { type Clock, type ModelPayload, type PutRecordOptions, type Store, type StoredRecord, expiresAt, systemClock } from '../store.ts';

interface ModelEntry {
  /** The model it is an instance of (its key's prefix, kept so that nothing is read back out of a key). */
  model: string;
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

export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly #models = new Map<string, ModelEntry>();
  /** The secondary lookups (findByUid, findByUserCode, revokeByGrantId): each a lookup, not a scan of every model. */
  readonly #byUid = new KeySets();
  readonly #byUserCode = new KeySets();
  readonly #byGrantId = new KeySets();
  readonly #records = new Map<string, RecordEntry>();
  readonly #clock: Clock;
  #closed = false;

  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  async upsert(model: string, id: string, payload: ModelPayload, expiresIn?: number): Promise<void> {
    this.#open();
    this.#setModel(model, key(model, id), modelEntry(model, payload, expiresAt(this.#clock, expiresIn), typeof payload.consumed === 'number' ? payload.consumed : null));
  }

  async find(model: string, id: string): Promise<ModelPayload | undefined> {
    this.#open();
    const entry = this.#live(key(model, id));
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
    const entry = this.#live(key(model, id));
    if (!entry || entry.consumed !== null) return false;
    entry.consumed = Math.floor(this.#clock() / 1000);
    return true;
  }

  async destroy(model: string, id: string): Promise<void> {
    this.#open();
    this.#deleteModel(model, key(model, id));
  }

  async revokeByGrantId(model: string, grantId: string): Promise<void> {
    this.#open();
    for (const k of this.#byGrantId.keys(key(model, grantId))) {
      const entry = this.#models.get(k);
      if (entry?.model === model && entry.keys.grantId === grantId) this.#deleteModel(model, k);
    }
  }

  async listModelIds(model: string): Promise<string[]> {
    this.#open();
    const prefix = `${model}\u0000`;
    return [...this.#models].filter(([k, entry]) => k.startsWith(prefix) && !this.#expired(entry.expiresAt)).map(([k]) => k.slice(prefix.length));
  }

  async rekey(model: string, from: string, to: string, payload: ModelPayload): Promise<boolean> {
    this.#open();
    const moved = this.#live(key(model, from));
    if (!moved || this.#models.has(key(model, to))) return false;
    // Encoded first: a payload that cannot be written leaves the instance where it was.
    const entry = modelEntry(model, withoutConsumed(payload), moved.expiresAt, moved.consumed);
    this.#deleteModel(model, key(model, from));
    this.#setModel(model, key(model, to), entry);
    return true;
  }

  async listRecordIds(kind: string): Promise<string[]> {
    this.#open();
    const prefix = `${kind}\u0000`;
    return [...this.#records].filter(([k, entry]) => k.startsWith(prefix) && !this.#expired(entry.expiresAt)).map(([k]) => k.slice(prefix.length));
  }

  async getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined> {
    this.#open();
    const entry = this.#liveRecord(key(kind, id));
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
    const k = key(kind, id);
    const current = this.#liveRecord(k);
    if (options.expectedVersion !== undefined && (current?.version ?? 0) !== options.expectedVersion) return false;
    this.#records.set(k, {
      json,
      version: (current?.version ?? 0) + 1,
      expiresAt: expiresAt(this.#clock, options.expiresIn),
    });
    return true;
  }

  async deleteRecord(kind: string, id: string): Promise<void> {
    this.#open();
    this.#records.delete(key(kind, id));
  }

  async collectExpired(): Promise<number> {
    this.#open();
    const now = this.#clock();
    let removed = 0;
    for (const [k, entry] of this.#models) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) {
        this.#deleteModel(entry.model, k);
        removed += 1;
      }
    }
    for (const [k, entry] of this.#records) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) {
        this.#records.delete(k);
        removed += 1;
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

  #live(k: string): ModelEntry | undefined {
    const entry = this.#models.get(k);
    return entry && !this.#expired(entry.expiresAt) ? entry : undefined;
  }

  #liveRecord(k: string): RecordEntry | undefined {
    const entry = this.#records.get(k);
    return entry && !this.#expired(entry.expiresAt) ? entry : undefined;
  }

  #expired(at: number | null): boolean {
    return at !== null && at <= this.#clock();
  }

  #findBy(index: KeySets, model: string, field: 'uid' | 'userCode', value: string): ModelPayload | undefined {
    this.#open();
    for (const k of index.keys(key(model, value))) {
      const entry = this.#live(k);
      // The instance itself is asked too: the index only narrows the search.
      if (entry && entry.model === model && entry.keys[field] === value) return present(entry);
    }
    return undefined;
  }

  /** Stores a model instance under `k` (of `model`), its lookups moved from what it replaces where they changed. */
  #setModel(model: string, k: string, entry: ModelEntry): void {
    const before = this.#models.get(k)?.keys;
    this.#models.set(k, entry);
    const after = entry.keys;
    if (before?.uid !== after.uid) reindex(this.#byUid, model, before?.uid, after.uid, k);
    if (before?.userCode !== after.userCode) reindex(this.#byUserCode, model, before?.userCode, after.userCode, k);
    if (before?.grantId !== after.grantId) reindex(this.#byGrantId, model, before?.grantId, after.grantId, k);
  }

  #deleteModel(model: string, k: string): void {
    const entry = this.#models.get(k);
    if (!entry) return;
    this.#unindex(model, k, entry);
    this.#models.delete(k);
  }

  #unindex(model: string, k: string, entry: ModelEntry): void {
    reindex(this.#byUid, model, entry.keys.uid, undefined, k);
    reindex(this.#byUserCode, model, entry.keys.userCode, undefined, k);
    reindex(this.#byGrantId, model, entry.keys.grantId, undefined, k);
  }
}

/** Moves instance `k` of `model` from one looked-up value to another (a value that is not a string is not looked up). */
function reindex(index: KeySets, model: string, from: unknown, to: unknown, k: string): void {
  if (typeof from === 'string') index.remove(key(model, from), k);
  if (typeof to === 'string') index.add(key(model, to), k);
}

/** A payload as kept: its JSON text, the fields secondary lookups match on, its expiry and consumed state. */
function modelEntry(model: string, payload: ModelPayload, expiresAt: number | null, consumed: number | null): ModelEntry {
  return { model, json: JSON.stringify(payload), keys: { uid: payload.uid, userCode: payload.userCode, grantId: payload.grantId }, expiresAt, consumed };
}

function key(namespace: string, id: string): string {
  return `${namespace}\u0000${id}`;
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
