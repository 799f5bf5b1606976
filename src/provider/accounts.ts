// Accounts known to Baton: written after an upstream sign-in (federation), a password hook or a
// token exchange, read by oidc-provider's findAccount for id_token and userinfo claims. Scope
// filtering is the provider's (`claims` config).
import type { Account, FindAccount } from 'oidc-provider';

import { merged } from '../lang/merged.ts';
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

/*
 * Baton's `sub`, namespaced by the source that vouched for the user, so that two sources can never
 * produce one `sub`, by construction: an upstream's subjects start with its id and a colon (ids
 * are lowercase letters, digits and hyphens: config/upstreams.ts); every other source's start with
 * `~`, which no upstream id can, then the kind and a colon-free key (`%` and `:` escaped).
 */

/**
 * An upstream identity: `{upstream}:{sub}`. Stable for as long as the upstream's subject is (this
 * format is what deployed clients hold: it never changes).
 */
export function accountIdFor(upstream: string, upstreamSubject: string): string {
  return `${upstream}:${upstreamSubject}`;
}

/** A trusted issuer's JWT (token exchange): `~issuer/{issuer}:{sub}`, e.g. `~issuer/https%3A//partner.example:p-42`. */
export function issuerAccountId(issuer: string, subject: string): string {
  return `${ISSUER_PREFIX}${colonFree(issuer)}:${subject}`;
}

/** The trusted issuer an `issuerAccountId` names, or undefined for every other account. */
export function trustedIssuerOf(accountId: string): string | undefined {
  if (!accountId.startsWith(ISSUER_PREFIX)) return undefined;
  const end = accountId.indexOf(':', ISSUER_PREFIX.length);
  return end < 0 ? undefined : accountId.slice(ISSUER_PREFIX.length, end).replace(/%(25|3A)/g, (_, code: string) => (code === '25' ? '%' : ':'));
}

const ISSUER_PREFIX = '~issuer/';

/**
 * A client's `authenticateBackchannel` hook (password grant): `~password/{client_id}:{sub}`. Each
 * client's hook is its own source: it can neither overwrite a federated account nor another client's.
 */
export function passwordAccountId(clientId: string, subject: string): string {
  return `~password/${colonFree(clientId)}:${subject}`;
}

function colonFree(key: string): string {
  return key.replaceAll('%', '%25').replaceAll(':', '%3A');
}

/**
 * The record an Account returned by accountFinder was made from (see `foundRecord`): a private
 * symbol member rather than a WeakMap entry, which V8's collector would have to treat as an
 * ephemeron on every token request.
 */
const FOUND = Symbol('baton.accountRecord');

export function accountFinder(store: Store): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    const record = await store.getRecord<AccountRecord>(ACCOUNT_KIND, sub);
    if (!record) return undefined;
    const { claims } = record.value;
    return { accountId: sub, claims: async () => (merged(claims, { sub })), [FOUND]: record.value } as Account;
  };
}

/**
 * The stored record `account` (oidc-provider's `ctx.oidc.entities.Account`) was read from by
 * accountFinder in this request, when it was and is for `accountId`; undefined otherwise. As read
 * then: a caller that may have rewritten the record since (an upstream renewal updating claims)
 * reads it again instead.
 */
export function foundRecord(account: unknown, accountId: string): AccountRecord | undefined {
  if (typeof account !== 'object' || account === null || (account as { accountId?: unknown }).accountId !== accountId) return undefined;
  return (account as { [FOUND]?: AccountRecord })[FOUND];
}
