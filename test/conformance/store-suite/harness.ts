// What every section of the store conformance suite shares: the backend's open function, a fresh store
// per test on an injected clock, and the optional extras a backend offers (a second connection, reopen,
// child processes racing on the same data).
import { afterEach, beforeEach } from 'vitest';

import type { Clock, Store } from '../../../src/storage/store.ts';
import { type Attempt, type RaceOp, type StorageConfig, raceAcrossProcesses } from '../process-race.ts';

export interface OpenedStore {
  readonly store: Store;
  /**
   * Opens a new Store on the same data with the same clock, after the suite has closed `store`.
   * Persistent backends only: the persistence tests are skipped without it.
   */
  readonly reopen?: () => Promise<Store>;
  /** Opens another, independent connection to the same data; cross-connection races are skipped without it. */
  readonly connect?: () => Promise<Store>;
  /** The storage config a child process passes to openStore() to reach the same data; cross-process races are skipped without it. */
  readonly processConfig?: StorageConfig;
  /**
   * Everything the backend holds, as text read around the Store (SQL rows, Redis keys and values),
   * sorted: what a stolen copy of the data would show. The at-rest tests fall back to the Store API without it.
   */
  readonly raw?: () => Promise<string>;
  /** Closes whatever is still open and removes the backend's data (files, schemas, keys). */
  readonly cleanup: () => Promise<void>;
}

export type OpenStore = (clock: Clock) => Promise<OpenedStore>;

/** 2030-01-01T00:00:00.123Z: a fixed start with a sub-second part, so `consumed` must be floored. */
const T0 = Date.UTC(2030, 0, 1) + 123;
export const T0_SECONDS = Math.floor(T0 / 1000);
export const RACERS = 50;
export const PROCESSES = 4;
export const CONNECTIONS_PER_PROCESS = 4;
/** Child processes boot tsx; give them room on a loaded CI machine. */
export const PROCESS_RACE_TIMEOUT = 60_000;

/** The test in progress, as a section of the suite sees it. */
export interface StoreUnderTest {
  /** The backend's name, as the skip reasons quote it. */
  readonly name: string;
  /** The store opened for the current test; reopen() replaces it. */
  readonly store: Store;
  /** What the backend's open function returned for the current test: which extras it offers. */
  readonly opened: OpenedStore;
  /** The injected clock the store runs on (for helpers that take one). */
  readonly clock: Clock;
  /** Moves the injected clock; nothing in this suite sleeps for expiry. */
  advance(seconds: number): void;
  /** Winds the clock back to the start, to show data was deleted rather than hidden by an expiry filter. */
  rewind(): void;
  /** The current store plus `count - 1` independent connections to the same data. */
  connections(count: number): Promise<Store[]>;
  /** Closes the current store and opens the same data again. */
  reopen(): Promise<Store>;
  /** Runs `op` at the same moment from several child processes, several connections each. */
  race(op: RaceOp): Promise<Attempt[]>;
}

/** Registers the per-test open and clean-up in the enclosing describe and returns the test in progress. */
export function storeUnderTest(name: string, open: OpenStore): StoreUnderTest {
  let now = T0;
  const clock: Clock = () => now;
  let opened: OpenedStore;
  let store: Store;
  const stores: Store[] = [];

  beforeEach(async () => {
    now = T0;
    opened = await open(clock);
    store = opened.store;
    stores.push(store);
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    await opened.cleanup();
  });

  return {
    name,
    clock,
    get store() {
      return store;
    },
    get opened() {
      return opened;
    },
    advance(seconds) {
      now += seconds * 1000;
    },
    rewind() {
      now = T0;
    },
    async connections(count) {
      const peers = [store];
      for (let i = 1; i < count; i += 1) {
        const peer = await opened.connect!();
        stores.push(peer);
        peers.push(peer);
      }
      return peers;
    },
    async reopen() {
      await store.close();
      store = await opened.reopen!();
      stores.push(store);
      return store;
    },
    race(op) {
      return raceAcrossProcesses({ config: opened.processConfig!, now, processes: PROCESSES, connectionsPerProcess: CONNECTIONS_PER_PROCESS, op });
    },
  };
}

/** How many of the racers won. */
export const winners = (results: readonly boolean[]) => results.filter(Boolean).length;
