// Moves model instances stored the old way (under their own secret value, with the value in the
// payload's `jti`) to their hashed id and stored payload (tokens-at-rest.ts), in place, one atomic
// Store.rekey each. Idempotent, and safe with several instances starting at once (a record another
// instance already moved is simply not moved twice). A start runs it until one pass has completed on
// the store; `baton migrate` runs it whenever asked (after the last older instance stopped).
import type { BatonConfig } from '../config/schema.ts';
import { resolveMasterSecret } from '../keys/master-secret.ts';
import { deriveKey } from '../keys/seal.ts';
import { openStore } from '../storage/index.ts';
import type { Store } from '../storage/store.ts';
import { storedTokenId } from '../storage/token-ids.ts';
import { SECRET_ID_MODELS, TOKEN_IDS_PURPOSE, storedPayload } from './tokens-at-rest.ts';

export interface TokenIdMigration {
  /** Instances moved to their hashed id, per model (models with none are left out). */
  readonly moved: Readonly<Record<string, number>>;
}

/** `store` is the backend itself (not the TokensAtRest layer); `key` the token-ids-at-rest key. */
export async function migrateTokenIds(store: Store, key: Buffer): Promise<TokenIdMigration> {
  const moved: Record<string, number> = {};
  for (const model of SECRET_ID_MODELS) {
    for (const id of await store.listModelIds(model)) {
      const payload = await store.find(model, id);
      // Stored the old way: the id is the value, and oidc-provider's payload repeats it as `jti`.
      // A hashed instance never holds `jti`, so a second run (or another instance) skips it.
      if (payload?.jti !== id) continue;
      if (await store.rekey(model, id, storedTokenId(id), storedPayload(key, model, id, payload))) moved[model] = (moved[model] ?? 0) + 1;
    }
  }
  return { moved };
}

/** Marks a store on which one pass has completed, so later starts do not list every token again. */
const DONE_KIND = 'migrations';
const DONE_ID = 'token-ids-at-rest';

/** The pass at start: skipped once a pass has completed on this store. */
export async function migrateTokenIdsAtStart(store: Store, key: Buffer): Promise<TokenIdMigration> {
  if (await store.getRecord(DONE_KIND, DONE_ID)) return { moved: {} };
  const result = await migrateTokenIds(store, key);
  await store.putRecord(DONE_KIND, DONE_ID, { completedAt: new Date().toISOString() });
  return result;
}

/** `baton migrate`: the same pass on the configured store, for after the last instance of an older Baton stopped. */
export async function migrateStoredTokens(config: BatonConfig): Promise<TokenIdMigration['moved']> {
  const store = openStore(config.storage);
  try {
    const { moved } = await migrateTokenIds(store, deriveKey(resolveMasterSecret(config).value, TOKEN_IDS_PURPOSE));
    await store.putRecord(DONE_KIND, DONE_ID, { completedAt: new Date().toISOString() });
    return moved;
  } finally {
    await store.close();
  }
}
