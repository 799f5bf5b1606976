// Fixed-window attempt counters kept in the store, so abuse limits (password failures, RFC 8628
// section 5.1 user-code entry) hold across every instance sharing it and survive a restart.
// Increments are compare-and-set loops on one record per key; key material is hashed (SHA-256) so
// usernames and addresses never appear in clear in record ids (Redis keys, SQL rows).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { systemClock, type Clock, type Store } from './store.ts';

/** Compare-and-set tries per increment before giving up on recording it. */
export const DEFAULT_MAX_TRIES = 8;
/** A lost try waits a random 0..min(2^try, cap) ms, so a burst on one key spreads out instead of colliding again. */
const BACKOFF_CAP_MS = 64;

export interface AttemptCounterOptions {
  readonly store: Store;
  /** Record kind, e.g. `attempts:password`; one kind per limit. */
  readonly kind: string;
  readonly windowMs: number;
  readonly clock?: Clock;
  /**
   * Bound on the compare-and-set loop. Every lost try means another increment of the same key
   * was stored meanwhile, so `n` concurrent increments all get recorded when `maxTries >= n`.
   */
  readonly maxTries?: number;
}

export interface AttemptWindow {
  /** Attempts in the current window, this one included. */
  readonly count: number;
  /** Epoch milliseconds at which the window ends and counting starts again. */
  readonly resetAt: number;
  /**
   * `false` when every compare-and-set try lost to concurrent increments of the same key: the
   * attempt is reported (count = last seen + 1) but not stored. Callers enforcing a limit treat it
   * as over the limit, which keeps the limit exact: recorded increments get distinct counts.
   */
  readonly recorded: boolean;
}

interface WindowRecord {
  readonly start: number;
  readonly count: number;
}

/**
 * One limit's counters, e.g. user-code entries per client address:
 * ```ts
 * const entries = new AttemptCounter({ store, kind: 'attempts:device-code', windowMs: 5 * 60_000 });
 * const window = await entries.increment([ctx.ip]);
 * if (!window.recorded || window.count > 20) refuse(window.resetAt);
 * ```
 */
export class AttemptCounter {
  readonly #store: Store;
  readonly #kind: string;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #maxTries: number;

  constructor({ store, kind, windowMs, clock = systemClock, maxTries = DEFAULT_MAX_TRIES }: AttemptCounterOptions) {
    this.#store = store;
    this.#kind = kind;
    this.#windowMs = windowMs;
    this.#clock = clock;
    this.#maxTries = maxTries;
  }

  /** Attempts counted for `key` in its current window; 0 when none. */
  async count(key: readonly string[]): Promise<number> {
    const stored = await this.#store.getRecord<WindowRecord>(this.#kind, recordId(key));
    return stored && this.#live(stored.value, this.#clock()) ? stored.value.count : 0;
  }

  /**
   * Counts one attempt for `key`, starting a new window when none is live. Store failures reject
   * (the request that needed the limit fails with them: closed, never silently unlimited).
   */
  async increment(key: readonly string[]): Promise<AttemptWindow> {
    const id = recordId(key);
    let seen: WindowRecord | undefined;
    for (let tries = 0; tries < this.#maxTries; tries += 1) {
      const at = this.#clock();
      const stored = await this.#store.getRecord<WindowRecord>(this.#kind, id);
      seen = stored && this.#live(stored.value, at) ? stored.value : undefined;
      const next: WindowRecord = seen ? { start: seen.start, count: seen.count + 1 } : { start: at, count: 1 };
      // A window that ended may still be stored for up to a second (expiresIn is whole seconds).
      const expectedVersion = stored?.version ?? 0;
      const expiresIn = Math.ceil((next.start + this.#windowMs - at) / 1000);
      if (await this.#store.putRecord(this.#kind, id, next, { expectedVersion, expiresIn })) {
        return { count: next.count, resetAt: next.start + this.#windowMs, recorded: true };
      }
      if (tries + 1 < this.#maxTries) await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, 2 ** tries));
    }
    const at = this.#clock();
    return { count: (seen?.count ?? 0) + 1, resetAt: (seen?.start ?? at) + this.#windowMs, recorded: false };
  }

  /** Forgets the attempts of `key` (after a success). */
  async reset(key: readonly string[]): Promise<void> {
    await this.#store.deleteRecord(this.#kind, recordId(key));
  }

  #live(window: WindowRecord, at: number): boolean {
    return at - window.start < this.#windowMs;
  }
}

/** SHA-256 of the key parts, NUL-separated so ('ab', 'c') and ('a', 'bc') differ. */
function recordId(key: readonly string[]): string {
  return createHash('sha256').update(key.join('\u0000')).digest('base64url');
}
