// Keeps a Baton grant's upstream session alive: the refresh policy (never / when-expired /
// always), single flight per vaulted upstream session (per process, and across instances through a
// lease in the shared store: renewal.ts), fresh upstream tokens for hooks, keeping the old upstream refresh token when
// the upstream does not rotate it, claim updates, the grace period when the upstream is unreachable,
// and revocation at the upstream when the grant ends. A grant made from an existing Baton session
// (a second app, no new upstream sign-in) is linked to the grant whose upstream tokens it relies on.
import type { BatonConfig, RefreshPolicy } from '../config/schema.ts';
import { merged } from '../lang/merged.ts';
import type { Events } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../provider/accounts.ts';
import type { Store } from '../storage/store.ts';
import { canRevoke } from './connector.ts';
import type { Upstreams } from './index.ts';
import { RefreshLeases } from './refresh-lease.ts';
import { endsSession, renewLeased } from './renewal.ts';
import type { UpstreamVault, VaultEntry } from './vault.ts';

/** Record kind: a grant made from an existing Baton session -> the sibling grant holding the upstream tokens. */
const LINK_KIND = 'upstream-vault-link';

interface VaultLink {
  readonly source: string;
  readonly upstream: string;
  /** Epoch seconds: when the link was made (the grace period counts from it once the source is gone). */
  readonly linkedAt: number;
}

/** Refresh this long before the upstream access token expires, so it is valid when used. */
const EXPIRY_MARGIN_SECONDS = 30;

/**
 * Whether the vaulted access token is expired or inside the margin. No expiry and no refresh token:
 * a token that does not expire (GitHub OAuth Apps); no expiry but a refresh token: unknown, so ask.
 */
function expiring(entry: VaultEntry, now: number): boolean {
  return entry.tokens.expiresAt === undefined ? entry.tokens.refreshToken !== undefined : entry.tokens.expiresAt <= now + EXPIRY_MARGIN_SECONDS;
}

export type RenewOutcome =
  | { readonly kind: 'not-needed' | 'refreshed' | 'grace' }
  /** The upstream ended the user's session, or could not confirm it: the Baton refresh must fail. */
  | { readonly kind: 'ended'; readonly reason: string };

/** What a hook sees of the upstream sign-in (`api.upstream`): never an expired access token. */
export interface UpstreamView {
  readonly id: string;
  readonly tokens: { readonly accessToken?: string; readonly idToken?: string };
}

export interface SessionDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly vault: UpstreamVault;
  readonly upstreams: Upstreams;
  readonly logger: Logger;
  /** Receives `upstream.refresh` (audit log, `baton_refresh_total`). */
  readonly events?: Events;
  readonly now?: () => number;
}

type Holder = { kind: 'vaulted'; grantId: string; entry: VaultEntry; version: number } | { kind: 'none'; outcome: RenewOutcome };

export class UpstreamSessions {
  readonly #deps: SessionDeps;
  readonly #inFlight = new Map<string, Promise<RenewOutcome>>();
  readonly #policies: ReadonlyMap<string, RefreshPolicy | undefined>;
  readonly #leases: RefreshLeases;

  constructor(deps: SessionDeps) {
    this.#deps = deps;
    this.#policies = new Map(deps.config.clients.map((c) => [c.client_id, c.upstreamRefresh]));
    this.#leases = new RefreshLeases(deps.store);
  }

  /**
   * Called before a Baton refresh of `grantId` by `clientId`. Concurrent calls for one upstream
   * session share one upstream call and its outcome: in this process through one promise, across
   * instances through the lease in the shared store (renewal.ts).
   */
  async renew(grantId: string, clientId: string, accountId: string): Promise<RenewOutcome> {
    const holder = await this.#holder(grantId);
    if (holder.kind !== 'vaulted') return holder.outcome;
    return this.#flight(holder, this.#policies.get(clientId) ?? this.#deps.upstreams.settings(holder.entry.upstream)?.refresh ?? 'when-expired', clientId, accountId);
  }

