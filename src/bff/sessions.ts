// BFF sessions (RFC 10017 section 6.1.3.2): kept in Baton's store (every backend, shared by every
// instance) under the SHA-256 of the cookie's random id, the tokens inside sealed with a key derived
// from the master secret. A session ends when idle or old, on logout, when its refresh token dies,
// and when its grant ends (revocation, back-channel logout, reuse detection).
import { seal, unseal, UnsealError } from '../keys/seal.ts';
import { merged } from '../lang/merged.ts';
import type { Clock, Store } from '../storage/store.ts';
import { storedKey } from './cookie.ts';
import type { AccessToken } from './tokens.ts';

const KIND = 'bff-session';
/** sub -> session keys, for the operator's CLI. */
const USER_KIND = 'bff-user';
/** grantId -> session keys: a grant's end reaches its sessions. */
const GRANT_KIND = 'bff-grant';

export interface SessionTokens {
  readonly refreshToken: string;
  /** Access tokens by resource, with their expiry (epoch seconds). */
  readonly accessTokens: Readonly<Record<string, AccessToken>>;
}

interface StoredSession {
  readonly bff: string;
  readonly sub: string;
  readonly grantId: string;
  readonly claims: Record<string, unknown>;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly absoluteExpiresAt: number;
  readonly sealed: string;
}

export interface BffSession extends Omit<StoredSession, 'sealed'> {
  /** The store key (SHA-256 of the cookie value). */
  readonly key: string;
  readonly version: number;
  readonly tokens: SessionTokens;
  /** When it ends if left unused (epoch seconds). */
  readonly expiresAt: number;
}

export interface SessionSettings {
  readonly idle: number;
  readonly absolute: number;
}

export interface SessionSummary {
  readonly key: string;
  readonly bff: string;
  readonly sub: string;
  readonly grantId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

export class BffSessions {
  constructor(
    private readonly store: Store,
    private readonly sealKey: Buffer,
    private readonly clock: Clock,
  ) {}

  private now(): number {
    return Math.floor(this.clock() / 1000);
  }

  /** Stores a new session for the cookie value `cookie`. */
  async create(cookie: string, bff: string, settings: SessionSettings, fields: { sub: string; grantId: string; claims: Record<string, unknown>; tokens: SessionTokens }): Promise<void> {
    const now = this.now();
    const key = storedKey(cookie);
    const value: StoredSession = { bff, sub: fields.sub, grantId: fields.grantId, claims: fields.claims, createdAt: now, lastSeenAt: now, absoluteExpiresAt: now + settings.absolute, sealed: this.seal(key, fields.tokens) };
    await this.store.putRecord(KIND, key, value, { expiresIn: Math.min(settings.idle, settings.absolute) });
    await this.index(USER_KIND, `${bff}/${fields.sub}`, key, settings.absolute);
    await this.index(GRANT_KIND, fields.grantId, key, settings.absolute);
  }

  /**
   * The live session for this cookie value, its idle time renewed; undefined when there is none, it
   * is too old, or its grant has ended (checked on every use, so every instance sees a revocation).
   */
  async load(cookie: string, bff: string, settings: SessionSettings): Promise<BffSession | undefined> {
    const key = storedKey(cookie);
    const record = await this.store.getRecord<StoredSession>(KIND, key);
    if (!record || record.value.bff !== bff) return undefined;
    const now = this.now();
    const stored = record.value;
    if (now >= stored.absoluteExpiresAt || now >= stored.lastSeenAt + settings.idle || !(await this.store.find('Grant', stored.grantId))) {
      await this.end(key);
      return undefined;
    }
    let tokens: SessionTokens;
    try {
      tokens = JSON.parse(unseal(this.sealKey, stored.sealed, `${KIND}:${key}`)) as SessionTokens;
    } catch (err) {
      if (err instanceof UnsealError) return undefined;
      throw err;
    }
    let version = record.version;
    let lastSeenAt = stored.lastSeenAt;
    // Renew the idle time, at most once a minute, so reads do not all become writes.
    if (now - stored.lastSeenAt >= 60 || now - stored.lastSeenAt >= settings.idle / 10) {
      const renewed = merged(stored, { lastSeenAt: now });
      if (await this.store.putRecord(KIND, key, renewed, { expectedVersion: version, expiresIn: this.remaining(renewed, settings) })) {
        version += 1;
        lastSeenAt = now;
      }
    }
    const { sealed: _sealed, ...rest } = stored;
    return merged(rest, { lastSeenAt, key, version, tokens, expiresAt: Math.min(stored.absoluteExpiresAt, lastSeenAt + settings.idle) });
  }

