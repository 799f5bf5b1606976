// A lease on one upstream session's refresh, in the shared store, so that of any number of Baton
// instances exactly one calls the upstream's token endpoint at a time (IdPs that rotate refresh
// tokens with reuse detection revoke the user's session when two refreshes race). Built on the
// store's compare-and-set (`putRecord` with `expectedVersion`): taking the lease is "insert if
// absent", and an expired lease counts as absent. The lease alone cannot stop a holder that stalls
// past it; the vault's own compare-and-set (vault.ts `put` with the version read) fences that writer.
import { randomUUID } from 'node:crypto';

import type { Store } from '../storage/store.ts';

const LEASE_KIND = 'upstream-refresh-lease';

interface LeaseRecord {
  readonly owner: string;
  /** Set by a holder whose upstream call failed (unreachable): waiters decide on their own without calling again. */
  readonly failed?: string;
}

export interface HeldLease {
  /** Marks the upstream call failed and keeps the lease `seconds` longer, so waiters get the answer instead of calling a failing upstream. */
  fail(kind: string, seconds: number): Promise<void>;
  /** Gives the lease up (only while it is still this holder's). */
  release(): Promise<void>;
}

export type LeaseState =
  | { readonly kind: 'held'; readonly lease: HeldLease }
  /** Another holder is refreshing (or failed to, `failed` set). */
  | { readonly kind: 'busy'; readonly failed?: string };

export class RefreshLeases {
  constructor(private readonly store: Store) {}

  /** Tries to take the lease on `sessionId` for `seconds`; never waits. */
  async acquire(sessionId: string, seconds: number): Promise<LeaseState> {
    const owner = randomUUID();
    if (await this.store.putRecord<LeaseRecord>(LEASE_KIND, sessionId, { owner }, { expectedVersion: 0, expiresIn: seconds })) {
      return { kind: 'held', lease: this.#held(sessionId, owner) };
    }
    const current = await this.store.getRecord<LeaseRecord>(LEASE_KIND, sessionId);
    // Gone between the two calls: report busy, the caller looks again.
    return { kind: 'busy', ...(current?.value.failed ? { failed: current.value.failed } : {}) };
  }

  /** Whether anyone holds the lease on `sessionId` now, and whether its holder failed. */
  async state(sessionId: string): Promise<{ held: boolean; failed?: string }> {
    const current = await this.store.getRecord<LeaseRecord>(LEASE_KIND, sessionId);
    return current ? { held: true, ...(current.value.failed ? { failed: current.value.failed } : {}) } : { held: false };
  }

  #held(sessionId: string, owner: string): HeldLease {
    const mine = async () => {
      const current = await this.store.getRecord<LeaseRecord>(LEASE_KIND, sessionId);
      return current?.value.owner === owner ? current : undefined;
    };
    return {
      fail: async (kind, seconds) => {
        const current = await mine();
        if (current) await this.store.putRecord<LeaseRecord>(LEASE_KIND, sessionId, { owner, failed: kind }, { expectedVersion: current.version, expiresIn: seconds });
      },
      release: async () => {
        // Not atomic with the check: should the lease have expired and been taken in between, the
        // next holder's lease ends early. Harmless for correctness: the vault write is fenced.
        if (await mine()) await this.store.deleteRecord(LEASE_KIND, sessionId);
      },
    };
  }
}