  /**
   * The upstream tokens of `grantId`'s sign-in for a hook, renewed first (same single flight and
   * lease) when the access token is inside the expiry margin, whatever the refresh policy. An
   * access token that could not be renewed is left out rather than handed out expired.
   */
  async view(grantId: string, clientId: string, accountId: string): Promise<UpstreamView | undefined> {
    let holder = await this.#holder(grantId);
    if (holder.kind !== 'vaulted') return undefined;
    if (expiring(holder.entry, this.#now())) {
      await this.#flight(holder, 'when-expired', clientId, accountId);
      holder = await this.#holder(grantId);
      if (holder.kind !== 'vaulted') return undefined;
    }
    const { entry } = holder;
    const fresh = entry.tokens.accessToken !== undefined && (entry.tokens.expiresAt === undefined || entry.tokens.expiresAt > this.#now());
    const tokens: { accessToken?: string; idToken?: string } = {};
    if (fresh) tokens.accessToken = entry.tokens.accessToken;
    if (entry.tokens.idToken) tokens.idToken = entry.tokens.idToken;
    return { id: entry.upstream, tokens };
  }

  #flight(holder: Extract<Holder, { kind: 'vaulted' }>, policy: RefreshPolicy, clientId: string, accountId: string): Promise<RenewOutcome> {
    // Keyed by the grant holding the tokens: two apps sharing one upstream session refresh it once.
    let flight = this.#inFlight.get(holder.grantId);
    if (!flight) {
      flight = this.#renew(holder, policy, clientId, accountId).finally(() => this.#inFlight.delete(holder.grantId));
      this.#inFlight.set(holder.grantId, flight);
    }
    return flight;
  }

  /**
   * A grant made from an existing Baton session relies on that session's upstream sign-in: link it
   * to the first sibling grant (same session) that holds vaulted upstream tokens. Resolves whether
   * one did.
   */
  async link(grantId: string, siblingGrantIds: readonly string[]): Promise<boolean> {
    if (await this.#deps.vault.get(grantId)) return true;
    for (const sibling of siblingGrantIds) {
      if (sibling === grantId) continue;
      const source = (await this.#deps.store.getRecord<VaultLink>(LINK_KIND, sibling))?.value.source ?? sibling;
      const entry = await this.#deps.vault.get(source);
      if (!entry) continue;
      await this.#deps.store.putRecord<VaultLink>(LINK_KIND, grantId, { source, upstream: entry.upstream, linkedAt: this.#now() }, { expiresIn: this.#deps.config.ttl.grant });
      return true;
    }
    return false;
  }

  /** Which grant's vault entry speaks for `grantId`: its own, a linked sibling's, or none. */
  async #holder(grantId: string): Promise<Holder> {
    const own = await this.#deps.vault.read(grantId);
    if (own) return { kind: 'vaulted', grantId, ...own };
    const link = await this.#deps.store.getRecord<VaultLink>(LINK_KIND, grantId);
    if (!link) return { kind: 'none', outcome: { kind: 'not-needed' } };
    const shared = await this.#deps.vault.read(link.value.source);
    if (shared) return { kind: 'vaulted', grantId: link.value.source, ...shared };
    // The sign-in this grant relied on has ended (its app signed out or was revoked).
    const grace = this.#deps.upstreams.settings(link.value.upstream)?.refreshGracePeriod;
    if (grace !== undefined && this.#now() - link.value.linkedAt <= grace) return { kind: 'none', outcome: { kind: 'grace' } };
    return { kind: 'none', outcome: { kind: 'ended', reason: 'the upstream sign-in this session relied on has ended; sign in again' } };
  }


  /** The grant ended (logout, revocation, reuse): revoke its upstream refresh token and forget it. */
  async end(grantId: string): Promise<void> {
    const entry = await this.#deps.vault.get(grantId);
    if (!entry) {
      // A linked grant holds no tokens of its own: the upstream session belongs to its sibling.
      await this.#deps.store.deleteRecord(LINK_KIND, grantId);
      return;
    }
    await this.#deps.vault.delete(grantId);
    const connector = this.#deps.upstreams.get(entry.upstream);
    const settings = this.#deps.upstreams.settings(entry.upstream);
    if (!connector || !settings?.revokeOnLogout || !canRevoke(connector) || !entry.tokens.refreshToken) return;
    try {
      const revoked = await connector.revoke(entry.tokens.refreshToken, 'refresh_token');
      this.#deps.logger.info({ event: 'upstream.revoked', upstream: entry.upstream, revoked }, 'upstream refresh token revoked');
    } catch (err) {
      this.#deps.logger.warn({ event: 'upstream.revoke_failed', upstream: entry.upstream, reason: (err as Error).message }, 'could not revoke the upstream refresh token');
    }
  }

  async #renew(holder: Extract<Holder, { kind: 'vaulted' }>, policy: RefreshPolicy, clientId: string, accountId: string): Promise<RenewOutcome> {
    const { upstreams, logger } = this.#deps;
    const { grantId, entry, version } = holder;
    const settings = upstreams.settings(entry.upstream);
    const connector = upstreams.get(entry.upstream);
    if (!settings || !connector) return { kind: 'ended', reason: 'the upstream of this session is no longer configured' };
    if (policy === 'never' || (policy === 'when-expired' && !expiring(entry, this.#now()))) return { kind: 'not-needed' };
    const renewed = await renewLeased({ vault: this.#deps.vault, leases: this.#leases, logger, now: () => this.#now() }, grantId, version, connector, settings);
    const report = { upstream: entry.upstream, sub: accountId, clientId, role: renewed.role, upstreamCall: renewed.called ? (renewed.kind === 'refreshed' ? 'ok' : 'failed') : 'none' } as const;
    if (renewed.kind === 'refreshed') {
      if (renewed.claims) await this.#updateClaims(accountId, renewed.claims, this.#now());
      this.#deps.events?.emit('upstream.refresh', merged(report, { outcome: 'refreshed' }));
      return { kind: 'refreshed' };
    }
    const outcome = endsSession(renewed.failure)
      ? { kind: 'ended' as const, reason: renewed.failure === 'subject_changed' ? 'the upstream identity provider answered for another user' : 'the upstream identity provider ended the session' }
      : this.#unconfirmed(entry, settings.refreshGracePeriod, renewed.failure === 'no_refresh_token' ? 'the upstream gave no refresh token' : 'the upstream identity provider could not confirm the session');
    this.#deps.events?.emit('upstream.refresh', merged(report, { outcome: outcome.kind === 'grace' ? 'grace' : 'ended', failure: renewed.failure }));
    return outcome;
  }

  /** Without a confirmation from the upstream, only the grace period keeps the session going. */
  #unconfirmed(entry: VaultEntry, grace: number | undefined, reason: string): RenewOutcome {
    if (grace !== undefined && this.#now() - entry.refreshedAt <= grace) return { kind: 'grace' };
    return { kind: 'ended', reason };
  }

  async #updateClaims(accountId: string, claims: Readonly<Record<string, unknown>>, now: number): Promise<void> {
    const current = await this.#deps.store.getRecord<AccountRecord>(ACCOUNT_KIND, accountId);
    if (!current) return;
    await this.#deps.store.putRecord<AccountRecord>(ACCOUNT_KIND, accountId, merged(current.value, { claims: merged(current.value.claims, claims), updatedAt: now }));
  }

  #now(): number {
    return Math.floor((this.#deps.now ?? Date.now)() / 1000);
  }
}
