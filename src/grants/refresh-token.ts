// The refresh_token grant (RFC 6749 section 6) around oidc-provider's own handler: one rotation per
// refresh token across instances, a reuse grace window for the same client (RFC 9700 section 4.14.2
// lets a server tolerate a concurrent or retried presentation), and the old token spent only on success.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import type { Events } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { RefreshOutcome } from '../observability/metrics.ts';
import type { Clock, Store } from '../storage/store.ts';
import { grantHandler, type GrantHandler } from './provider-grants.ts';
import { RotationRecords, type Rotation } from './refresh-rotation.ts';
import { rotateOnce, storeFailureLog } from './rotate-once.ts';
import { spendOnSuccess } from './spend-on-success.ts';
import { TemporarilyUnavailable } from './token-exchange-tokens.ts';

const GRACE_REPLAY = 'batonGraceReplay';

export interface RefreshGrantDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** Seconds a rotated refresh token stays replayable by its client (0: strict). */
  readonly graceFor: (clientId: string) => number;
  readonly logger: Logger;
  readonly events: Events;
  readonly count?: (outcome: RefreshOutcome) => void;
}

/** For `rotateRefreshToken`: a grace replay answers with the successor as it is, without rotating it. */
export function isGraceReplay(ctx: KoaContextWithOIDC): boolean {
  return ctx.state?.[GRACE_REPLAY] === true;
}

export function wrapRefreshTokenGrant(provider: Provider, deps: RefreshGrantDeps): void {
  const records = new RotationRecords(deps.store, deps.clock);
  grantHandler(provider, 'refresh_token', (original) => refreshTokenGrant(original, records, deps));
}

function refreshTokenGrant(original: GrantHandler, records: RotationRecords, deps: RefreshGrantDeps): GrantHandler {
  const count = (outcome: RefreshOutcome) => deps.count?.(outcome);
  const reused = (err: unknown) => /already (used|consumed)/.test(String((err as { error_detail?: unknown })?.error_detail ?? ''));

  /** This request rotates: oidc-provider decides everything, the old token is spent only if it succeeds. */
  async function rotate(ctx: KoaContextWithOIDC): Promise<{ result: void; successor?: string }> {
    let reached = false;
    try {
      await spendOnSuccess(ctx, ['RefreshToken'], () => original(ctx), (spent) => {
        reached = spent.reached;
      });
    } catch (err) {
      // Reuse (the token was spent before), or a failure after it was validated: left unspent for the retry.
      if (reused(err)) count('reuse_revoked');
      else if (reached) count('given_back');
      throw err;
    }
    const successor = (ctx.body as { refresh_token?: unknown } | undefined)?.refresh_token;
    if (ctx.oidc.entities.RotatedRefreshToken === undefined || typeof successor !== 'string') return { result: undefined };
    count('rotated');
    return { result: undefined, successor };
  }

  /** The same client again inside the window: the same successor, with a fresh, fully decided access token. */
  async function replay(ctx: KoaContextWithOIDC, successor: string, rotation: Rotation & { state: 'rotated' }): Promise<void> {
    ctx.oidc.params!.refresh_token = successor;
    ctx.state[GRACE_REPLAY] = true;
    try {
      await original(ctx);
    } catch (err) {
      // The successor was used meanwhile: oidc-provider revoked the family, as for any reuse.
      if (reused(err)) count('reuse_revoked');
      throw err;
    }
    count('grace_replay');
    const sub = ctx.oidc.entities.Account?.accountId;
    deps.logger.info({ event: 'token.grace_replay', reqId: ctx.state?.requestId, clientId: rotation.clientId }, 'rotated refresh token presented again inside the grace window; same successor returned');
    deps.events.emit('token.grace_replay', { clientId: rotation.clientId, ...(sub ? { sub } : {}), reqId: ctx.state?.requestId });
  }

  return async function refreshTokenWithGrace(ctx: KoaContextWithOIDC): Promise<void> {
    const value = ctx.oidc.params?.refresh_token;
    const clientId = ctx.oidc.client?.clientId;
    if (typeof value !== 'string' || value === '' || !clientId) return original(ctx);
    // Another client, or outside the window: oidc-provider decides (client mismatch, or reuse: family revoked).
    return rotateOnce(records, { value, clientId, grace: deps.graceFor(clientId) }, {
      rotate: () => rotate(ctx),
      replay: (successor, rotation) => replay(ctx, successor, rotation),
      asIs: () => original(ctx),
      busy: () => new TemporarilyUnavailable('this refresh token is being used by a concurrent request; try again'),
      storeFailed: storeFailureLog(deps.logger, ctx.state?.requestId),
    });
  };
}
