// A memory store that can go away: while `state.down`, every call but `close` rejects, as calls to
// a database that stopped answering do.
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import type { Store } from '../../src/storage/store.ts';

export function switchableStore(state: { readonly down: boolean }): Store {
  const inner = new MemoryStore();
  return new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (name === 'close') return value.bind(target);
      return (...args: unknown[]) => (state.down ? Promise.reject(new Error('storage is down')) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  }) as Store;
}