  /** The session as stored now (after another request refreshed it), without renewing its idle time. */
  async reload(session: BffSession): Promise<BffSession | undefined> {
    const record = await this.store.getRecord<StoredSession>(KIND, session.key);
    if (!record) return undefined;
    const { sealed, ...rest } = record.value;
    const tokens = JSON.parse(unseal(this.sealKey, sealed, `${KIND}:${session.key}`)) as SessionTokens;
    return merged(rest, { key: session.key, version: record.version, tokens, expiresAt: session.expiresAt });
  }

  /**
   * Replaces the session's tokens (after a refresh). Compare-and-set on the version `load` returned:
   * false, writing nothing, when the session changed or ended meanwhile.
   */
  async saveTokens(session: BffSession, tokens: SessionTokens, settings: SessionSettings): Promise<boolean> {
    const { key, version, tokens: _old, expiresAt: _e, ...fields } = session;
    const value: StoredSession = merged(fields, { sealed: this.seal(key, tokens) });
    return this.store.putRecord(KIND, key, value, { expectedVersion: version, expiresIn: this.remaining(value, settings) });
  }

  /** Ends one session by its store key; ending an absent one is not an error. */
  async end(key: string): Promise<void> {
    await this.store.deleteRecord(KIND, key);
  }

  /** Ends every session of this grant (its refresh token family was revoked or the user logged out). */
  async endGrant(grantId: string): Promise<number> {
    const keys = (await this.store.getRecord<{ keys: string[] }>(GRANT_KIND, grantId))?.value.keys ?? [];
    await Promise.all(keys.map((key) => this.end(key)));
    await this.store.deleteRecord(GRANT_KIND, grantId);
    return keys.length;
  }

  /** The live sessions of `sub` at BFF `bff` (for the CLI). */
  async list(bff: string, sub: string): Promise<SessionSummary[]> {
    const keys = (await this.store.getRecord<{ keys: string[] }>(USER_KIND, `${bff}/${sub}`))?.value.keys ?? [];
    const found = await Promise.all(keys.map(async (key) => ({ key, record: await this.store.getRecord<StoredSession>(KIND, key) })));
    return found.flatMap(({ key, record }) => (record ? [{ key, bff: record.value.bff, sub: record.value.sub, grantId: record.value.grantId, createdAt: record.value.createdAt, lastSeenAt: record.value.lastSeenAt }] : []));
  }

  /** Ends every session of `sub` at BFF `bff`; resolves the sessions ended. */
  async endUser(bff: string, sub: string): Promise<SessionSummary[]> {
    const sessions = await this.list(bff, sub);
    await Promise.all(sessions.map((s) => this.end(s.key)));
    await this.store.deleteRecord(USER_KIND, `${bff}/${sub}`);
    return sessions;
  }

  private remaining(session: Pick<StoredSession, 'lastSeenAt' | 'absoluteExpiresAt'>, settings: SessionSettings): number {
    return Math.max(1, Math.min(session.lastSeenAt + settings.idle, session.absoluteExpiresAt) - this.now());
  }

  private seal(key: string, tokens: SessionTokens): string {
    return seal(this.sealKey, JSON.stringify(tokens), `${KIND}:${key}`);
  }

  /** Adds `key` to an index record (compare-and-set, retried), dropping keys whose session is gone. */
  private async index(kind: string, id: string, key: string, expiresIn: number): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const record = await this.store.getRecord<{ keys: string[] }>(kind, id);
      const live = await Promise.all((record?.value.keys ?? []).map(async (k) => ((await this.store.getRecord(KIND, k)) ? k : undefined)));
      const keys = [...live.filter((k): k is string => k !== undefined), key];
      if (await this.store.putRecord(kind, id, { keys }, { expectedVersion: record?.version ?? 0, expiresIn })) return;
    }
  }
}
