// An in-memory oidc-provider adapter for the demo IdP (and the test upstreams): one Map, shared by
// every model, that survives provider rebuilds (key rotation) because the caller owns it. Lookups
// by uid, user code and grant go through an index kept beside that Map (not a scan of every entry,
// which made each sign-in slower than the one before).
import type { Adapter, AdapterPayload } from 'oidc-provider';

import { KeySets } from '../../lang/key-sets.ts';

type Stored = { payload: AdapterPayload; expiresAt: number | undefined };
export type AdapterStorage = Map<string, Stored>;

/** The index of each storage Map, shared by every adapter class made over it (provider rebuilds). */
const indexes = new WeakMap<AdapterStorage, KeySets>();

/** Entry keys by `uid`/`userCode` per model, and by `grantId` across models (revocation removes a grant's entries of every model). */
const lookup = (field: 'uid' | 'userCode' | 'grantId', name: string, value: string): string =>
  (field === 'grantId' ? `grantId\u0000${value}` : `${field}\u0000${name}\u0000${value}`);

/** The lookups an entry of model `name` is found under. */
function lookups(name: string, payload: AdapterPayload): string[] {
  const found: string[] = [];
  for (const field of ['uid', 'userCode', 'grantId'] as const) {
    const value = payload[field];
    if (typeof value === 'string') found.push(lookup(field, name, value));
  }
  return found;
}

/** An oidc-provider adapter class over `storage`; expired entries are dropped when read. */
export function memoryAdapter(storage: AdapterStorage) {
  const keys = indexes.get(storage) ?? new KeySets();
  indexes.set(storage, keys);
  /** Removes an entry and its lookups (`name`: the model the key belongs to). */
  const remove = (name: string, key: string): void => {
    const entry = storage.get(key);
    if (!entry) return;
    for (const at of lookups(name, entry.payload)) keys.remove(at, key);
    storage.delete(key);
  };
  return class MemoryAdapter implements Adapter {
    // A #private field: a TypeScript `private` member cannot appear in the emitted declarations.
    readonly #name: string;

    constructor(name: string) {
      this.#name = name;
    }

    #key(id: string): string {
      return `${this.#name}:${id}`;
    }

    #get(key: string): AdapterPayload | undefined {
      const entry = storage.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
        remove(this.#name, key);
        return undefined;
      }
      return entry.payload;
    }

    #findBy(field: 'uid' | 'userCode', value: string): Promise<AdapterPayload | undefined> | undefined {
      for (const key of keys.keys(lookup(field, this.#name, value))) {
        if (this.#get(key)?.[field] === value) return this.find(key.slice(this.#name.length + 1));
      }
      return undefined;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const key = this.#key(id);
      const stored = structuredClone(payload);
      remove(this.#name, key);
      storage.set(key, { payload: stored, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
      for (const at of lookups(this.#name, stored)) keys.add(at, key);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const payload = this.#get(this.#key(id));
      return payload && structuredClone(payload);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.#findBy('uid', uid);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.#findBy('userCode', userCode);
    }

    async consume(id: string): Promise<void> {
      const payload = this.#get(this.#key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id: string): Promise<void> {
      remove(this.#name, this.#key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      // Every model's entries of the grant, as before (the key's prefix names the model).
      for (const key of keys.keys(lookup('grantId', this.#name, grantId))) {
        if (storage.get(key)?.payload.grantId === grantId) remove(key.slice(0, key.indexOf(':')), key);
      }
    }
  };
}
