// One upstream refresh per upstream session, cluster-wide (RFC 6749 section 6 at the upstream; OpenID
// Connect Core 12.2 for the id_token it returns). The instance that takes the lease (refresh-lease.ts)
// is the holder: it calls the upstream and writes the new tokens with a compare-and-set against the
// vault version it read (the fence). Every other instance is a waiter: it polls the vault entry for
// a newer version (bounded) and takes the holder's result; when the holder could not reach the
// upstream, a waiter applies the grace period itself rather than calling again.
import { setTimeout as sleep } from 'node:timers/promises';

import { decodeJwt } from 'jose';

import { merged } from '../lang/merged.ts';
import type { Logger } from '../observability/logger.ts';
import { canRefresh, UpstreamError, type Connector, type RefreshCapable, type RefreshResult, type UpstreamTokens } from './connector.ts';
import type { HeldLease, RefreshLeases } from './refresh-lease.ts';
import type { ResolvedUpstream } from './resolve.ts';
import type { UpstreamVault, VaultEntry } from './vault.ts';

/** How often a waiter looks at the vault entry for the holder's result. */
const POLL_MS = 50;
/** The lease outlives the upstream call's own timeout by this much (seconds). */
const LEASE_SLACK_SECONDS = 5;
/** A failed holder keeps the lease this long (seconds), so a burst of waiters does not call a failing upstream again. */
const FAILURE_HOLD_SECONDS = 1;
/** Failures that end the session (the upstream refused it, or answered for someone else). */
const FATAL: ReadonlySet<string> = new Set(['grant_refused', 'not_allowed', 'subject_changed']);

export type Role = 'holder' | 'waiter';

export type Renewed =
  | { readonly kind: 'refreshed'; readonly role: Role; readonly called: boolean; readonly claims?: Readonly<Record<string, unknown>> }
  /** The upstream call failed, or the result never came: `failure` says why. */
  | { readonly kind: 'failed'; readonly role: Role; readonly called: boolean; readonly failure: string };

export interface RenewalDeps {
  readonly vault: UpstreamVault;
  readonly leases: RefreshLeases;
  readonly logger: Logger;
  /** Epoch seconds. */
  readonly now: () => number;
}

/**
 * Refreshes the upstream session vaulted under `sessionId`, whose entry the caller read at `version`
 * and found in need of a refresh. Resolves the result once a refresh that started after that read
 * has completed, here or on another instance.
 */
export async function renewLeased(
  deps: RenewalDeps, sessionId: string, version: number, connector: Connector, settings: ResolvedUpstream,
): Promise<Renewed> {
  const leaseSeconds = Math.ceil(settings.timeoutMs / 1000) + LEASE_SLACK_SECONDS;
  // Wall-clock bound (not the injected clock): it paces real waiting. Two leases: a holder that
  // stalls past its lease is replaced by one of the waiters, which then has a lease of its own.
  const deadline = Date.now() + 2 * leaseSeconds * 1000 + 1000;
  for (;;) {
    const state = await deps.leases.acquire(sessionId, leaseSeconds);
    if (state.kind === 'held') return hold(deps, sessionId, version, connector, state.lease);
    if (state.failed) return { kind: 'failed', role: 'waiter', called: false, failure: state.failed };
    const result = await wait(deps, sessionId, version, deadline);
    if (result) return result;
    if (Date.now() >= deadline) return { kind: 'failed', role: 'waiter', called: false, failure: 'timeout' };
  }
}

/** Whether the refresh `failure` ends the session (rather than falling back on the grace period). */
export function endsSession(failure: string): boolean {
  return FATAL.has(failure);
}

