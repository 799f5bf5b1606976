// Keeps a Baton grant's upstream session alive: the refresh policy (never / when-expired /
// always), single-flight per grant, keeping the old upstream refresh token when the upstream does
// not rotate it, claim updates, the grace period when the upstream is unreachable, and revocation
// at the upstream when the grant ends.
import type { BatonConfig, RefreshPolicy } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../provider/accounts.ts';
import type { Store } from '../storage/store.ts';
import { canRefresh, canRevoke, UpstreamError } from './connector.ts';
import type { Upstreams } from './index.ts';
import type { UpstreamVault, VaultEntry } from './vault.ts';

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
  renew(grantId: string, clientId: string, accountId: string): Promise<RenewOutcome> {
    let flight = this.#inFlight.get(grantId);
    if (!flight) {
      flight = this.#renew(grantId, clientId, accountId).finally(() => this.#inFlight.delete(grantId));
      this.#inFlight.set(grantId, flight);
    }
    return flight;
  }

  /** The grant ended (logout, revocation, reuse): revoke its upstream refresh token and forget it. */
  async end(grantId: string): Promise<void> {
    const entry = await this.#deps.vault.get(grantId);
    if (!entry) return;
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

  async #renew(grantId: string, clientId: string, accountId: string): Promise<RenewOutcome> {
    const { vault, upstreams, logger } = this.#deps;
    const entry = await vault.get(grantId);
    if (!entry) return { kind: 'not-needed' };
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
