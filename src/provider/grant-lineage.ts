// Which grant a Baton access token belongs to, and which grants were derived from which (RFC 8693
// token exchange of a Baton access token), so that ending a grant (logout, revocation, refresh
// token reuse) reaches everything issued from it. JWT access tokens are not stored by
// oidc-provider: a record per token (keyed by a hash of its `jti`) names its grant instead.
import { setTimeout as sleep } from 'node:timers/promises';

import type { KoaContextWithOIDC } from 'oidc-provider';

import { TOKEN_EXCHANGE } from '../config/schema.ts';
import type { Store } from '../storage/store.ts';
import { storedTokenId } from '../storage/token-ids.ts';

/** `sha256(jti)` -> the grant the access token depends on (absent for a token issued without one). */
const TOKEN_KIND = 'access-token-grant';
/** Origin grant -> grants derived from it by token exchange. */
const DERIVED_KIND = 'grant-derived';
/** Derived grant -> its origin grant. */
const ORIGIN_KIND = 'grant-origin';
/** `{origin}/{client_id}` -> the grant that client derived from it, reused by its later exchanges. */
const CLIENT_KIND = 'grant-derived-client';

/** Exchanges of exchanges nest at most this deep (the `act` chain has the same bound). */
const MAX_DEPTH = 8;
const MAX_TRIES = 16;
/** A lost compare-and-set waits a random 0..min(2^try, cap) ms, so concurrent appends spread out. */
const BACKOFF_CAP_MS = 64;
/** Kept this long past `exp`: token exchange accepts Baton's access tokens with that much leeway. */
export const CLOCK_TOLERANCE_SECONDS = 15;

export interface TokenGrant {
  /** The grant whose end ends this token; undefined when it was issued without one. */
  readonly grantId?: string;
}

/** Remembers which grant a JWT access token belongs to, for as long as the token is accepted (`lifetime` seconds, plus leeway). */
export function recordAccessToken(store: Store, jti: string, grantId: string | undefined, lifetime: number): Promise<unknown> {
  const expiresIn = Math.max(1, Math.ceil(lifetime) + CLOCK_TOLERANCE_SECONDS);
  // The write's own promise (its result says nothing here): no async frame around it.
  return store.putRecord<TokenGrant>(TOKEN_KIND, tokenKey(jti), grantId ? { grantId } : {}, { expiresIn });
}

/**
 * oidc-provider's `formats.customizers.jwt`: runs while a JWT access token is built, before its
 * value is returned. Every user token gets a record (a missing one is refused as subject_token);
 * client_credentials tokens need none. Token exchange writes its own (the grant it derives from).
 */
export function recordJwtGrant(store: Store) {
  return async (ctx: KoaContextWithOIDC | undefined, token: { jti?: string; accountId?: string; grantId?: string }, jwt: { payload: { exp?: unknown } }): Promise<void> => {
    if (!token.accountId || !token.jti || ctx?.oidc?.params?.grant_type === TOKEN_EXCHANGE) return;
    const exp = typeof jwt.payload.exp === 'number' ? jwt.payload.exp : 0;
    await recordAccessToken(store, token.jti, token.grantId, exp - Math.floor(Date.now() / 1000));
  };
}

/** The record written when the access token with this `jti` was issued; undefined when Baton has none. */
export async function accessTokenGrant(store: Store, jti: string): Promise<TokenGrant | undefined> {
  return (await store.getRecord<TokenGrant>(TOKEN_KIND, tokenKey(jti)))?.value;
}

/** The grant `clientId` already derived from `origin`, if any: one per client keeps the list short. */
export async function derivedGrantOf(store: Store, origin: string, clientId: string): Promise<string | undefined> {
  return (await store.getRecord<{ grantId: string }>(CLIENT_KIND, `${origin}/${clientId}`))?.value.grantId;
}

/**
 * Whether a token whose grant-type chain is `gty` may belong to a derived grant, which only token
 * exchange makes (deriveGrant), issuing every token of it with gty `TOKEN_EXCHANGE` (a refresh
 * appends `refresh_token`): false only when the chain says it began elsewhere. Unknown: true.
 */
export function mayBeDerived(gty: string | undefined): boolean {
  return gty === undefined || gty.split(' ').includes(TOKEN_EXCHANGE);
}

/**
 * Links `derived` (made for `clientId`) to `origin`: revokeDerivedGrants(origin) will revoke it.
 * Every token of `derived` MUST carry gty `TOKEN_EXCHANGE` (mayBeDerived: refreshes of other
 * tokens do not look for an origin).
 */
export async function deriveGrant(store: Store, origin: string, derived: string, clientId: string, expiresIn: number): Promise<void> {
  await store.putRecord(ORIGIN_KIND, derived, { origin }, { expiresIn });
  for (let tries = 0; tries < MAX_TRIES; tries += 1) {
    const current = await store.getRecord<{ grants: string[] }>(DERIVED_KIND, origin);
    const grants = [...(current?.value.grants ?? []), derived];
    // Renewed on every append, so the list outlives the newest grant derived from it.
    if (await store.putRecord(DERIVED_KIND, origin, { grants }, { expectedVersion: current?.version ?? 0, expiresIn })) {
      await store.putRecord(CLIENT_KIND, `${origin}/${clientId}`, { grantId: derived }, { expiresIn });
      return;
    }
    await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, 2 ** tries));
  }
  throw new Error('could not link the exchanged grant to its origin');
}

/** Ends every grant derived from `origin` (and theirs) through `revoke`, which calls back here. */
export async function revokeDerivedGrants(store: Store, origin: string, revoke: (grantId: string) => Promise<void>): Promise<void> {
  const derived = (await store.getRecord<{ grants: string[] }>(DERIVED_KIND, origin))?.value.grants ?? [];
  if (derived.length === 0) return;
  await Promise.all(derived.map((grantId) => revoke(grantId)));
  await store.deleteRecord(DERIVED_KIND, origin);
}

/** Whether `grantId` and every grant it was derived from still exist. */
export async function grantAlive(store: Store, grantId: string, exists: (grantId: string) => Promise<boolean>): Promise<boolean> {
  return (await exists(grantId)) && !(await originEnded(store, grantId, exists));
}

/**
 * Whether a grant `grantId` was derived from has ended: the check at use time that does not rely
 * on revokeDerivedGrants having finished (oidc-provider's `grant.revoked` event is not awaited by
 * the request that ended the grant).
 */
export async function originEnded(store: Store, grantId: string, exists: (grantId: string) => Promise<boolean>): Promise<boolean> {
  let current = (await store.getRecord<{ origin: string }>(ORIGIN_KIND, grantId))?.value.origin;
  for (let depth = 0; current !== undefined; depth += 1) {
    if (depth >= MAX_DEPTH || !(await exists(current))) return true;
    current = (await store.getRecord<{ origin: string }>(ORIGIN_KIND, current))?.value.origin;
  }
  return false;
}

/** Records addressed by a token's jti use the at-rest digest: the store never holds the value. */
const tokenKey = storedTokenId;
