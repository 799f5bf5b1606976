// Accounts known to Baton: written after an upstream sign-in (federation), read by oidc-provider's
// findAccount for id_token and userinfo claims. Scope filtering is the provider's (`claims` config).
import type { Account, FindAccount } from 'oidc-provider';

import type { Store } from '../storage/store.ts';

export const ACCOUNT_KIND = 'account';

export interface AccountRecord {
  /** Standard claims (OIDC Core section 5.1) mapped from the upstream identity. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Upstream id and subject this account was created from (absent for seeded test accounts). */
  readonly upstream?: string;
  readonly upstreamSubject?: string;
  /** Epoch seconds of the last sign-in or claim refresh. */
  readonly updatedAt?: number;
  /** Attributes loaded by the client's loadAttrs hook at sign-in. */
  readonly attrs?: Readonly<Record<string, unknown>>;
}

/**
 * Baton's `sub` for an upstream identity: namespaced by the upstream id, so two upstreams that
 * happen to use the same subject can never collide, and stable for as long as the upstream's is.
 */
export function accountIdFor(upstream: string, upstreamSubject: string): string {
  return `${upstream}:${upstreamSubject}`;
}

export function accountFinder(store: Store): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    const record = await store.getRecord<AccountRecord>(ACCOUNT_KIND, sub);
    if (!record) return undefined;
    const { claims } = record.value;
    return { accountId: sub, claims: async () => ({ ...claims, sub }) };
  };
}
