// The refresh_token grant (RFC 6749 section 6) around oidc-provider's own handler: one rotation per
// refresh token across instances, a reuse grace window for the same client (RFC 9700 section 4.14.2
// lets a server tolerate a concurrent or retried presentation), and the old token spent only on success.
import { setTimeout as sleep } from 'node:timers/promises';

import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import type { Events } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { RefreshOutcome } from '../observability/metrics.ts';
import type { Clock, Store } from '../storage/store.ts';
import { grantHandler, type GrantHandler } from './provider-grants.ts';
import { openSuccessor, RotationRecords, type Rotation } from './refresh-rotation.ts';
import { spendOnSuccess } from './spend-on-success.ts';
import { TemporarilyUnavailable } from './token-exchange-tokens.ts';

/** How long a presentation waits for a concurrent rotation of the same token before answering 503. */
const WAIT_MS = 15_000;
const POLL_MS = [10, 20, 40, 80, 100] as const;
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
  async function rotate(ctx: KoaContextWithOIDC, value: string, owner: string, clientId: string): Promise<void> {
    let reached = false;
    try {
      await spendOnSuccess(ctx, ['RefreshToken'], () => original(ctx), (spent) => {
        reached = spent.reached;
      });
    } catch (err) {
      // Reuse (the token was spent before), or a failure after it was validated: left unspent for the retry.
      if (reused(err)) count('reuse_revoked');
      else if (reached) count('given_back');
      await records.release(value, owner).catch((cause) => deps.logger.error({ err: cause, reqId: ctx.state?.requestId }, 'releasing a refresh rotation lease failed'));
      throw err;
    }
    // The response is decided and the token spent: a failing store here must not turn it into an error
    // (without the record, a later presentation is treated as reuse, as in strict mode).
    const successor = (ctx.body as { refresh_token?: unknown } | undefined)?.refresh_token;
    const rotated = ctx.oidc.entities.RotatedRefreshToken !== undefined && typeof successor === 'string';
    if (rotated) count('rotated');
    await (rotated ? records.rotated(value, owner, clientId, successor, deps.graceFor(clientId)) : records.release(value, owner))
      .catch((err) => deps.logger.error({ err, reqId: ctx.state?.requestId }, 'recording a refresh rotation failed'));
  }

  /** The same client again inside the window: the same successor, with a fresh, fully decided access token. */
  async function replay(ctx: KoaContextWithOIDC, value: string, rotation: Rotation & { state: 'rotated' }): Promise<void> {
    const successor = openSuccessor(value, rotation.sealed);
    if (successor === undefined) return original(ctx);
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
    const deadline = performance.now() + WAIT_MS;
    for (let attempt = 0; ; attempt += 1) {
      const rotation = await records.read(value);
      if (!rotation) {
        const owner = await records.claim(value, clientId);
        if (owner) return rotate(ctx, value, owner, clientId);
        continue;
      }
      // Another client, or outside the window: oidc-provider decides (client mismatch, or reuse: family revoked).
      if (rotation.clientId !== clientId) return original(ctx);
      if (rotation.state === 'rotated') {
        return records.withinGrace(rotation, deps.graceFor(clientId)) ? replay(ctx, value, rotation) : original(ctx);
      }
      // Being rotated right now (another tab, a retry, another instance): wait for its outcome.
      if (performance.now() > deadline) throw new TemporarilyUnavailable('this refresh token is being used by a concurrent request; try again');
      await sleep(POLL_MS[Math.min(attempt, POLL_MS.length - 1)]);
    }
  };
}
