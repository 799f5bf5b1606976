// The shared record of one refresh token's rotation (RFC 9700 section 4.14.2): who is rotating it
// now (a lease, so concurrent presentations wait for one rotation across instances), then, for the
// reuse grace window, its successor sealed under a key only the old token's value yields.
import { createCipheriv, createDecipheriv, createHmac, randomUUID } from 'node:crypto';

import { randomNonce } from '../keys/random-pool.ts';
import type { Clock, Store } from '../storage/store.ts';
import { storedTokenId } from '../storage/token-ids.ts';

export const ROTATION_KIND = 'refresh-rotation';

/** Longest a rotation may hold its lease: far beyond any token request's deadlines. */
export const LEASE_SECONDS = 60;

export type Rotation =
  | { readonly state: 'pending'; readonly clientId: string; readonly owner: string }
  /** `at`: epoch ms of the rotation; `sealed`: the successor, AES-256-GCM under HKDF(old value). */
  | { readonly state: 'rotated'; readonly clientId: string; readonly at: number; readonly sealed: string };

/** How the store addresses a token by value: the adapter's at-rest key (storage/token-ids.ts). */
export const tokenKey = storedTokenId;

export class RotationRecords {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  async read(value: string): Promise<Rotation | undefined> {
    return (await this.#store.getRecord<Rotation>(ROTATION_KIND, tokenKey(value)))?.value;
  }

  /** Takes the lease on rotating `value` when nobody holds it: resolves the owner tag, or undefined. */
  async claim(value: string, clientId: string): Promise<string | undefined> {
    const owner = randomUUID();
    const claimed = await this.#store.putRecord<Rotation>(ROTATION_KIND, tokenKey(value), { state: 'pending', clientId, owner }, { expectedVersion: 0, expiresIn: LEASE_SECONDS });
    return claimed ? owner : undefined;
  }

  /** Now, by the clock the records are dated with (epoch ms). */
  now(): number {
    return this.#clock();
  }

  /**
   * The owner's rotation succeeded at `at` (epoch ms; default now): `successor` is replayable by the
   * same client until `grace` seconds after it. Recorded late (a retry after a store failure), the
   * window still ends `grace` seconds after the rotation; past it the lease is released instead.
   */
  async rotated(value: string, owner: string, clientId: string, successor: string, grace: number, at = this.#clock()): Promise<void> {
    const left = grace - (this.#clock() - at) / 1000;
    if (left <= 0) return this.release(value, owner);
    const sealed = sealSuccessor(value, successor);
    await this.#whileOwned(tokenKey(value), owner, (id, version) => this.#store.putRecord<Rotation>(ROTATION_KIND, id, { state: 'rotated', clientId, at, sealed }, { expectedVersion: version, expiresIn: Math.ceil(left) }));
  }

  /** The owner's request failed or needs no grace: the next presentation starts afresh. */
  async release(value: string, owner: string): Promise<void> {
    await this.#whileOwned(tokenKey(value), owner, (id) => this.#store.deleteRecord(ROTATION_KIND, id));
  }

  /** Whether a rotated record is still inside the window for the client presenting it. */
  withinGrace(rotation: Rotation & { state: 'rotated' }, grace: number): boolean {
    return grace > 0 && this.#clock() - rotation.at <= grace * 1000;
  }

  // A lease that ran out may have been taken by another request: only its owner settles it.
  // `id`: the record's key, hashed once for the read and the write.
  async #whileOwned(id: string, owner: string, write: (id: string, version: number) => Promise<unknown>): Promise<void> {
    const current = await this.#store.getRecord<Rotation>(ROTATION_KIND, id);
    if (current?.value.state === 'pending' && current.value.owner === owner) await write(id, current.version);
  }
}

const SALT = Buffer.from('baton/v1 refresh-grace');
const IV_BYTES = 12;
const TAG_BYTES = 16;

const INFO_AND_COUNTER = Buffer.from('successor\u0001');

/**
 * HKDF-SHA256 (RFC 5869) of the old value, 32 bytes: extract, PRK = HMAC(salt, value), then the one
 * expand block T(1) = HMAC(PRK, info || 0x01). The same bytes as `hkdfSync` (tested), for about half
 * its cost: every refresh seals a successor.
 */
export function keyFrom(oldValue: string): Buffer {
  const prk = createHmac('sha256', SALT).update(oldValue, 'utf8').digest();
  return createHmac('sha256', prk).update(INFO_AND_COUNTER).digest();
}

/** The successor, readable only by whoever presents the old token (the store never holds a usable value). */
export function sealSuccessor(oldValue: string, successor: string): string {
  const iv = randomNonce(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyFrom(oldValue), iv);
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** Undefined when the sealed value does not open under this old value (corrupted or not its own). */
export function openSuccessor(oldValue: string, sealed: string): string | undefined {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFrom(oldValue), raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
