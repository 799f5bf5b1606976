// Minimal types for the part of autocannon's programmatic API the benchmark uses (it ships none).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface Options {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    duration?: number;
  }
  interface Result {
    requests: { average: number; total: number };
    /** Seconds. */
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
  }
  /** Without a callback: an EventEmitter ('response', ...) that is also a promise of the result. */
  function autocannon(options: Options): EventEmitter & PromiseLike<Result>;
  export default autocannon;
}