async function hold(deps: RenewalDeps, sessionId: string, version: number, connector: Connector, lease: HeldLease): Promise<Renewed> {
  const { vault, logger } = deps;
  let released = false;
  try {
    const current = await vault.read(sessionId);
    if (!current) return { kind: 'failed', role: 'holder', called: false, failure: 'grant_refused' };
    // Refreshed since the caller read it (the previous holder finished just before): that result serves.
    if (current.version !== version) return { kind: 'refreshed', role: 'waiter', called: false };
    const { entry } = current;
    if (!entry.tokens.refreshToken || !canRefresh(connector)) return { kind: 'failed', role: 'holder', called: false, failure: 'no_refresh_token' };
    const result = await callUpstream(logger, connector, entry);
    if ('failure' in result) {
      if (result.failure === 'grant_refused' || result.failure === 'not_allowed') {
        // Only the entry this holder read: a newer one (written by a later holder) is not ours to drop.
        if ((await vault.read(sessionId))?.version === current.version) await vault.delete(sessionId);
      }
      await lease.fail(result.failure, FAILURE_HOLD_SECONDS);
      released = true;
      return { kind: 'failed', role: 'holder', called: true, failure: result.failure };
    }
    if (!(await vault.put(sessionId, { upstream: entry.upstream, tokens: result.tokens, refreshedAt: deps.now() }, current.version))) {
      // Fenced: this holder outlived its lease and a newer token is in the vault; it stands.
      logger.warn({ event: 'upstream.refresh_fenced', upstream: entry.upstream }, 'a newer upstream token was stored meanwhile; this refresh result is dropped');
    }
    return { kind: 'refreshed', role: 'holder', called: true, ...(result.claims ? { claims: result.claims } : {}) };
  } finally {
    if (!released) await lease.release();
  }
}

/** The upstream refresh itself: the tokens to vault (and refreshed claims), or why there are none. */
async function callUpstream(logger: Logger, connector: Connector & RefreshCapable, entry: VaultEntry): Promise<{ tokens: UpstreamTokens; claims?: Readonly<Record<string, unknown>> } | { failure: string }> {
  let result: RefreshResult;
  try {
    result = await connector.refresh(entry.tokens.refreshToken!);
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    logger.warn({ event: 'upstream.refresh_failed', upstream: entry.upstream, kind: err.kind, reason: err.message }, 'upstream refresh failed');
    return { failure: err.kind };
  }
  if (result.idToken && changedSubject(entry.tokens, result.idToken)) {
    logger.warn({ event: 'upstream.refresh_subject_changed', upstream: entry.upstream }, 'the upstream refreshed the session for another user (OIDC Core 12.2); ending it');
    return { failure: 'subject_changed' };
  }
  logger.info({ event: 'upstream.refresh', upstream: entry.upstream, rotated: result.tokens.refreshToken !== undefined }, 'upstream session refreshed');
  return {
    tokens: merged(result.tokens, {
      refreshToken: result.tokens.refreshToken ?? entry.tokens.refreshToken,
      idToken: result.tokens.idToken ?? entry.tokens.idToken,
    }),
    ...(result.claims ? { claims: result.claims } : {}),
  };
}

/** A waiter: the holder's result once the vault entry moves past `version`, or undefined when the lease went without one. */
async function wait(deps: RenewalDeps, sessionId: string, version: number, deadline: number): Promise<Renewed | undefined> {
  while (Date.now() < deadline) {
    await sleep(POLL_MS);
    const current = await deps.vault.read(sessionId);
    if (!current) return { kind: 'failed', role: 'waiter', called: false, failure: 'grant_refused' };
    if (current.version !== version) return { kind: 'refreshed', role: 'waiter', called: false };
    const lease = await deps.leases.state(sessionId);
    if (lease.failed) return { kind: 'failed', role: 'waiter', called: false, failure: lease.failed };
    if (!lease.held) return undefined;
  }
  return undefined;
}

/**
 * OpenID Connect Core 12.2: an id_token from a refresh must carry the `iss` and `sub` of the one
 * issued at the original sign-in. Without an original id_token (OAuth 2.0 upstreams) nothing to compare.
 */
function changedSubject(original: UpstreamTokens, refreshed: { readonly issuer: string; readonly subject: string }): boolean {
  if (!original.idToken) return false;
  const { iss, sub } = decodeJwt(original.idToken);
  return iss !== refreshed.issuer || sub !== refreshed.subject;
}
