// Accounts known to Baton: written after an upstream sign-in (federation), read by oidc-provider's
// findAccount for id_token and userinfo claims. Scope filtering is the provider's (`claims` config).
import type { Account, FindAccount } from 'oidc-provider';

import type { Store } from '../storage/store.ts';

export const ACCOUNT_KIND = 'account';

export interface AccountRecord {
  /** Standard claims (OIDC Core section 5.1) mapped from the upstream identity. */
  readonly claims: Readonly<Record<string, unknown>>;
}

export function accountFinder(store: Store): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    const record = await store.getRecord<AccountRecord>(ACCOUNT_KIND, sub);
    if (!record) return undefined;
    const { claims } = record.value;
    return { accountId: sub, claims: async () => ({ ...claims, sub }) };
  };
}
