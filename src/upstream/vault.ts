// The upstream token vault: upstream access, refresh and id tokens, sealed (AES-256-GCM under a key
// derived from the master secret) and stored server-side per Baton grant. They never reach clients.
import { seal, unseal } from '../keys/seal.ts';
import type { Store } from '../storage/store.ts';
import type { UpstreamTokens } from './connector.ts';

const VAULT = 'upstream-vault';
const STASH = 'upstream-stash';

export interface VaultEntry {
  readonly upstream: string;
  readonly tokens: UpstreamTokens;
  /** Epoch seconds of the last successful sign-in or upstream refresh. */
  readonly refreshedAt: number;
}

interface SealedEntry {
  readonly sealed: string;
}

export class UpstreamVault {
  constructor(
    private readonly store: Store,
    private readonly key: Buffer,
    /** Seconds a vault entry lives: the grant's lifetime. */
    private readonly lifetime: number,
  ) {}

  async get(grantId: string): Promise<VaultEntry | undefined> {
    return (await this.read(grantId))?.entry;
  }

  /** The entry with its store version: the fence a later `put` compares against. */
  async read(grantId: string): Promise<{ entry: VaultEntry; version: number } | undefined> {
    const record = await this.store.getRecord<SealedEntry>(VAULT, grantId);
    return record && { entry: JSON.parse(unseal(this.key, record.value.sealed, `${VAULT}:${grantId}`)) as VaultEntry, version: record.version };
  }

  /**
   * Writes the entry. With `expectedVersion` (the version `read` returned) the write is a
   * compare-and-set: it resolves false, writing nothing, when a newer entry was written since, so a
   * refresh that stalled cannot overwrite a newer upstream token.
   */
  async put(grantId: string, entry: VaultEntry, expectedVersion?: number): Promise<boolean> {
    return this.store.putRecord<SealedEntry>(VAULT, grantId, { sealed: seal(this.key, JSON.stringify(entry), `${VAULT}:${grantId}`) }, { expiresIn: this.lifetime, ...(expectedVersion === undefined ? {} : { expectedVersion }) });
  }

  async delete(grantId: string): Promise<void> {
    await this.store.deleteRecord(VAULT, grantId);
  }

  /** Holds tokens between the upstream callback and the grant the consent step creates. */
  async stash(id: string, entry: VaultEntry, expiresIn: number): Promise<void> {
    await this.store.putRecord<SealedEntry>(STASH, id, { sealed: seal(this.key, JSON.stringify(entry), `${STASH}:${id}`) }, { expiresIn });
  }

  /** Takes stashed tokens out (once): the entry, or undefined when there is none (any more). */
  async unstash(id: string): Promise<VaultEntry | undefined> {
    const record = await this.store.getRecord<SealedEntry>(STASH, id);
    if (!record) return undefined;
    await this.store.deleteRecord(STASH, id);
    return JSON.parse(unseal(this.key, record.value.sealed, `${STASH}:${id}`)) as VaultEntry;
  }

  /** Moves stashed tokens under a grant; resolves whether there were any. */
  async claim(stashId: string, grantId: string): Promise<boolean> {
    const record = await this.store.getRecord<SealedEntry>(STASH, stashId);
    if (!record) return false;
    await this.put(grantId, JSON.parse(unseal(this.key, record.value.sealed, `${STASH}:${stashId}`)) as VaultEntry);
    await this.store.deleteRecord(STASH, stashId);
    return true;
  }
}
