// Keeps a Baton grant's upstream session alive: the refresh policy (never / when-expired /
// always), single-flight per vaulted upstream session, keeping the old upstream refresh token when
// the upstream does not rotate it, claim updates, the grace period when the upstream is unreachable,
// and revocation at the upstream when the grant ends. A grant made from an existing Baton session
// (a second app, no new upstream sign-in) is linked to the grant whose upstream tokens it relies on.
import type { BatonConfig, RefreshPolicy } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../provider/accounts.ts';
import type { Store } from '../storage/store.ts';
import { canRefresh, canRevoke, UpstreamError } from './connector.ts';
import type { Upstreams } from './index.ts';
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

export type RenewOutcome =
  | { readonly kind: 'not-needed' | 'refreshed' | 'grace' }
  /** The upstream ended the user's session, or could not confirm it: the Baton refresh must fail. */
  | { readonly kind: 'ended'; readonly reason: string };

export interface SessionDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly vault: UpstreamVault;
  readonly upstreams: Upstreams;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class UpstreamSessions {
  readonly #deps: SessionDeps;
  readonly #inFlight = new Map<string, Promise<RenewOutcome>>();
  readonly #policies: ReadonlyMap<string, RefreshPolicy | undefined>;

  constructor(deps: SessionDeps) {
    this.#deps = deps;
    this.#policies = new Map(deps.config.clients.map((c) => [c.client_id, c.upstreamRefresh]));
  }

  /**
   * Called before a Baton refresh of `grantId` by `clientId`. Concurrent calls for one grant share
   * one upstream call and its outcome.
   */
  async renew(grantId: string, clientId: string, accountId: string): Promise<RenewOutcome> {
    const holder = await this.#holder(grantId);
    if (holder.kind !== 'vaulted') return holder.outcome;
    // Keyed by the grant holding the tokens: two apps sharing one upstream session refresh it once.
    let flight = this.#inFlight.get(holder.grantId);
    if (!flight) {
      flight = this.#renew(holder.grantId, holder.entry, clientId, accountId).finally(() => this.#inFlight.delete(holder.grantId));
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
  async #holder(grantId: string): Promise<{ kind: 'vaulted'; grantId: string; entry: VaultEntry } | { kind: 'none'; outcome: RenewOutcome }> {
    const own = await this.#deps.vault.get(grantId);
    if (own) return { kind: 'vaulted', grantId, entry: own };
    const link = await this.#deps.store.getRecord<VaultLink>(LINK_KIND, grantId);
    if (!link) return { kind: 'none', outcome: { kind: 'not-needed' } };
    const shared = await this.#deps.vault.get(link.value.source);
    if (shared) return { kind: 'vaulted', grantId: link.value.source, entry: shared };
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

  async #renew(grantId: string, entry: VaultEntry, clientId: string, accountId: string): Promise<RenewOutcome> {
    const { vault, upstreams, logger } = this.#deps;
    const settings = upstreams.settings(entry.upstream);
    const connector = upstreams.get(entry.upstream);
    if (!settings || !connector) return { kind: 'ended', reason: 'the upstream of this session is no longer configured' };
    const policy = this.#policies.get(clientId) ?? settings.refresh;
    const now = this.#now();
    // No expiry and no refresh token: a token that does not expire (GitHub OAuth Apps); no expiry but
    // a refresh token: unknown, so ask.
    const expired = entry.tokens.expiresAt === undefined ? entry.tokens.refreshToken !== undefined : entry.tokens.expiresAt <= now + EXPIRY_MARGIN_SECONDS;
    if (policy === 'never' || (policy === 'when-expired' && !expired)) return { kind: 'not-needed' };
    if (!entry.tokens.refreshToken || !canRefresh(connector)) {
      return this.#unconfirmed(entry, settings.refreshGracePeriod, 'the upstream gave no refresh token');
    }
    try {
      const result = await connector.refresh(entry.tokens.refreshToken);
      const tokens = {
        ...result.tokens,
        // Google and others do not rotate: keep the refresh token (and id_token) we have.
        refreshToken: result.tokens.refreshToken ?? entry.tokens.refreshToken,
        idToken: result.tokens.idToken ?? entry.tokens.idToken,
      };
      await vault.put(grantId, { upstream: entry.upstream, tokens, refreshedAt: now });
      if (result.claims) await this.#updateClaims(accountId, result.claims, now);
      logger.info({ event: 'upstream.refresh', upstream: entry.upstream, rotated: result.tokens.refreshToken !== undefined }, 'upstream session refreshed');
      return { kind: 'refreshed' };
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      logger.warn({ event: 'upstream.refresh_failed', upstream: entry.upstream, kind: err.kind, reason: err.message }, 'upstream refresh failed');
      if (err.kind === 'grant_refused' || err.kind === 'not_allowed') {
        await vault.delete(grantId);
        return { kind: 'ended', reason: 'the upstream identity provider ended the session' };
      }
      return this.#unconfirmed(entry, settings.refreshGracePeriod, 'the upstream identity provider could not confirm the session');
    }
  }

  /** Without a confirmation from the upstream, only the grace period keeps the session going. */
  #unconfirmed(entry: VaultEntry, grace: number | undefined, reason: string): RenewOutcome {
    if (grace !== undefined && this.#now() - entry.refreshedAt <= grace) return { kind: 'grace' };
    return { kind: 'ended', reason };
  }

  async #updateClaims(accountId: string, claims: Readonly<Record<string, unknown>>, now: number): Promise<void> {
    const current = await this.#deps.store.getRecord<AccountRecord>(ACCOUNT_KIND, accountId);
    if (!current) return;
    await this.#deps.store.putRecord<AccountRecord>(ACCOUNT_KIND, accountId, { ...current.value, claims: { ...current.value.claims, ...claims }, updatedAt: now });
  }

  #now(): number {
    return Math.floor((this.#deps.now ?? Date.now)() / 1000);
  }
}
