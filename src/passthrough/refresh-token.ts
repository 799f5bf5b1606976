// Baton's refresh tokens in passthrough mode, wrapping the upstream's (which never reaches the
// client). Two modes: `jwe`, a JWT encrypted (RFC 7516, `dir` + A256GCM) under a key derived from
// the master secret that rotates daily, bound to the client (`aud`) and the passthrough issuer
// (`iss`), expiring no later than the upstream token; or `handle`, an opaque random value whose
// record (the upstream token sealed at rest, found by the handle's SHA-256) is spent on each use;
// the handles rotated from one sign-in form a family, ended at once when a spent one comes back.
import { createHash, hkdfSync, randomBytes, randomUUID } from 'node:crypto';

import { EncryptJWT, jwtDecrypt } from 'jose';

import type { RefreshTokenMode } from '../config/passthrough.ts';
import { seal, unseal } from '../keys/seal.ts';
import { merged } from '../lang/merged.ts';
import type { Store } from '../storage/store.ts';
import { invalidGrant } from './errors.ts';

/** What a refresh needs of the original sign-in. */
export interface WrappedGrant {
  readonly upstreamRefreshToken: string;
  /** Baton's `sub`. */
  readonly sub: string;
  readonly authTime?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
  /** OpenID scopes granted upstream (which claims the id_token carries). */
  readonly scope?: string;
  /** Handle mode: the chain of handles rotated from one sign-in (assigned by the first wrap). */
  readonly family?: string;
}

/** A token issued to the client here, as it stands. */
export interface Presented {
  readonly grant: WrappedGrant;
  /** A handle already used (rotated away); JWE tokens are never spent. */
  readonly spent: boolean;
}

export interface RefreshTokens {
  /** A new refresh token for `clientId`; `upstreamExpiresIn` (seconds) caps its lifetime. */
  wrap(grant: WrappedGrant, clientId: string, upstreamExpiresIn?: number): Promise<string>;
  /**
   * The grant of a token issued to `clientId` here, spent when the mode rotates; invalid_grant
   * otherwise. `release` undoes the spending; given the upstream refresh token that replaced the
   * wrapped one (a rotating upstream answered before a later step failed), the handle wraps that one
   * from then on. A JWE holds nothing to spend or replace: its `release` does nothing.
   */
  unwrap(token: string, clientId: string): Promise<{ grant: WrappedGrant; release: (upstreamRefreshToken?: string) => Promise<void> }>;
  /** A token issued to `clientId` here (spent or not), without spending or ending anything. */
  peek(token: string, clientId: string): Promise<Presented | undefined>;
  /** Ends the token (handle: deleted); resolves its grant when it was issued to `clientId` here. */
  revoke(token: string, clientId: string): Promise<WrappedGrant | undefined>;
  /** Reuse detected: ends every token rotated from the same sign-in (handle: its family; JWE: nothing is held here). */
  endChain(token: string, clientId: string): Promise<void>;
}

export interface RefreshTokenSettings {
  readonly mode: RefreshTokenMode;
  /** The passthrough issuer: the `iss` of JWE tokens, the owner of handles. */
  readonly issuer: string;
  /** Seconds. */
  readonly ttl: number;
  /** Derived from the master secret for this purpose only. */
  readonly secret: Buffer;
  readonly store: Store;
  readonly clock: () => number;
}

export const REFUSED = 'the refresh token is invalid, expired, revoked or was not issued to this client';

export function refreshTokens(settings: RefreshTokenSettings): RefreshTokens {
  return settings.mode === 'jwe' ? jweTokens(settings) : handleTokens(settings);
}

const KEY_PERIOD_SECONDS = 24 * 3600;
const KID_PREFIX = 'ptr1-';

/** The encryption key of day `epoch`: HKDF-SHA256 (RFC 5869) of the passthrough secret. */
function epochKey(secret: Buffer, epoch: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, Buffer.from('baton/passthrough-refresh'), Buffer.from(`epoch ${epoch}`), 32));
}

function jweTokens({ issuer, ttl, secret, clock }: RefreshTokenSettings): RefreshTokens {
  const now = () => Math.floor(clock() / 1000);
  /** Keys of the days a still-valid token can have been encrypted on. */
  const keyFor = (kid: unknown): Uint8Array => {
    const epoch = typeof kid === 'string' && kid.startsWith(KID_PREFIX) ? Number(kid.slice(KID_PREFIX.length)) : NaN;
    const current = Math.floor(now() / KEY_PERIOD_SECONDS);
    const oldest = Math.floor((now() - ttl) / KEY_PERIOD_SECONDS);
    if (!Number.isInteger(epoch) || epoch > current || epoch < oldest) throw new Error('unknown key');
    return epochKey(secret, epoch);
  };
  const open = async (token: string, clientId: string): Promise<WrappedGrant> => {
    try {
      const { payload } = await jwtDecrypt(token, (header) => keyFor(header.kid), {
        issuer, audience: clientId, keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'],
        requiredClaims: ['sub', 'exp', 'urt'], currentDate: new Date(clock()),
      });
      return grantOf(payload);
    } catch {
      throw invalidGrant(REFUSED);
    }
  };
  return {
    async wrap(grant, clientId, upstreamExpiresIn) {
      const epoch = Math.floor(now() / KEY_PERIOD_SECONDS);
      const lifetime = Math.min(ttl, upstreamExpiresIn ?? ttl);
      return new EncryptJWT({ urt: grant.upstreamRefreshToken, auth_time: grant.authTime, acr: grant.acr, amr: grant.amr ? [...grant.amr] : undefined, scope: grant.scope })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: `${KID_PREFIX}${epoch}`, typ: 'JWT' })
        .setIssuer(issuer).setAudience(clientId).setSubject(grant.sub)
        .setIssuedAt(now()).setExpirationTime(now() + lifetime).setJti(randomUUID())
        .encrypt(epochKey(secret, epoch));
    },
    async unwrap(token, clientId) {
      return { grant: await open(token, clientId), release: async () => undefined };
    },
    async peek(token, clientId) {
      const grant = await open(token, clientId).catch(() => undefined);
      return grant && { grant, spent: false };
    },
    async revoke(token, clientId) {
      return open(token, clientId).catch(() => undefined);
    },
    // Stateless: the upstream's reuse detection (for a rotating upstream) is what ends the chain.
    async endChain() {},
  };
}

