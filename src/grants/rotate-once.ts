// One presentation of a refresh token under its shared rotation record (refresh-rotation.ts), for
// every kind of refresh token Baton rotates (its own, passthrough's): the first presentation rotates,
// concurrent ones wait for that outcome, the same client inside the reuse grace window replays the
// successor, anything else is left to the token's own rules (RFC 9700 section 4.14.2).
import { setTimeout as sleep } from 'node:timers/promises';

import type { Logger } from '../observability/logger.ts';
import { LEASE_SECONDS, openSuccessor, type Rotation, type RotationRecords } from './refresh-rotation.ts';

/** How long a presentation waits for a concurrent rotation of the same token before it is `busy`. */
const WAIT_MS = 15_000;
const POLL_MS = [10, 20, 40, 80, 100] as const;
/**
 * After a store failure settling a lease (recording the rotation, or releasing it), the delays
 * between the retries made in the background: attempts ~0.25 to ~32 s after the first failure.
 */
const SETTLE_RETRY_MS = [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000] as const;
/**
 * No retry starts later than this before the lease runs out: the owner check and the write of one
 * attempt (refresh-rotation.ts) must both land while the lease is still this request's, even on a
 * store that answers slowly (each call bounded by its timeout, at most 5 s on any backend).
 */
const SETTLE_MARGIN_MS = 15_000;
/** Most settlements retried at once: a long outage must not keep successors in memory without bound. */
const MAX_SETTLING = 1_000;
let settling = 0;

export interface Presentation {
  /** The refresh token as presented. */
  readonly value: string;
  readonly clientId: string;
  /** Seconds a rotated token stays replayable by its client (0: strict). */
  readonly grace: number;
}

export interface RotationSteps<T> {
  /**
   * This request holds the lease: rotate. `successor` (what a replay needs, sealed under the
   * presented value before it is stored) is kept for the grace window; undefined: nothing to replay.
   * A throw releases the lease, so the next presentation starts afresh.
   */
  rotate(): Promise<{ readonly result: T; readonly successor?: string }>;
  /** The same client inside the window: answer with `successor` (as `rotate` gave it) without rotating again. */
  replay(successor: string, rotation: Rotation & { state: 'rotated' }): Promise<T>;
  /** Another client, after the window, or a record that does not open: the token's own rules decide (mismatch, reuse). */
  asIs(): Promise<T>;
  /** Another request has been rotating this token for longer than a client waits. */
  busy(): Error;
  /**
   * A store failure after the response was decided: logged, never turned into an error. It may be
   * called again from background retries for up to ~45 s, so it should hold no more than it logs
   * (build it outside any scope that holds the request: closures of one scope share their context).
   */
  storeFailed(err: unknown, what: string): void;
}

export async function rotateOnce<T>(records: RotationRecords, { value, clientId, grace }: Presentation, steps: RotationSteps<T>): Promise<T> {
  const deadline = performance.now() + WAIT_MS;
  for (let attempt = 0; ; attempt += 1) {
    // The first presentation (nearly every one) takes the lease at once: a claim writes only when
    // no record exists, so the record is read only when there is one (a rotation under way or done).
    const claimedAt = records.now();
    const owner = await records.claim(value, clientId);
    if (owner) return rotate(records, { value, clientId, grace }, { owner, settleBy: claimedAt + LEASE_SECONDS * 1000 - SETTLE_MARGIN_MS }, steps);
    const rotation = await records.read(value);
    // Released or expired since the claim was refused: claim again.
    if (!rotation) continue;
    if (rotation.clientId !== clientId) return steps.asIs();
    if (rotation.state === 'rotated') {
      if (!records.withinGrace(rotation, grace)) return steps.asIs();
      const successor = openSuccessor(value, rotation.sealed);
      return successor === undefined ? steps.asIs() : steps.replay(successor, rotation);
    }
    // Being rotated right now (another tab, a retry, another instance): wait for its outcome.
    if (performance.now() > deadline) throw steps.busy();
    await sleep(POLL_MS[Math.min(attempt, POLL_MS.length - 1)]);
  }
}

/** This request's lease: its owner tag, and the time (records' clock) after which no retry settles it. */
interface Lease {
  readonly owner: string;
  readonly settleBy: number;
}

async function rotate<T>(records: RotationRecords, { value, clientId, grace }: Presentation, { owner, settleBy }: Lease, steps: RotationSteps<T>): Promise<T> {
  const retries: Retries = { failed: steps.storeFailed, now: () => records.now(), until: settleBy };
  let rotated: Awaited<ReturnType<RotationSteps<T>['rotate']>>;
  try {
    rotated = await steps.rotate();
  } catch (err) {
    await settle(() => records.release(value, owner), retries, 'releasing a refresh rotation lease failed');
    throw err;
  }
  // The response is decided and the token spent: a failing store here must not turn it into an error.
  const { successor } = rotated;
  const at = records.now();
  await settle(successor !== undefined ? () => records.rotated(value, owner, clientId, successor, grace, at) : () => records.release(value, owner),
    retries, 'recording a refresh rotation failed');
  return rotated.result;
}

/** How a settlement is retried: who logs a failure, the clock, and when the lease is too close to its end to try. */
interface Retries {
  readonly failed: RotationSteps<unknown>['storeFailed'];
  readonly now: () => number;
  readonly until: number;
}

/**
 * Settles this request's lease: records the rotation (the grace window's successor) or releases it.
 * A lease left pending makes every later presentation of the token wait for it, then answer 503,
 * until it runs out (60 s), and the grace window passes meanwhile: after a store blip a second tab's
 * refresh would be reuse. So a failure is logged, never turned into an error, and the settlement is
 * tried again in the background while the lease is surely still this request's (only its owner
 * settles it: refresh-rotation.ts; SETTLE_MARGIN_MS before it runs out, the retries stop).
 */
async function settle(write: () => Promise<void>, retries: Retries, what: string): Promise<void> {
  try {
    await write();
  } catch (err) {
    report(retries, err, `${what}; retrying in the background`);
    settleLater(write, retries, what, 0);
  }
}

function settleLater(write: () => Promise<void>, retries: Retries, what: string, attempt: number): void {
  if (settling >= MAX_SETTLING) return report(retries, new Error(`${MAX_SETTLING} settlements are being retried already`), `${what}; not retried`);
  settling += 1;
  setTimeout(() => {
    if (retries.now() >= retries.until) {
      settling -= 1;
      return report(retries, new Error('the lease runs out soon: left to expire'), `${what}; no more retries`);
    }
    write().then(() => {
      settling -= 1;
    }, (err: unknown) => {
      settling -= 1;
      if (attempt + 1 < SETTLE_RETRY_MS.length) settleLater(write, retries, what, attempt + 1);
      else report(retries, err, `${what}; gave up after ${SETTLE_RETRY_MS.length} retries`);
    });
  }, SETTLE_RETRY_MS[attempt]).unref();
}

/** Logs through `failed`, which must not break a retry chain (a throw here would be an unhandled rejection). */
function report(retries: Retries, err: unknown, what: string): void {
  try {
    retries.failed(err, what);
  } catch {
    // Nothing left to tell it to.
  }
}

/**
 * A `storeFailed` that logs with the request's id, made outside the grant handler's scope: the
 * retries keep it for up to ~45 s, and a closure made beside the handler's others would keep the
 * whole request alive with it (its client credentials, its tokens).
 */
export function storeFailureLog(logger: Logger, reqId: unknown): RotationSteps<unknown>['storeFailed'] {
  return (err, what) => logger.error({ err, reqId }, what);
}
