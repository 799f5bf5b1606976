// on-exit-leak-free (pino's own dependency, by pino's authors) ships no types: the two calls Baton makes.
declare module 'on-exit-leak-free' {
  /** Calls `shutdown(obj)` on the process's 'exit' event, unless `obj` was collected or unregistered first. */
  export function register<T extends object>(obj: T, shutdown: (obj: T, event: 'exit') => void): void;
  export function unregister(obj: object): void;
}