const HANDLE_KIND = 'passthrough-refresh';
/** A family that ended on reuse; kept as long as any of its handles can live. */
const FAMILY_KIND = 'passthrough-refresh-family';

interface HandleRecord {
  readonly issuer: string;
  readonly clientId: string;
  /** The WrappedGrant as JSON, sealed under the passthrough secret, bound to the handle's id. */
  readonly sealed: string;
  readonly used: boolean;
  /** Epoch seconds: the handle's end, kept when it is spent or released. */
  readonly expiresAt: number;
  /** Random id shared by the handles rotated from one sign-in (absent on handles issued before families). */
  readonly family?: string;
}

function handleTokens({ issuer, ttl, secret, store, clock }: RefreshTokenSettings): RefreshTokens {
  const now = () => Math.floor(clock() / 1000);
  const idOf = (token: string) => createHash('sha256').update(token).digest('base64url');
  const find = async (token: string, clientId: string) => {
    const id = idOf(token);
    const record = await store.getRecord<HandleRecord>(HANDLE_KIND, id);
    if (!record || record.value.issuer !== issuer || record.value.clientId !== clientId || record.value.expiresAt <= now()) return undefined;
    if (record.value.family && await store.getRecord(FAMILY_KIND, record.value.family)) return undefined;
    try {
      return { id, record, grant: JSON.parse(unseal(secret, record.value.sealed, `${HANDLE_KIND}:${id}`)) as WrappedGrant };
    } catch {
      return undefined;
    }
  };
  return {
    async wrap(grant, clientId, upstreamExpiresIn) {
      const token = randomBytes(32).toString('base64url');
      const id = idOf(token);
      const lifetime = Math.min(ttl, upstreamExpiresIn ?? ttl);
      const family = grant.family ?? randomUUID();
      const sealed = seal(secret, JSON.stringify(merged(grant, { family })), `${HANDLE_KIND}:${id}`);
      const record: HandleRecord = { issuer, clientId, sealed, used: false, expiresAt: now() + lifetime, family };
      await store.putRecord(HANDLE_KIND, id, record, { expectedVersion: 0, expiresIn: lifetime });
      return token;
    },
    async unwrap(token, clientId) {
      const found = await find(token, clientId);
      if (!found || found.record.value.used) throw invalidGrant(REFUSED);
      // Spent atomically: of concurrent refreshes with one handle, exactly one goes on.
      const spent = merged(found.record.value, { used: true });
      const expiresIn = Math.max(1, found.record.value.expiresAt - now());
      if (!(await store.putRecord(HANDLE_KIND, found.id, spent, { expectedVersion: found.record.version, expiresIn }))) throw invalidGrant(REFUSED);
      return {
        grant: found.grant,
        release: async (upstreamRefreshToken) => {
          const sealed = upstreamRefreshToken === undefined || upstreamRefreshToken === found.grant.upstreamRefreshToken
            ? spent.sealed
            : seal(secret, JSON.stringify(merged(found.grant, { upstreamRefreshToken })), `${HANDLE_KIND}:${found.id}`);
          const given = await store.putRecord(HANDLE_KIND, found.id, merged(spent, { sealed, used: false }), { expectedVersion: found.record.version + 1, expiresIn });
          if (!given) throw new Error('the refresh handle changed while it was spent; not given back');
        },
      };
    },
    async peek(token, clientId) {
      const found = await find(token, clientId);
      return found && { grant: found.grant, spent: found.record.value.used };
    },
    async revoke(token, clientId) {
      const found = await find(token, clientId);
      if (!found) return undefined;
      await store.deleteRecord(HANDLE_KIND, found.id);
      return found.grant;
    },
    async endChain(token, clientId) {
      const found = await find(token, clientId);
      if (!found) return;
      const { family } = found.record.value;
      // Every handle of the family was issued at most `ttl` ago or is issued by a rotation in flight
      // (its lease lasts a minute): the record outlives them all.
      if (family) await store.putRecord(FAMILY_KIND, family, { endedAt: now() }, { expiresIn: ttl + 60 });
      else await store.deleteRecord(HANDLE_KIND, found.id);
    },
  };
}

function grantOf(payload: Record<string, unknown>): WrappedGrant {
  const amr = Array.isArray(payload.amr) ? payload.amr.filter((v): v is string => typeof v === 'string') : undefined;
  return {
    upstreamRefreshToken: String(payload.urt),
    sub: String(payload.sub),
    authTime: typeof payload.auth_time === 'number' ? payload.auth_time : undefined,
    acr: typeof payload.acr === 'string' ? payload.acr : undefined,
    amr,
    scope: typeof payload.scope === 'string' ? payload.scope : undefined,
  };
}
