// Sets of keys by a lookup value: the secondary indexes of the in-memory stores (by uid, user code,
// grant), so that a lookup reads the keys under one value instead of scanning every entry.
export class KeySets {
  readonly #sets = new Map<string, Set<string>>();

  add(at: string, key: string): void {
    const keys = this.#sets.get(at);
    if (keys) keys.add(key);
    else this.#sets.set(at, new Set([key]));
  }

  /** Removes `key` under `at`; a value left with no key is forgotten. */
  remove(at: string, key: string): void {
    const keys = this.#sets.get(at);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.#sets.delete(at);
  }

  /** The keys under `at`, in the order added, as a copy: the caller may remove while it iterates. */
  keys(at: string): string[] {
    const keys = this.#sets.get(at);
    return keys ? [...keys] : [];
  }
}

/**
 * KeySets per group (a model): a memory store's secondary index, one KeySets per model, so that no
 * model's name or looked-up value can reach another model's keys.
 */
export class GroupedKeySets {
  readonly #groups = new Map<string, KeySets>();

  add(group: string, at: string, key: string): void {
    let sets = this.#groups.get(group);
    if (!sets) {
      sets = new KeySets();
      this.#groups.set(group, sets);
    }
    sets.add(at, key);
  }

  remove(group: string, at: string, key: string): void {
    this.#groups.get(group)?.remove(at, key);
  }

  /** The keys under `at` in `group`, as a copy (KeySets.keys). */
  keys(group: string, at: string): string[] {
    return this.#groups.get(group)?.keys(at) ?? [];
  }
}
