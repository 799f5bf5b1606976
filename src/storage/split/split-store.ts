// `storage.type: split`: short-lived models and records in a fast expiring store (Redis), durable
// ones in PostgreSQL or SQLite. Each (model | kind) lives in exactly one of the two, so atomicity is the owner's.
import type { ModelPayload, PutRecordOptions, Store, StoredRecord } from '../store.ts';

/**
 * Routing table. Short-lived (`shortLived`, normally Redis):
 *  - models: Interaction, AuthorizationCode, DeviceCode, ReplayDetection,
 *    PushedAuthorizationRequest, BackchannelAuthenticationRequest, AccessToken, ClientCredentials;
 *  - record kinds: upstream-login, interaction-denial, upstream-stash, authorizer-decision,
 *    hook-cache, device-poll, token-exchange-replay, refresh-rotation.
 * Durable (`durable`, PostgreSQL or SQLite): Grant, RefreshToken, Session (browser sessions live
 * for days and must survive a Redis restart) and every other model (Client,
 * InitialAccessToken, RegistrationAccessToken, ...); record kinds account, keyset, upstream-vault.
 * Anything not listed defaults to durable, the safer side: losing it on a Redis restart could log
 * users out or forget keys, while keeping a short-lived thing durably only costs space until collected.
 */
export const SHORT_LIVED_MODELS: ReadonlySet<string> = new Set([
  'Interaction',
  'AuthorizationCode',
  'DeviceCode',
  'ReplayDetection',
  'PushedAuthorizationRequest',
  'BackchannelAuthenticationRequest',
  'AccessToken',
  'ClientCredentials',
]);

export const SHORT_LIVED_KINDS: ReadonlySet<string> = new Set([
  'upstream-login',
  // A BFF sign-in's state, PKCE verifier and nonce, between `login` and `callback` (bff/sign-in.ts).
  'bff-login',
  'interaction-denial',
  'upstream-stash',
  'authorizer-decision',
  'hook-cache',
  'device-poll',
  'token-exchange-replay',
  'upstream-logout-return',
  // A refresh token's rotation lease (a minute) and reuse grace record (seconds).
  'refresh-rotation',
  // Abuse-limit windows (minutes): a Redis restart only resets the counting.
  'attempts:password',
  'attempts:password-username',
  'attempts:password-identity',
  'attempts:password-identity-all',
  'attempts:device-code',
  // Which grant a JWT access token belongs to: lives as long as the token (provider/grant-lineage.ts).
  'access-token-grant',
]);

export interface SplitStoreOptions {
  readonly durable: Store;
  readonly shortLived: Store;
}

export class SplitStore implements Store {
  readonly kind: string;
  readonly #durable: Store;
  readonly #shortLived: Store;

  constructor(options: SplitStoreOptions) {
    this.#durable = options.durable;
    this.#shortLived = options.shortLived;
    this.kind = `split(${options.shortLived.kind}+${options.durable.kind})`;
  }

  /** The store that owns a model (`upsert`, `find`, `consume`, `revokeByGrantId`, ...). */
  storeForModel(model: string): Store {
    return SHORT_LIVED_MODELS.has(model) ? this.#shortLived : this.#durable;
  }

  /** The store that owns a record kind (`getRecord`, `putRecord`, `deleteRecord`). */
  storeForKind(kind: string): Store {
    return SHORT_LIVED_KINDS.has(kind) ? this.#shortLived : this.#durable;
  }

  upsert(model: string, id: string, payload: ModelPayload, expiresIn?: number): Promise<void> {
    return this.storeForModel(model).upsert(model, id, payload, expiresIn);
  }

  find(model: string, id: string): Promise<ModelPayload | undefined> {
    return this.storeForModel(model).find(model, id);
  }

  findByUid(model: string, uid: string): Promise<ModelPayload | undefined> {
    return this.storeForModel(model).findByUid(model, uid);
  }

  findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined> {
    return this.storeForModel(model).findByUserCode(model, userCode);
  }

  consume(model: string, id: string): Promise<boolean> {
    return this.storeForModel(model).consume(model, id);
  }

  destroy(model: string, id: string): Promise<void> {
    return this.storeForModel(model).destroy(model, id);
  }

  revokeByGrantId(model: string, grantId: string): Promise<void> {
    return this.storeForModel(model).revokeByGrantId(model, grantId);
  }

  listModelIds(model: string): Promise<string[]> {
    return this.storeForModel(model).listModelIds(model);
  }

  rekey(model: string, from: string, to: string, payload: ModelPayload): Promise<boolean> {
    return this.storeForModel(model).rekey(model, from, to, payload);
  }

  listRecordIds(kind: string): Promise<string[]> {
    return this.storeForKind(kind).listRecordIds(kind);
  }

  getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined> {
    return this.storeForKind(kind).getRecord<T>(kind, id);
  }

  putRecord<T>(kind: string, id: string, value: T, options?: PutRecordOptions): Promise<boolean> {
    return this.storeForKind(kind).putRecord(kind, id, value, options);
  }

  insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]> {
    return this.storeForKind(kind).insertRecords(kind, records, expiresIn);
  }

  deleteRecord(kind: string, id: string): Promise<void> {
    return this.storeForKind(kind).deleteRecord(kind, id);
  }

  /** Both sides collect; the sum is returned. */
  async collectExpired(): Promise<number> {
    const [shortLived, durable] = await both(this.#shortLived.collectExpired(), this.#durable.collectExpired());
    return shortLived + durable;
  }

  /** Ready only when both sides answer. */
  async ping(): Promise<void> {
    await both(this.#shortLived.ping(), this.#durable.ping());
  }

  /** Closes both sides even when one fails, then reports the first failure. */
  async close(): Promise<void> {
    await both(this.#shortLived.close(), this.#durable.close());
  }
}

/** Waits for both (so neither is left running unobserved), then rejects with the first failure. */
async function both<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}
