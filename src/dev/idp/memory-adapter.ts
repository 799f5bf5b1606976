// An in-memory oidc-provider adapter for the demo IdP (and the test upstreams): one Map, shared by
// every model, that survives provider rebuilds (key rotation) because the caller owns it.
import type { Adapter, AdapterPayload } from 'oidc-provider';

type Stored = { payload: AdapterPayload; expiresAt: number | undefined };
export type AdapterStorage = Map<string, Stored>;

/** An oidc-provider adapter class over `storage`; expired entries are dropped when read. */
export function memoryAdapter(storage: AdapterStorage) {
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
        storage.delete(key);
        return undefined;
      }
      return entry.payload;
    }

    #findBy(field: 'uid' | 'userCode', value: string): Promise<AdapterPayload | undefined> | undefined {
      for (const [key, { payload }] of storage) if (key.startsWith(`${this.#name}:`) && payload[field] === value) return this.find(key.slice(this.#name.length + 1));
      return undefined;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      storage.set(this.#key(id), { payload: structuredClone(payload), expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
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
      storage.delete(this.#key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      for (const [key, { payload }] of storage) if (payload.grantId === grantId) storage.delete(key);
    }
  };
}
