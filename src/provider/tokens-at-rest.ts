// Bearer secrets at rest: an oidc-provider model whose id is the credential (a refresh token, a code,
// an opaque access token, a session cookie...) is stored under a one-way hash of the id, and its payload
// never holds the value, so reading the database or a backup yields no working token. A Store layer
// at the model adapter's boundary: every backend gets it, and the backends stay unaware of it.
// RFC 6819 section 5.1.4.1.3 (no cleartext storage of credentials).
import { type Purpose, UnsealError, seal, unseal } from '../keys/seal.ts';
import { merged } from '../lang/merged.ts';
import type { ModelPayload, PutRecordOptions, Store, StoredRecord } from '../storage/store.ts';
import { storedTokenId } from '../storage/token-ids.ts';

/** The key purpose (src/keys/seal.ts) sealing the few ids that must be read back (see SEALED_ID_MODELS). */
export const TOKEN_IDS_PURPOSE: Purpose = 'token-ids-at-rest';

/**
 * Models whose id is a bearer secret: presenting it is the whole credential. Grant, Client and
 * ReplayDetection ids are not secrets; a pushed request_uri only works with its client's request.
 */
export const SECRET_ID_MODELS: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'ClientCredentials',
  'BackchannelAuthenticationRequest',
  'RegistrationAccessToken',
  'InitialAccessToken',
  'Session',
  'Interaction',
]);

/**
 * Models also found by a secondary key whose callers need the real id back: oidc-provider saves a
 * device code found by its user code again after approval, and the device interaction records which
 * device code it serves; a Session found by uid is a Session like any other. Their id is kept
 * sealed (AES-GCM under a key derived from the master secret), never in clear.
 */
const SEALED_ID_MODELS: ReadonlySet<string> = new Set(['Session', 'DeviceCode']);
const SEALED_ID = 'sealedId';

type Payload = Record<string, unknown>;

/** The payload as stored for a model instance whose id is `id`: no `jti`, secrets in other fields sealed. */
export function storedPayload(key: Buffer, model: string, id: string, payload: ModelPayload): ModelPayload {
  const { jti: _jti, ...stored } = payload as Payload;
  if (SEALED_ID_MODELS.has(model)) stored[SEALED_ID] = seal(key, id, `${model}.id`);
  if (model === 'Interaction') {
    // The device code an interaction approves, and the session cookie value of its signed-in session.
    if (typeof stored.deviceCode === 'string') stored.deviceCode = seal(key, stored.deviceCode, 'Interaction.deviceCode');
    const session = stored.session as Payload | undefined;
    if (typeof session?.cookie === 'string') stored.session = merged(session, { cookie: seal(key, session.cookie, 'Interaction.session.cookie') });
  }
  return stored;
}

/**
 * The payload oidc-provider wrote, back from its stored form: `jti` is the presented id, or the
 * sealed one for a secondary lookup. Undefined when a sealed field does not open (another master secret).
 */
export function presentedPayload(key: Buffer, model: string, stored: ModelPayload | undefined, id?: string): ModelPayload | undefined {
  if (!stored) return undefined;
  try {
    const { [SEALED_ID]: sealedId, ...payload } = stored as Payload;
    const jti = id ?? (typeof sealedId === 'string' ? unseal(key, sealedId, `${model}.id`) : undefined);
    if (jti !== undefined) payload.jti = jti;
    if (model === 'Interaction') {
      if (typeof payload.deviceCode === 'string') payload.deviceCode = unseal(key, payload.deviceCode, 'Interaction.deviceCode');
      const session = payload.session as Payload | undefined;
      if (typeof session?.cookie === 'string') payload.session = merged(session, { cookie: unseal(key, session.cookie, 'Interaction.session.cookie') });
    }
    return payload;
  } catch (error) {
    if (error instanceof UnsealError) return undefined;
    throw error;
  }
}

/** The Store oidc-provider's adapter sees: secret ids hashed on the way in, payloads translated both ways. */
export class TokensAtRest implements Store {
  readonly kind: string;
  readonly #store: Store;
  readonly #key: Buffer;

  constructor(store: Store, key: Buffer) {
    this.#store = store;
    this.#key = key;
    this.kind = store.kind;
  }

  upsert(model: string, id: string, payload: ModelPayload, expiresIn?: number): Promise<void> {
    if (!SECRET_ID_MODELS.has(model)) return this.#store.upsert(model, id, payload, expiresIn);
    return this.#store.upsert(model, storedTokenId(id), storedPayload(this.#key, model, id, payload), expiresIn);
  }

  find(model: string, id: string): Promise<ModelPayload | undefined> {
    if (!SECRET_ID_MODELS.has(model)) return this.#store.find(model, id);
    // A `.then`, not an async frame: every token request finds its code or refresh token here.
    let key: string;
    try {
      key = storedTokenId(id);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#store.find(model, key).then((stored) => presentedPayload(this.#key, model, stored, id));
  }

  async findByUid(model: string, uid: string): Promise<ModelPayload | undefined> {
    const found = await this.#store.findByUid(model, uid);
    return SECRET_ID_MODELS.has(model) ? presentedPayload(this.#key, model, found) : found;
  }

  async findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined> {
    const found = await this.#store.findByUserCode(model, userCode);
    return SECRET_ID_MODELS.has(model) ? presentedPayload(this.#key, model, found) : found;
  }

  consume(model: string, id: string): Promise<boolean> {
    return this.#store.consume(model, this.#id(model, id));
  }

  destroy(model: string, id: string): Promise<void> {
    return this.#store.destroy(model, this.#id(model, id));
  }

  revokeByGrantId(model: string, grantId: string): Promise<void> {
    return this.#store.revokeByGrantId(model, grantId);
  }

  /** Stored ids, as they are: this layer's own migration (token-ids-migration.ts) reads them. */
  listModelIds(model: string): Promise<string[]> {
    return this.#store.listModelIds(model);
  }

  listRecordIds(kind: string): Promise<string[]> {
    return this.#store.listRecordIds(kind);
  }

  rekey(model: string, from: string, to: string, payload: ModelPayload): Promise<boolean> {
    return this.#store.rekey(model, from, to, payload);
  }

  getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined> {
    return this.#store.getRecord<T>(kind, id);
  }

  putRecord<T>(kind: string, id: string, value: T, options?: PutRecordOptions): Promise<boolean> {
    return this.#store.putRecord(kind, id, value, options);
  }

  insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]> {
    return this.#store.insertRecords(kind, records, expiresIn);
  }

  deleteRecord(kind: string, id: string): Promise<void> {
    return this.#store.deleteRecord(kind, id);
  }

  collectExpired(): Promise<number> {
    return this.#store.collectExpired();
  }

  ping(): Promise<void> {
    return this.#store.ping();
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  #id(model: string, id: string): string {
    return SECRET_ID_MODELS.has(model) ? storedTokenId(id) : id;
  }
}
