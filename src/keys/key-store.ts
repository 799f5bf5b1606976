// Persists the signing key set in the store, sealed under the master secret, with compare-and-set
// updates so two instances (or a `baton keys rotate` beside a running server) never lose a key.
import type { SigningAlgorithm } from '../config/schema.ts';
import type { Clock, Store } from '../storage/store.ts';
import { ensureAlgorithms, type KeySet, prune, rotate } from './keyset.ts';
import { StartupError } from '../config/startup-error.ts';
import { seal, UnsealError, unseal } from './seal.ts';

const KIND = 'keyset';
const ID = 'signing';
const CONTEXT = 'baton keyset signing v1';
const MAX_ATTEMPTS = 5;

interface SealedKeySet {
  readonly sealed: string;
}

export interface LoadedKeySet {
  readonly keys: KeySet;
  /** Store version of the record: changes whenever any instance rewrites the set. */
  readonly version: number;
}

export interface KeyStoreOptions {
  readonly store: Store;
  /** AES-256 key derived from the master secret for `keyset-at-rest`. */
  readonly sealKey: Buffer;
  readonly algorithms: readonly SigningAlgorithm[];
  /** Seconds a retired key stays published: the longest JWT lifetime plus clock tolerance. */
  readonly retention: number;
  /** Seconds between publishing a rotated-in key and signing with it (0: at once). */
  readonly activationDelay?: number;
  readonly clock: Clock;
}

export class KeyStore {
  readonly #options: KeyStoreOptions;

  constructor(options: KeyStoreOptions) {
    this.#options = options;
  }

  /** Loads the set, creating it on first start and adding keys for newly configured algorithms. */
  load(): Promise<LoadedKeySet> {
    return this.#update(async (current, now) => prune(await ensureAlgorithms(current, this.#options.algorithms, now), now, this.#options.retention));
  }

  /** Adds a new current key per configured algorithm and retires the previous ones. */
  rotate(): Promise<LoadedKeySet> {
    return this.#update((current, now) => rotate(current, this.#options.algorithms, now, this.#options.retention, this.#options.activationDelay ?? 0), true);
  }

  /** The stored set, decrypted, without ever writing (offline tools: `baton preview`); undefined when none is stored. */
  async read(): Promise<KeySet | undefined> {
    const record = await this.#options.store.getRecord<SealedKeySet>(KIND, ID);
    return record ? JSON.parse(openSealed(this.#options.sealKey, record.value.sealed)) as KeySet : undefined;
  }

  /** The stored version, without decrypting: cheap enough to poll. */
  async version(): Promise<number> {
    return (await this.#options.store.getRecord<SealedKeySet>(KIND, ID))?.version ?? 0;
  }

  async #update(change: (current: KeySet, now: number) => Promise<KeySet>, alwaysWrite = false): Promise<LoadedKeySet> {
    const { store, sealKey, clock } = this.#options;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const record = await store.getRecord<SealedKeySet>(KIND, ID);
      const current: KeySet = record ? JSON.parse(openSealed(sealKey, record.value.sealed)) as KeySet : { keys: [] };
      const next = await change(current, Math.floor(clock() / 1000));
      if (record && !alwaysWrite && sameKeys(current, next)) return { keys: current, version: record.version };
      const expectedVersion = record?.version ?? 0;
      if (await store.putRecord<SealedKeySet>(KIND, ID, { sealed: seal(sealKey, JSON.stringify(next), CONTEXT) }, { expectedVersion })) {
        return { keys: next, version: expectedVersion + 1 };
      }
    }
    throw new Error('the key set kept changing under concurrent updates; try again');
  }
}

/** The key set is the first sealed record read at start: failing to open it means another master secret. */
function openSealed(sealKey: Buffer, sealed: string): string {
  try {
    return unseal(sealKey, sealed, CONTEXT);
  } catch (error) {
    if (!(error instanceof UnsealError)) throw error;
    throw new StartupError([
      'the signing keys in the store cannot be decrypted: wrong master secret for this database (or the stored key set is corrupted).',
      'Start Baton with the master secret this database was created with (keys.masterSecret or keys.masterSecretFile).',
      'If that secret is lost, the stored keys, sessions and tokens cannot be recovered: point storage at a new, empty database.',
    ].join('\n'));
  }
}

function sameKeys(a: KeySet, b: KeySet): boolean {
  return a.keys.length === b.keys.length && a.keys.every((k, i) => k.kid === b.keys[i]?.kid && k.retiredAt === b.keys[i]?.retiredAt);
}
