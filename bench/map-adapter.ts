// An oidc-provider storage adapter on one Map, for the bare reference of bench/endpoints.ts.
// oidc-provider's own development adapter keeps at most 1,000 entries (an LRU), so codes and refresh
// tokens prepared ahead of a slice would be evicted; Baton's memory store is an unbounded Map too.
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry { payload: AdapterPayload; expiresAt: number | undefined }

const entries = new Map<string, Entry>();
const grants = new Map<string, Set<string>>();

export class MapAdapter implements Adapter {
  constructor(readonly name: string) {}

  #key(id: string): string { return `${this.name}:${id}`; }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const key = this.#key(id);
    entries.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
    if (payload.grantId) {
      const keys = grants.get(payload.grantId) ?? new Set<string>();
      keys.add(key);
      grants.set(payload.grantId, keys);
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const entry = entries.get(this.#key(id));
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      entries.delete(this.#key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    for (const entry of entries.values()) if (entry.payload.userCode === userCode) return entry.payload;
    return undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    for (const entry of entries.values()) if (entry.payload.uid === uid) return entry.payload;
    return undefined;
  }

  async consume(id: string): Promise<void> {
    const entry = entries.get(this.#key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    entries.delete(this.#key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of grants.get(grantId) ?? []) entries.delete(key);
    grants.delete(grantId);
  }
}
